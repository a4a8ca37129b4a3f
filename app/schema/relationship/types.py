"""Activity, Document, Opportunity, TimelineEntry and PartnerStats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.queries.activity_queries import ActivityRow
from app.queries.document_queries import DocumentRow
from app.queries.figure_queries import Stats
from app.queries.opportunity_queries import OpportunityRow
from app.queries.timeline_queries import TimelineRow
from app.schema.catalogs.types import Money, Salesperson
from app.schema.context import Info
from app.schema.descriptions import AUDIT_FIELDS, RECORD, described
from app.schema.ids import to_global_id
from app.schema.live.cursors import encode_cursor
from app.schema.partners.terms import load_entry
from app.schema.relationship.descriptions import (
    ACTIVITY_FIELDS,
    DOCUMENT_FIELDS,
    OPPORTUNITY_FIELDS,
    STATS_FIELDS,
)
from app.schema.relationship.enums import (
    ActivityState,
    ActivityType,
    DocumentKind,
    DocumentModule,
    DocumentStatus,
    OpportunityStage,
    TimelineKind,
)
from app.schema.relay import Node

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]


async def _partner(info: Info, partner_id: UUID) -> Partner | None:
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
        return await _partner(info, self.row.partner_id)

    @strawberry.field
    async def assignee(self, info: Info) -> Salesperson | None:
        return await load_entry(info, self.row.assignee_id, Salesperson.from_row)


@described(DOCUMENT_FIELDS, RECORD)
@strawberry.type(description="A record another module reported about a partner.")
class Document(Node):
    row: strawberry.Private[DocumentRow]
    module: DocumentModule
    kind: DocumentKind
    reference: str
    date: date
    amount: Decimal | None
    currency: str | None
    status: DocumentStatus
    amount_paid: Decimal | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: DocumentRow) -> Document:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Document", row.id)),
            module=DocumentModule(row.module),
            kind=DocumentKind(row.kind),
            reference=row.reference,
            date=row.date,
            amount=row.amount,
            currency=row.currency,
            status=DocumentStatus(row.status),
            amount_paid=row.amount_paid,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="What is still to be paid (invoices, bills, credit notes).")
    def amount_residual(self) -> Decimal | None:
        row = self.row
        if row.kind not in ("INVOICE", "VENDOR_BILL", "CREDIT_NOTE") or row.amount is None:
            return None
        if row.status in ("PAID", "CANCELLED"):
            return Decimal("0.00")
        return row.amount - (row.amount_paid or Decimal(0))

    @strawberry.field
    async def partner(self, info: Info) -> PartnerRef | None:
        return await _partner(info, self.row.partner_id)


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
        return await _partner(info, self.row.partner_id)

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
    summary: str = strawberry.field(description="What happened, in one line.")
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
            summary=row.summary,
            changes=JSON(row.changes),
        )

    @strawberry.field(description="Give it as `after` to the timeline subscription to resume.")
    def cursor(self) -> str:
        return encode_cursor(self.row.position)

    @strawberry.field(description="The partner whose timeline it is in.")
    async def partner(self, info: Info) -> PartnerRef | None:
        return await _partner(info, self.row.partner_id)

    @strawberry.field(description="The record the entry is about.")
    async def subject(self, info: Info) -> Node | None:
        from app.schema.nodes import resolve_node

        return await resolve_node(info, to_global_id(self.row.subject_type, self.row.subject_id))


def _money(values: dict[str, Decimal]) -> list[Money]:
    return [Money(amount=amount, currency=currency) for currency, amount in sorted(values.items())]


@described(STATS_FIELDS)
@strawberry.type(description="The figures of a partner; a company's include its contacts'.")
class PartnerStats:
    stats: strawberry.Private[Stats]

    def _count(self, name: str) -> int:
        return self.stats.counts.get(name, 0)

    @strawberry.field
    def quotation_count(self) -> int:
        return self._count("quotation_count")

    @strawberry.field
    def sale_order_count(self) -> int:
        return self._count("sale_order_count")

    @strawberry.field
    def purchase_order_count(self) -> int:
        return self._count("purchase_order_count")

    @strawberry.field
    def invoice_count(self) -> int:
        return self._count("invoice_count")

    @strawberry.field
    def credit_note_count(self) -> int:
        return self._count("credit_note_count")

    @strawberry.field(
        description="Invoices minus credit notes (not draft or cancelled), per currency."
    )
    def total_invoiced(self) -> list[Money]:
        return _money(self.stats.invoiced)

    @strawberry.field(
        description="Paid on invoices (net of credit notes) plus payments, per currency."
    )
    def total_paid(self) -> list[Money]:
        return _money(self.stats.paid)

    @strawberry.field(description="Invoiced minus paid, per currency.")
    def amount_due(self) -> list[Money]:
        return _money(self.stats.due)

    @strawberry.field
    def ticket_count(self) -> int:
        return self._count("ticket_count")

    @strawberry.field
    def open_ticket_count(self) -> int:
        return self._count("open_ticket_count")

    @strawberry.field
    def opportunity_count(self) -> int:
        return self._count("opportunity_count")

    @strawberry.field
    def subscription_count(self) -> int:
        return self._count("subscription_count")

    @strawberry.field
    def project_count(self) -> int:
        return self._count("project_count")

    @strawberry.field
    def event_registration_count(self) -> int:
        return self._count("event_registration_count")

    @strawberry.field
    def open_activity_count(self) -> int:
        return self._count("open_activity_count")

    @strawberry.field
    def overdue_activity_count(self) -> int:
        return self._count("overdue_activity_count")

    @strawberry.field
    def last_interaction_at(self) -> datetime | None:
        return self.stats.last_interaction_at
