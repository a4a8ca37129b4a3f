"""Filter inputs of activity and document lists."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import strawberry

from app.queries.activity_queries import ActivityFilter
from app.queries.document_queries import DocumentFilter
from app.schema.ids import filter_id
from app.schema.relationship.enums import (
    ActivityState,
    DocumentKind,
    DocumentModule,
    DocumentStatus,
)


def _field(description: str) -> Any:
    """An optional filter field: left out, it does not filter."""
    return strawberry.field(default=None, description=description)


@strawberry.input(description="Activities to list: by partner, assignee, state, due range.")
class ActivityFilterInput:
    partner_id: strawberry.ID | None = _field(
        "Those of this partner's view (a company's: its contacts' too)."
    )
    assignee_id: strawberry.ID | None = _field("Those assigned to this salesperson.")
    states: list[ActivityState] | None = _field("In any of these states (all when left out).")
    due_after: date | None = _field("Due on or after this day.")
    due_before: date | None = _field("Due on or before this day.")

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
    partner_id: strawberry.ID | None = _field(
        "Those of this partner's view (a company's: its contacts' too)."
    )
    modules: list[DocumentModule] | None = _field("From any of these modules.")
    kinds: list[DocumentKind] | None = _field("Of any of these kinds.")
    statuses: list[DocumentStatus] | None = _field("In any of these statuses.")
    date_after: date | None = _field("Dated on or after this day.")
    date_before: date | None = _field("Dated on or before this day.")

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
