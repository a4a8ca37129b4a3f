"""Mutations and queries of the 360° view: schedule and close activities, record
documents other modules report, move opportunities; list them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.queries.activity_queries import ActivityFilter
from app.queries.document_queries import DocumentFilter
from app.schema.catalogs.inputs import plain
from app.schema.commands import CommandBuilder, execute, record_command
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, PAYLOAD, described
from app.schema.errors import UserError
from app.schema.ids import record_id
from app.schema.relationship.connections import activity_connection, document_connection
from app.schema.relationship.filters import ActivityFilterInput, DocumentFilterInput
from app.schema.relationship.inputs import (
    CancelActivityInput,
    CloseOpportunityInput,
    CompleteActivityInput,
    CreateOpportunityInput,
    RecordDocumentInput,
    ScheduleActivityInput,
    UpdateActivityInput,
    UpdateDocumentInput,
    UpdateOpportunityInput,
)
from app.schema.relationship.types import Activity, Document, Opportunity
from app.schema.relay import Connection

# -- payloads and helpers -----------------------------------------------------------------

_AFTER = "The {} after the change; null when refused."


@described(PAYLOAD)
@strawberry.type(description="The outcome of an activity mutation.")
class ActivityPayload:
    activity: Activity | None = strawberry.field(description=_AFTER.format("activity"))
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a document mutation.")
class DocumentPayload:
    document: Document | None = strawberry.field(description=_AFTER.format("document"))
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of an opportunity mutation.")
class OpportunityPayload:
    opportunity: Opportunity | None = strawberry.field(description=_AFTER.format("opportunity"))
    user_errors: list[UserError]


def _ref(value: Any, type_name: str, field: str) -> str | None:
    return None if value is None else str(record_id(value, type_name, field))


async def _activity(info: Info, build: CommandBuilder, reason: str | None) -> ActivityPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return ActivityPayload(activity=None, user_errors=outcome)
    rows = await info.context.services.relationships.activities([outcome.id], info.context.now)
    row = rows.get(outcome.id)
    return ActivityPayload(activity=Activity.from_row(row) if row else None, user_errors=[])


async def _document(info: Info, build: CommandBuilder, reason: str | None) -> DocumentPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return DocumentPayload(document=None, user_errors=outcome)
    row = (await info.context.services.relationships.documents([outcome.id])).get(outcome.id)
    return DocumentPayload(document=Document.from_row(row) if row else None, user_errors=[])


async def _opportunity(info: Info, build: CommandBuilder, reason: str | None) -> OpportunityPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return OpportunityPayload(opportunity=None, user_errors=outcome)
    rows = await info.context.services.relationships.opportunities([outcome.id])
    row = rows.get(outcome.id)
    return OpportunityPayload(
        opportunity=Opportunity.from_row(row) if row else None, user_errors=[]
    )


def _changes(data: object, refs: dict[str, str]) -> dict[str, Any]:
    """The fields sent (`Some` values), references decoded, values made plain."""
    changes: dict[str, Any] = {}
    for name in data.__dataclass_fields__:  # type: ignore[attr-defined]
        given = getattr(data, name)
        if name in ("id", "expected_version", "reason") or given is None:
            continue
        value = given.value
        if name in refs:
            changes[name] = _ref(value, refs[name], _camel(name))
        elif isinstance(value, date):
            changes[name] = value.isoformat()
        else:
            changes[name] = plain(value)
    return changes


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


Build = Callable[[Audit], Callable[[], CommandResult]]


def _document_values(input: RecordDocumentInput) -> dict[str, Any]:
    return {
        "module": plain(input.module),
        "kind": plain(input.kind),
        "reference": input.reference,
        "date": input.date.isoformat(),
        "amount": plain(input.amount),
        "currency": input.currency,
        "status": plain(input.status),
        "amount_paid": plain(input.amount_paid),
    }


def _opportunity_values(input: CreateOpportunityInput) -> dict[str, Any]:
    return {
        "name": input.name,
        "expected_revenue": plain(input.expected_revenue),
        "probability": input.probability,
        "stage": plain(input.stage),
        "salesperson_id": _ref(input.salesperson_id, "Salesperson", "salespersonId"),
    }


@described(COMMAND)
@strawberry.type
class RelationshipMutations:
    @strawberry.mutation(description="Plans an activity with a partner.")
    async def schedule_activity(self, info: Info, input: ScheduleActivityInput) -> ActivityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            partner = record_id(input.partner_id, "Partner", "partnerId")
            values = {
                "activity_type": plain(input.activity_type),
                "summary": input.summary,
                "note": input.note,
                "due_date": input.due_date.isoformat(),
                "assignee_id": _ref(input.assignee_id, "Salesperson", "assigneeId"),
            }
            return lambda: app.schedule_activity(partner, values, audit, input.idempotency_key)

        return await _activity(info, build, input.reason)

    @strawberry.mutation(description="Edits, reschedules or reassigns an open activity.")
    async def update_activity(self, info: Info, input: UpdateActivityInput) -> ActivityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Activity", "id")
            changes = _changes(input, {"assignee_id": "Salesperson"})
            return lambda: app.update_activity(ident, changes, audit, input.expected_version)

        return await _activity(info, build, input.reason)

    @strawberry.mutation(description="Marks an activity done, with feedback.")
    async def complete_activity(self, info: Info, input: CompleteActivityInput) -> ActivityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Activity", "id")
            return lambda: app.complete_activity(
                ident, input.feedback, audit, input.expected_version
            )

        return await _activity(info, build, input.reason)

    @strawberry.mutation(description="Cancels an open activity.")
    async def cancel_activity(self, info: Info, input: CancelActivityInput) -> ActivityPayload:
        build = record_command(info.context.services.app.cancel_activity, "Activity", input)
        return await _activity(info, build, input.reason)

    @strawberry.mutation(description="Records a document another module made for a partner.")
    async def record_document(self, info: Info, input: RecordDocumentInput) -> DocumentPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            partner = record_id(input.partner_id, "Partner", "partnerId")
            values = _document_values(input)
            return lambda: app.record_document(partner, values, audit, input.idempotency_key)

        return await _document(info, build, input.reason)

    @strawberry.mutation(description="Changes a document's status or amounts.")
    async def update_document(self, info: Info, input: UpdateDocumentInput) -> DocumentPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Document", "id")
            changes: dict[str, Any] = {}
            if input.status is not None:
                changes["status"] = plain(input.status)
            for name in ("amount", "amount_paid"):
                given = getattr(input, name)
                if given is not None:
                    changes[name] = plain(given.value)
            return lambda: app.update_document(ident, changes, audit, input.expected_version)

        return await _document(info, build, input.reason)

    @strawberry.mutation(description="Opens an opportunity with a partner.")
    async def create_opportunity(
        self, info: Info, input: CreateOpportunityInput
    ) -> OpportunityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            partner = record_id(input.partner_id, "Partner", "partnerId")
            values = _opportunity_values(input)
            return lambda: app.create_opportunity(partner, values, audit, input.idempotency_key)

        return await _opportunity(info, build, input.reason)

    @strawberry.mutation(description="Renames, re-estimates or moves an open opportunity.")
    async def update_opportunity(
        self, info: Info, input: UpdateOpportunityInput
    ) -> OpportunityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Opportunity", "id")
            changes = _changes(input, {"salesperson_id": "Salesperson"})
            return lambda: app.update_opportunity(ident, changes, audit, input.expected_version)

        return await _opportunity(info, build, input.reason)

    @strawberry.mutation(description="Marks an open opportunity won.")
    async def mark_opportunity_won(
        self, info: Info, input: CloseOpportunityInput
    ) -> OpportunityPayload:
        build = record_command(info.context.services.app.mark_opportunity_won, "Opportunity", input)
        return await _opportunity(info, build, input.reason)

    @strawberry.mutation(description="Marks an open opportunity lost; `reason` says why.")
    async def mark_opportunity_lost(
        self, info: Info, input: CloseOpportunityInput
    ) -> OpportunityPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Opportunity", "id")
            return lambda: app.mark_opportunity_lost(
                ident, input.reason, audit, input.expected_version
            )

        return await _opportunity(info, build, input.reason)


@described(PAGING, {"filter": "Only the records that match."})
@strawberry.type
class RelationshipQueries:
    @strawberry.field(description="Activities, soonest due first: e.g. my overdue activities.")
    async def activities(
        self,
        info: Info,
        filter: ActivityFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activity]:
        f = filter.to_filter() if filter else ActivityFilter()
        return await activity_connection(info, f, first, after)

    @strawberry.field(description="Documents, newest first.")
    async def documents(
        self,
        info: Info,
        filter: DocumentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Document]:
        f = filter.to_filter() if filter else DocumentFilter()
        return await document_connection(info, f, first, after)
