"""`bulkUpdatePartners`: tags, salesperson, roles or archiving of many partners at once
(app/application/bulk_edit.py records them). The partners are named by ids, a filter or a
segment, and counted before any is loaded: over the limit, the request is refused."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import strawberry

from app.application.bulk_edit import BulkResult
from app.domain.bulk_edit import UNSET, BulkChanges
from app.domain.errors import DomainError, ErrorCode, validation
from app.domain.messages import Message
from app.queries.bulk_targets import matching_ids, segment_of
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError, user_errors
from app.schema.ids import record_id, to_global_id
from app.schema.limits import MAX_SEARCH_CHARS, Limits, filter_over_limit
from app.schema.partners.inputs import PartnerFilterInput
from app.schema.segments import filter_from_json, filter_to_json
from app.schema.use_cases import audit, commands


@strawberry.input(description="What a bulk edit changes: field changes, or archiving on its own.")
class BulkPartnerChangesInput:
    add_tag_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tags to add (existing, not archived)."
    )
    remove_tag_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tags to remove."
    )
    salesperson_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        default=None, description="The salesperson to assign; null clears it; left out: unchanged."
    )
    is_customer: bool | None = strawberry.field(default=None, description="Set the customer flag.")
    is_supplier: bool | None = strawberry.field(default=None, description="Set the supplier flag.")
    archive: bool | None = strawberry.field(
        default=None,
        description="true archives, false restores; cannot be combined with the other changes.",
    )


@described(COMMAND)
@strawberry.input(
    description="Which partners (exactly one of ids, filter, segmentId) and what to change."
)
class BulkUpdatePartnersInput:
    changes: BulkPartnerChangesInput = strawberry.field(description="What to change.")
    ids: list[strawberry.ID] | None = strawberry.field(default=None, description="These partners.")
    filter: PartnerFilterInput | None = strawberry.field(
        default=None,
        description="The partners this filter finds (archived ones left out by default).",
    )
    search: str | None = strawberry.field(default=None, description="With `filter`: a search too.")
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The members of this segment now."
    )
    dry_run: bool = strawberry.field(default=False, description="Count only; record nothing.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Repeating the bulk edit with this key answers the first outcome and records nothing new.",
    )
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="A partner a bulk edit could not change, and why.")
class BulkRefusal:
    id: strawberry.ID = strawberry.field(description="The partner's global id.")
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(
    description="The outcome of bulkUpdatePartners (of the first run, for a repeated key)."
)
class BulkUpdatePartnersPayload:
    matched: int = strawberry.field(description="Partners named by ids, filter or segment.")
    changed: int = strawberry.field(
        description="Partners changed (one event each); a dry run: that would be."
    )
    unchanged: int = strawberry.field(description="Partners that had the changes already.")
    refused: list[BulkRefusal] = strawberry.field(
        description="Partners refused (archived, merged…), the first 100."
    )
    refused_count: int = strawberry.field(description="How many partners were refused in all.")
    job_id: strawberry.ID | None = strawberry.field(
        description="The bulk edit's record when it had an idempotency key (null for a dry run)."
    )
    user_errors: list[UserError]


def _refused_payload(errors: list[UserError]) -> BulkUpdatePartnersPayload:
    return BulkUpdatePartnersPayload(
        matched=0,
        changed=0,
        unchanged=0,
        refused=[],
        refused_count=0,
        job_id=None,
        user_errors=errors,
    )


def _changes(given: BulkPartnerChangesInput) -> BulkChanges:
    salesperson: Any = UNSET
    if given.salesperson_id is not None:
        value = given.salesperson_id.value
        salesperson = (
            None if value is None else str(record_id(value, "Salesperson", "salespersonId"))
        )
    return BulkChanges(
        add_tag_ids=tuple(record_id(t, "Tag", "addTagIds") for t in given.add_tag_ids or ()),
        remove_tag_ids=tuple(
            record_id(t, "Tag", "removeTagIds") for t in given.remove_tag_ids or ()
        ),
        salesperson_id=salesperson,
        is_customer=given.is_customer,
        is_supplier=given.is_supplier,
        archive=given.archive,
    )


async def _targets(info: Info, input: BulkUpdatePartnersInput, limit: int) -> list[UUID]:
    """The partners named (at most limit + 1 of them are read)."""
    named = [input.ids is not None, input.filter is not None, input.segment_id is not None]
    if sum(named) != 1:
        raise validation("name the partners by exactly one of ids, filter, segmentId")
    services = info.context.services
    pool, now = services.directory.pool, info.context.now
    if input.ids is not None:
        return list(dict.fromkeys(record_id(i, "Partner", "ids") for i in input.ids))
    if input.filter is not None:
        if input.search is not None and len(input.search.strip()) > MAX_SEARCH_CHARS:
            # An input field, which the operation's walk does not hold to it (a segment's
            # search is held to it by the segment).
            raise validation("search is longer than 200 characters", "search")
        return await matching_ids(pool, input.filter.to_filter(), input.search, now, limit)
    assert input.segment_id is not None
    found = await segment_of(pool, record_id(input.segment_id, "Segment", "segmentId"))
    if found is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no segment with this id", "segmentId")
    stored, search = found
    settings = services.settings
    limits = Limits(
        max_batch=settings.max_batch,
        max_filter_depth=settings.max_filter_depth,
        max_filter_leaves=settings.max_filter_leaves,
    )
    if stored and (reason := filter_over_limit(stored, limits)) is not None:
        raise validation(Message("the segment's filter: %(reason)s", reason=reason), "segmentId")
    where = filter_from_json(stored).to_filter() if stored else None
    return await matching_ids(pool, where, search, now, limit)


def _payload(result: BulkResult) -> BulkUpdatePartnersPayload:
    outcome = result.outcome
    refused = [
        BulkRefusal(
            id=strawberry.ID(to_global_id("Partner", UUID(pid))),
            user_errors=[
                UserError(field=e["field"] or None, code=ErrorCode(e["code"]), message=e["message"])
                for e in errors
            ],
        )
        for pid, errors in outcome.refused
    ]
    job = strawberry.ID(to_global_id("BulkEdit", result.job_id)) if result.job_id else None
    return BulkUpdatePartnersPayload(
        matched=outcome.matched,
        changed=outcome.changed,
        unchanged=outcome.unchanged,
        refused=refused,
        refused_count=outcome.refused_count,
        job_id=job,
        user_errors=[],
    )


def _selector(input: BulkUpdatePartnersInput) -> dict[str, Any] | None:
    """How the request named its partners when not by ids, as sent (JSON values)."""
    if input.filter is not None:
        named = {"filter": filter_to_json(input.filter), "search": input.search}
    elif input.segment_id is not None:
        named = {"segmentId": str(input.segment_id), "search": input.search}
    else:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(named, default=str, sort_keys=True))
    return loaded


async def bulk_update(info: Info, input: BulkUpdatePartnersInput) -> BulkUpdatePartnersPayload:
    app, limit = info.context.services.app, info.context.services.settings.bulk_edit_limit
    try:
        who = audit(info, input.reason)
        changes = _changes(input.changes)
        targets = await _targets(info, input, limit)
        result = await info.context.run(
            app.bulk_update_partners,
            targets,
            changes,
            who,
            limit=limit,
            dry_run=input.dry_run,
            idempotency_key=input.idempotency_key,
            selector=_selector(input),
        )
    except DomainError as error:
        return _refused_payload(user_errors(error))
    await commands(info).visible(result.position)
    return _payload(result)


@described(COMMAND)
@strawberry.type
class BulkEditMutations:
    @strawberry.mutation(
        description=(
            "Changes many partners at once (named by ids, a filter or a segment; at most "
            "`PARTNERBOOK_BULK_EDIT_LIMIT`, 10,000 by default): one event per partner "
            "changed, all with this request's id and reason, saved in batches."
        )
    )
    async def bulk_update_partners(
        self, info: Info, input: BulkUpdatePartnersInput
    ) -> BulkUpdatePartnersPayload:
        return await bulk_update(info, input)
