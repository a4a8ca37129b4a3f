"""Activity, Opportunity and TimelineEntry (documents and figures have modules of their own)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app import locales
from app.queries.activity_queries import ActivityRow
from app.queries.opportunity_queries import OpportunityRow
from app.queries.timeline_queries import TimelineRow
from app.schema.catalogs.types import Money, Salesperson
from app.schema.context import Info
from app.schema.descriptions import AUDIT_FIELDS, RECORD, described
from app.schema.ids import to_global_id
from app.schema.live.cursors import encode_cursor
from app.schema.partners.terms import load_entry
from app.schema.relationship.descriptions import ACTIVITY_FIELDS, OPPORTUNITY_FIELDS
from app.schema.relationship.enums import (
    ActivityState,
    ActivityType,
    OpportunityStage,
    TimelineKind,
)
from app.schema.relationship.summaries import translated
from app.schema.relay import Node

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]


async def load_partner(info: Info, partner_id: UUID) -> Partner | None:
    from app.schema.partners.types import Partner

    row = await info.context.partners.load(partner_id)
    return Partner.from_row(row) if row else None


@described(ACTIVITY_FIELDS, RECORD)
@strawberry.type(description="A call, email, meeting, to-do or follow-up with a partner.")
class Activity(Node):
    row: strawberry.Private[ActivityRow]
    activity_type: ActivityType
    summary: str | None
    note: str | None
    due_date: date
    state: ActivityState = strawberry.field(
        description="OVERDUE, TODAY or PLANNED in the assignee's time zone; or DONE/CANCELLED."
    )
    feedback: str | None
    done_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ActivityRow) -> Activity:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Activity", row.id)),
            activity_type=ActivityType(row.activity_type),
            summary=row.summary,
            note=row.note,
            due_date=row.due_date,
            state=ActivityState(row.state),
            feedback=row.feedback,
            done_at=row.done_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    async def partner(self, info: Info) -> PartnerRef | None:
        return await load_partner(info, self.row.partner_id)

    @strawberry.field
    async def company(self, info: Info) -> PartnerRef | None:
        company_id = self.row.company_id
        return await load_partner(info, company_id) if company_id else None

    @strawberry.field
    async def assignee(self, info: Info) -> Salesperson | None:
        return await load_entry(info, self.row.assignee_id, Salesperson.from_row)


@described(OPPORTUNITY_FIELDS, RECORD)
@strawberry.type(description="A chance of business with a partner.")
class Opportunity(Node):
    row: strawberry.Private[OpportunityRow]
    name: str
    expected_revenue: Money | None
    probability: Decimal | None
    stage: OpportunityStage
    lost_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row: OpportunityRow) -> Opportunity:
        revenue = None
        if row.expected_revenue_amount is not None and row.expected_revenue_currency:
            revenue = Money(
                amount=row.expected_revenue_amount, currency=row.expected_revenue_currency
            )
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Opportunity", row.id)),
            name=row.name,
            expected_revenue=revenue,
            probability=row.probability,
            stage=OpportunityStage(row.stage),
            lost_reason=row.lost_reason,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
        )

    @strawberry.field
    async def partner(self, info: Info) -> PartnerRef | None:
        return await load_partner(info, self.row.partner_id)

    @strawberry.field
    async def salesperson(self, info: Info) -> Salesperson | None:
        return await load_entry(info, self.row.salesperson_id, Salesperson.from_row)


@described(AUDIT_FIELDS)
@strawberry.type(description="Something that happened to a partner or to one of its records.")
class TimelineEntry(Node):
    row: strawberry.Private[TimelineRow]
    occurred_at: datetime
    kind: TimelineKind = strawberry.field(description="What happened.")
    actor: str
    request_id: str | None
    reason: str | None
    summary: str = strawberry.field(
        description="What happened, in one line, in the request's language."
    )
    changes: JSON = strawberry.field(description="The new values the event carried.")

    @classmethod
    def from_row(cls, row: TimelineRow) -> TimelineEntry:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("TimelineEntry", UUID(int=row.position))),
            occurred_at=row.occurred_at,
            kind=TimelineKind(row.kind),
            actor=row.actor,
            request_id=row.request_id,
            reason=row.reason,
            summary=translated(row.kind, row.summary, locales.current()),
            changes=JSON(row.changes),
        )

    @strawberry.field(description="Give it as `after` to the timeline subscription to resume.")
    def cursor(self) -> str:
        return encode_cursor(self.row.position)

    @strawberry.field(description="The partner whose timeline it is in.")
    async def partner(self, info: Info) -> PartnerRef | None:
        return await load_partner(info, self.row.partner_id)

    @strawberry.field(description="The record the entry is about.")
    async def subject(self, info: Info) -> Node | None:
        from app.schema.nodes import resolve_node

        return await resolve_node(info, to_global_id(self.row.subject_type, self.row.subject_id))
