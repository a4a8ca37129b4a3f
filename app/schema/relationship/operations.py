"""Mutations and queries of the 360° view: schedule and close activities, record
documents other modules report, move opportunities; list them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.queries.activity_queries import ActivityFilter
from app.queries.affiliation_queries import AffiliationDirectory
from app.queries.document_queries import DocumentFilter, DocumentRow
from app.schema.catalogs.inputs import plain
from app.schema.commands import CommandBuilder, execute, record_command
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, PAYLOAD, described
from app.schema.errors import UserError
from app.schema.ids import BadId, expect_id, record_id
from app.schema.relationship.connections import activity_connection, document_connection
from app.schema.relationship.credit import credit_warnings
from app.schema.relationship.document_inputs import (
    RecordDocumentInput,
    UpdateDocumentInput,
    document_values,
)
from app.schema.relationship.documents import Document
from app.schema.relationship.filters import ActivityFilterInput, DocumentFilterInput
from app.schema.relationship.inputs import (
    CancelActivityInput,
    CloseOpportunityInput,
    CompleteActivityInput,
    CreateOpportunityInput,
    ScheduleActivityInput,
    UpdateActivityInput,
    UpdateOpportunityInput,
)
from app.schema.relationship.types import Activity, Opportunity
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
    warnings: list[UserError] = strawberry.field(
        description="What the change, made, may call for: CREDIT_LIMIT when a sale order or "
        "invoice takes its commercial partner's credit exposure over the credit limit (a "
        "draft one: would, once confirmed). Empty otherwise, and when refused."
    )


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


async def _document_row(info: Info, document_id: UUID) -> DocumentRow | None:
    relationships = info.context.services.relationships
    return (await relationships.documents([document_id], info.context.now)).get(document_id)


async def _document(
    info: Info, build: CommandBuilder, reason: str | None, before: DocumentRow | None = None
) -> DocumentPayload:
    """Runs a document command; `before`: the document as it was (for a change)."""
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return DocumentPayload(document=None, user_errors=outcome, warnings=[])
    row = await _document_row(info, outcome.id)
    if row is None:
        return DocumentPayload(document=None, user_errors=[], warnings=[])
    warnings = await credit_warnings(info, before, row)
    return DocumentPayload(document=Document.from_row(row), user_errors=[], warnings=warnings)


async def _document_before(info: Info, document_id: str) -> DocumentRow | None:
    """The document a change is asked of, as it is (None for an id of no document)."""
    try:
        ident = expect_id(document_id, "Document")
    except BadId:
        return None
    return await _document_row(info, ident)


def _document_changes(input: UpdateDocumentInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if input.status is not None:
        changes["status"] = plain(input.status)
    for name in ("amount", "amount_paid"):
        given = getattr(input, name)
        if given is not None:
            changes[name] = plain(given.value)
    return changes


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


def _activity_values(input: ScheduleActivityInput) -> dict[str, Any]:
    values = {
        "activity_type": plain(input.activity_type),
        "summary": input.summary,
        "note": input.note,
        "due_date": input.due_date.isoformat(),
        "assignee_id": _ref(input.assignee_id, "Salesperson", "assigneeId"),
    }
    if input.company_id is not None:  # absent otherwise: earlier requests' digests hold
        values["company_id"] = _ref(input.company_id, "Partner", "companyId")
    return values


async def _named_affiliations(info: Info, input: ScheduleActivityInput) -> list[UUID]:
    """The partner's affiliations with the company the activity names, as the read model
    knows them (the command checks each on its aggregate); none when no company is named
    or an id is bad (the command refuses those)."""
    if input.company_id is None:
        return []
    try:
        person = expect_id(input.partner_id, "Partner")
        company = expect_id(input.company_id, "Partner")
    except BadId:
        return []
    reads = AffiliationDirectory(info.context.services.directory.pool)
    return await reads.affiliation_ids_between(person, company)


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
        affiliations = await _named_affiliations(info, input)

        def build(audit: Audit) -> Callable[[], CommandResult]:
            partner = record_id(input.partner_id, "Partner", "partnerId")
            values = _activity_values(input)
            key = input.idempotency_key
            return lambda: app.schedule_activity(
                partner, values, audit, key, affiliation_ids=affiliations
            )

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
            values = document_values(input)
            return lambda: app.record_document(partner, values, audit, input.idempotency_key)

        return await _document(info, build, input.reason)

    @strawberry.mutation(description="Changes a document's status or amounts.")
    async def update_document(self, info: Info, input: UpdateDocumentInput) -> DocumentPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Document", "id")
            changes = _document_changes(input)
            return lambda: app.update_document(ident, changes, audit, input.expected_version)

        return await _document(info, build, input.reason, await _document_before(info, input.id))

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
