"""Duplicates and merges: `duplicateCandidates`, `mergePartners`, `unmergePartner`."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.application.merge_partners import MergeAnswer, MergeRequest, UnmergeAnswer
from app.application.merging import Moved
from app.domain.errors import DomainError
from app.domain.messages import Message
from app.domain.partner_fields import input_name
from app.queries.duplicates import Candidate, MergeDirectory
from app.queries.partners.rows import PartnerRow
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError, argument_id, user_errors
from app.schema.ids import to_global_id
from app.schema.language import Translated
from app.schema.partners.inputs import partner_id
from app.schema.partners.types import Partner
from app.schema.use_cases import audit, merging


@described(
    {
        "SAME_EMAIL": "The same email, case-insensitively.",
        "SAME_VAT": "The same tax id, as stored.",
        "SAME_PHONE": "A phone or mobile equal to one of the other's (both E.164).",
        "SIMILAR_NAME": "A similar name (trigrams), in the same country.",
    }
)
@strawberry.enum(description="Why a partner may be a duplicate of another.")
class DuplicateReason(Enum):
    SAME_EMAIL = "SAME_EMAIL"
    SAME_VAT = "SAME_VAT"
    SAME_PHONE = "SAME_PHONE"
    SIMILAR_NAME = "SIMILAR_NAME"


_MESSAGES = {
    "SAME_EMAIL": Message("same email"),
    "SAME_VAT": Message("same VAT number"),
    "SAME_PHONE": Message("same phone number"),
    "SIMILAR_NAME": Message("similar name in the same country"),
}


def _in_words(reasons: list[str]) -> str:
    """The reasons joined with "; ", as a message each part of which is translated."""
    if not reasons:
        return ""
    said = _MESSAGES[reasons[-1]]
    for reason in reversed(reasons[:-1]):
        said = Message("%(first)s; %(rest)s", first=_MESSAGES[reason], rest=said)
    return said


@strawberry.type(description="A partner that may be the same as the one asked about.")
class DuplicateCandidate:
    partner: Partner = strawberry.field(description="The partner that may be a duplicate.")
    score: float = strawberry.field(
        description="0 to 1: 1 - Π(1 - w) over the reasons, w = 0.9 VAT, 0.8 email, "
        "0.6 phone, 0.7 * name similarity."
    )
    reasons: list[DuplicateReason] = strawberry.field(description="What the two share.")
    message: str = strawberry.field(
        description="The reasons in words, in the request's language.",
        extensions=[Translated()],
    )


@described(
    {
        "CHILD": "A child partner (contact, address, subsidiary).",
        "ACTIVITY": "An activity.",
        "DOCUMENT": "A document.",
        "OPPORTUNITY": "An opportunity.",
        "AFFILIATION": "An affiliation (of the person, or with the company).",
        "BANK_ACCOUNT": "A bank account.",
        "TAG": "A tag the destination did not have.",
    }
)
@strawberry.enum(description="What kind of record a merge moved.")
class MovedKind(Enum):
    CHILD = "children"
    ACTIVITY = "activities"
    DOCUMENT = "documents"
    OPPORTUNITY = "opportunities"
    AFFILIATION = "affiliations"
    BANK_ACCOUNT = "bank_accounts"
    TAG = "tags"


_TYPES = {
    "children": "Partner",
    "activities": "Activity",
    "documents": "Document",
    "opportunities": "Opportunity",
    "affiliations": "Affiliation",
    "bank_accounts": "BankAccount",
    "tags": "Tag",
}


@strawberry.type(description="A record a merge moves (or an unmerge moves back).")
class MovedRecord:
    kind: MovedKind = strawberry.field(description="What kind of record.")
    id: strawberry.ID = strawberry.field(description="The record's id (give it to `node`).")
    from_id: strawberry.ID = strawberry.field(description="The partner it belonged to.")
    to_id: strawberry.ID = strawberry.field(description="The partner it belongs to now.")

    @classmethod
    def of(cls, m: Moved) -> MovedRecord:
        return cls(
            kind=MovedKind(m.kind),
            id=strawberry.ID(to_global_id(_TYPES[m.kind], m.id)),
            from_id=strawberry.ID(to_global_id("Partner", m.from_id)),
            to_id=strawberry.ID(to_global_id("Partner", m.to_id)),
        )


@strawberry.input(description="Take this field's value from that source.")
class FieldChoice:
    field: str = strawberry.field(
        description="A field of createPartner (email, phone, vat, name…); `address` or any "
        "address field takes the whole address (street to country)."
    )
    from_id: strawberry.ID = strawberry.field(description="The source to take it from.")


@described(COMMAND)
@strawberry.input(description="What to merge into what.")
class MergePartnersInput:
    destination_id: strawberry.ID = strawberry.field(
        description="The partner that stays (active, of the sources' kind)."
    )
    source_ids: list[strawberry.ID] = strawberry.field(description="1 to 5 partners.")
    dry_run: bool = strawberry.field(
        default=False, description="Answer what would happen, and record nothing."
    )
    reason: str | None = None
    field_choices: list[FieldChoice] | None = strawberry.field(
        default=None, description="Fields to take from a source; the destination keeps the rest."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="The same key again answers the first merge's result."
    )
    expected_version: int | None = strawberry.field(
        default=None, description="The destination's version you expect."
    )


@described(PAYLOAD)
@strawberry.type(description="The outcome of mergePartners.")
class MergePartnersPayload:
    partner: Partner | None = strawberry.field(
        description="The destination after the merge (as it would be, for a dry run)."
    )
    moved: list[MovedRecord] = strawberry.field(
        description="What the merge moves from the sources to the destination."
    )
    dry_run: bool = strawberry.field(description="True when nothing was recorded.")
    user_errors: list[UserError]


@described(COMMAND)
@strawberry.input(description="The merge to undo.")
class UnmergePartnerInput:
    source_id: strawberry.ID = strawberry.field(description="A partner merged into another.")
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="The outcome of unmergePartner.")
class UnmergePartnerPayload:
    partner: Partner | None = strawberry.field(description="The restored partner.")
    moved_back: list[MovedRecord] = strawberry.field(
        description="What went back from the destination to the restored partner."
    )
    left_in_place: list[MovedRecord] = strawberry.field(
        description="Moved by the merge, moved elsewhere since: left where they are."
    )
    fields_kept: list[str] = strawberry.field(
        description="Destination fields changed since the merge: not reverted."
    )
    user_errors: list[UserError]


def _candidate(row: PartnerRow, candidate: Candidate) -> DuplicateCandidate:
    return DuplicateCandidate(
        partner=Partner.from_row(row),
        score=candidate.score,
        reasons=[DuplicateReason(r) for r in candidate.reasons],
        message=_in_words(list(candidate.reasons)),
    )


@described({"partner_id": "The partner to find duplicates of."})
@strawberry.type
class MergeQueries:
    @strawberry.field(
        description="Active partners of the same kind that may be this one: same email, "
        "VAT or E.164 phone, or a similar name in the same country. Best first (≤ 50)."
    )
    async def duplicate_candidates(
        self, info: Info, partner_id: strawberry.ID
    ) -> list[DuplicateCandidate]:
        ident = argument_id(partner_id, "Partner")
        services = info.context.services
        directory = MergeDirectory(services.directory.pool)
        found = await directory.candidates(ident, services.settings.duplicate_name_similarity)
        rows = await services.directory.get_many([c.partner_id for c in found])
        return [_candidate(rows[c.partner_id], c) for c in found if c.partner_id in rows]


def _merge_request(info: Info, input: MergePartnersInput) -> MergeRequest:
    return MergeRequest(
        destination_id=partner_id(input.destination_id, "destinationId"),
        source_ids=[partner_id(s, "sourceIds") for s in input.source_ids],
        audit=audit(info, input.reason),
        choices=[
            (c.field, partner_id(c.from_id, "fieldChoices")) for c in input.field_choices or ()
        ],
        dry_run=input.dry_run,
        idempotency_key=input.idempotency_key,
        expected_version=input.expected_version,
    )


async def _merged(
    info: Info, answer: MergeAnswer[PartnerRow], dry_run: bool
) -> MergePartnersPayload:
    row = answer.destination
    if row is not None and answer.preview_tag_ids is not None:
        # Its tags as they would be: this request's loader answers them.
        found = await info.context.services.catalogs.tags(answer.preview_tag_ids)
        tags = sorted(found.values(), key=lambda t: (t.name.lower(), str(t.id)))
        info.context.partner_tags.prime(row.id, tags, force=True)
    return MergePartnersPayload(
        partner=Partner.from_row(row) if row else None,
        moved=[MovedRecord.of(m) for m in answer.moved],
        dry_run=dry_run,
        user_errors=[],
    )


def _unmerged(answer: UnmergeAnswer[PartnerRow]) -> UnmergePartnerPayload:
    outcome = answer.outcome
    return UnmergePartnerPayload(
        partner=Partner.from_row(answer.source) if answer.source else None,
        moved_back=[MovedRecord.of(m) for m in outcome.moved_back],
        left_in_place=[MovedRecord.of(m) for m in outcome.left],
        fields_kept=[input_name(f) for f in outcome.fields_kept],
        user_errors=[],
    )


@described(COMMAND)
@strawberry.type
class MergeMutations:
    @strawberry.mutation(
        description="Merges 1 to 5 sources into a destination: the sources are archived "
        "(readable by id, `mergedInto` set); their children, activities, documents, "
        "opportunities, affiliations, bank accounts and tags follow the destination. "
        "Nothing is deleted. `dryRun` answers what would happen and records nothing."
    )
    async def merge_partners(self, info: Info, input: MergePartnersInput) -> MergePartnersPayload:
        try:
            answer = await merging(info).merge(_merge_request(info, input))
        except DomainError as error:
            return MergePartnersPayload(
                partner=None, moved=[], dry_run=input.dry_run, user_errors=user_errors(error)
            )
        return await _merged(info, answer, input.dry_run)

    @strawberry.mutation(
        description="Undoes the merge of a source: restores it and moves back what the "
        "merge moved (unless moved elsewhere since); later changes stay."
    )
    async def unmerge_partner(
        self, info: Info, input: UnmergePartnerInput
    ) -> UnmergePartnerPayload:
        try:
            source = partner_id(input.source_id, "sourceId")
            answer = await merging(info).unmerge(source, audit(info, input.reason))
        except DomainError as error:
            return UnmergePartnerPayload(
                partner=None,
                moved_back=[],
                left_in_place=[],
                fields_kept=[],
                user_errors=user_errors(error),
            )
        return _unmerged(answer)
