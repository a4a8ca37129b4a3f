"""Filter inputs of activity and document lists."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import strawberry

from app.queries.activity_queries import ActivityFilter
from app.queries.document_queries import DocumentFilter
from app.schema.ids import filter_id
from app.schema.relationship.documents import DocumentKind, DocumentModule, DocumentStatus
from app.schema.relationship.types import ActivityState


@strawberry.input(description="Activities to list: by partner, assignee, state, due range.")
class ActivityFilterInput:
    partner_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None
    states: list[ActivityState] | None = None
    due_after: date | None = None
    due_before: date | None = None

    def to_filter(self, partner_id: UUID | None = None) -> ActivityFilter:
        return ActivityFilter(
            partner_id=partner_id or filter_id(self.partner_id, "Partner"),
            assignee_id=filter_id(self.assignee_id, "Salesperson"),
            states=tuple(s.value for s in self.states) if self.states is not None else None,
            due_after=self.due_after,
            due_before=self.due_before,
        )


@strawberry.input(description="Documents to list: by partner, module, kind, status, dates.")
class DocumentFilterInput:
    partner_id: strawberry.ID | None = None
    modules: list[DocumentModule] | None = None
    kinds: list[DocumentKind] | None = None
    statuses: list[DocumentStatus] | None = None
    date_after: date | None = None
    date_before: date | None = None

    def to_filter(self, partner_id: UUID | None = None) -> DocumentFilter:
        return DocumentFilter(
            partner_id=partner_id or filter_id(self.partner_id, "Partner"),
            modules=_values(self.modules),
            kinds=_values(self.kinds),
            statuses=_values(self.statuses),
            date_after=self.date_after,
            date_before=self.date_before,
        )


def _values(items: list[Any] | None) -> tuple[str, ...] | None:
    return tuple(i.value for i in items) if items is not None else None
