"""Merging duplicate partners: the rules of a merge and of its undoing.

A merge keeps one partner (the destination) and archives the others (the sources) with
`Partner.Merged`; the destination records `Partner.Absorbed`. What belonged to a source
(children, activities, documents, opportunities, affiliations, bank accounts) follows the destination, each with an
event of its own; its tags are added to the destination. Nothing is deleted, and the
events record exactly what moved so that `unmerge` can move it back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.partner import Partner
from app.domain.partner_fields import ADDRESS_FIELDS, input_name
from app.domain.partner_rules import check_commercial_fields, check_complete
from app.domain.partner_state import PartnerField, partner_field

MAX_SOURCES = 5
MAX_MOVED = 500
"""Records one merge may move: they are saved in one transaction (see group_commit.py
about very large statements)."""

MOVED_KINDS = (
    "children",
    "activities",
    "documents",
    "opportunities",
    "affiliations",
    "bank_accounts",
)

CHOOSABLE: dict[str, tuple[PartnerField, ...]] = {
    input_name(f): (f,)
    for f in (
        "name",
        "function",
        "ref",
        "company_registry",
        "notes",
        "email",
        "phone",
        "mobile",
        "website",
        "lang",
        "tz",
        "vat",
        "industry_id",
        "salesperson_id",
        "is_customer",
        "is_supplier",
    )
}
"""API field name -> the domain fields a field choice takes from its source."""
CHOOSABLE["address"] = ADDRESS_FIELDS  # street, city, state and country go together
for _f in ADDRESS_FIELDS:
    CHOOSABLE[input_name(_f)] = ADDRESS_FIELDS


def check_merge(
    destination: Partner,
    sources: Sequence[Partner],
    ancestors: Mapping[UUID, set[UUID]],
) -> None:
    """Refuses a merge that cannot be done: every problem is reported at once."""
    errors: list[FieldError] = []

    def fail(code: ErrorCode, message: str, *field: str, **params: Any) -> None:
        errors.append(FieldError(tuple(field), code, Message(message, **params)))

    if not 1 <= len(sources) <= MAX_SOURCES:
        fail(ErrorCode.VALIDATION, "give 1 to %(max)s sources", "sourceIds", max=MAX_SOURCES)
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        fail(ErrorCode.VALIDATION, "a source is given more than once", "sourceIds")
    if destination.id in ids:
        fail(ErrorCode.VALIDATION, "the destination cannot also be a source", "sourceIds")
    if destination.merged_into is not None:
        fail(ErrorCode.ARCHIVED, "the destination was merged into another partner", "destinationId")
    elif destination.archived:
        fail(ErrorCode.ARCHIVED, "the destination is archived", "destinationId")
    everyone = [destination, *sources]
    for source in sources:
        name = source.state.name or str(source.id)
        if source.merged_into is not None:
            message = Message("%(name)r is already merged into another partner")
            fail(ErrorCode.ARCHIVED, message, "sourceIds", name=name)
        elif source.archived:
            fail(ErrorCode.ARCHIVED, "%(name)r is archived", "sourceIds", name=name)
        if source.kind != destination.kind:
            message = Message(
                "%(name)r is a %(kind)s and the destination a %(other)s: only partners of one kind "
                "merge"
            )
            kinds = {"kind": source.kind.lower(), "other": destination.kind.lower()}
            fail(ErrorCode.VALIDATION, message, "sourceIds", name=name, **kinds)
        for other in everyone:
            if other is not source and (
                other.id in ancestors.get(source.id, set())
                or source.id in ancestors.get(other.id, set())
            ):
                message = Message(
                    "%(name)r is a parent or child (at any depth) of another partner of this "
                    "merge; a partner cannot be merged with its own parent or child"
                )
                fail(ErrorCode.INVALID_HIERARCHY, message, "sourceIds", name=name)
                break
    if errors:
        raise DomainError(errors)


def resolve_choices(
    destination: Partner, sources: Sequence[Partner], choices: Iterable[tuple[str, UUID]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The destination's new values from the field choices (API name, source id):
    (domain field -> value, domain field -> source id)."""
    by_id = {s.id: s for s in sources}
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    chosen_from: dict[str, str] = {}
    seen: dict[str, UUID] = {}
    for index, (field, from_id) in enumerate(choices):
        path = ("fieldChoices", str(index))
        fields = CHOOSABLE.get(field)
        if fields is None:
            allowed = ", ".join(sorted(CHOOSABLE))
            errors.append(
                FieldError(
                    (*path, "field"),
                    ErrorCode.VALIDATION,
                    Message(
                        "%(field)r cannot be chosen; one of %(allowed)s",
                        field=field,
                        allowed=allowed,
                    ),
                )
            )
            continue
        if from_id == destination.id:
            continue  # the destination keeps its own value
        source = by_id.get(from_id)
        if source is None:
            errors.append(
                FieldError((*path, "fromId"), ErrorCode.VALIDATION, "fromId is not a source")
            )
            continue
        for f in fields:
            if f in seen and seen[f] != from_id:
                errors.append(
                    FieldError(
                        (*path, "field"),
                        ErrorCode.VALIDATION,
                        Message("%(value)s is chosen from two sources", value=input_name(f)),
                    )
                )
                break
            seen[f] = from_id
            value = source.state.value(f)
            if destination.state.value(f) != value:
                changes[f] = value
                chosen_from[f] = str(from_id)
    if errors:
        raise DomainError(errors)
    merged = destination.values | changes
    check_complete(destination.kind, merged)
    check_commercial_fields(destination.kind, merged, changes)
    return changes, chosen_from


def record_merge(
    *,
    merge_id: UUID,
    destination: Partner,
    sources: Sequence[Partner],
    changes: Mapping[str, Any],
    chosen_from: Mapping[str, str],
    moved: Mapping[UUID, Mapping[str, list[str]]],
    audit: Audit,
) -> dict[UUID, list[str]]:
    """Triggers `Absorbed` on the destination and `Merged` on each source; returns the
    tags each source adds to the destination. Moving the records is the caller's."""
    fields = audit.as_event_fields()
    had = set(destination.tag_ids)
    tags_by_source: dict[UUID, list[str]] = {}
    for source in sources:
        new = sorted(set(source.tag_ids) - had)
        had |= set(new)
        tags_by_source[source.id] = new
    destination.trigger_event(
        Partner.Absorbed,
        merge_id=str(merge_id),
        source_ids=[str(s.id) for s in sources],
        changes=dict(changes),
        previous={f: destination.state.value(partner_field(f)) for f in changes},
        chosen_from=dict(chosen_from),
        tags_added=sorted({t for tags in tags_by_source.values() for t in tags}),
        **fields,
    )
    for source in sources:
        source.trigger_event(
            Partner.Merged,
            merge_id=str(merge_id),
            into=str(destination.id),
            moved={kind: list(moved[source.id].get(kind, [])) for kind in MOVED_KINDS},
            tags_added=tags_by_source[source.id],
            **fields,
        )
    return tags_by_source


def plan_separation(
    destination: Partner, source: Partner, still_merged: Sequence[Partner]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """What unmerging `source` gives back on the destination: (fields reverted to their
    values before the merge, tags removed, fields kept because they changed since)."""
    assert source.merge is not None
    record = (destination.absorbed or {}).get(source.merge["merge_id"]) or {}
    reverted: dict[str, Any] = {}
    kept: list[str] = []
    for field, from_id in (record.get("chosen_from") or {}).items():
        if from_id != str(source.id):
            continue
        if destination.state.value(partner_field(field)) == record["changes"].get(field):
            reverted[field] = record["previous"].get(field)
        else:
            kept.append(field)
    others = {t for partner in still_merged for t in partner.tag_ids}
    # Tags the merge added that no source still merged has: those of this source, and
    # those of sources unmerged before it that this one kept on the destination.
    tags = [
        t
        for t in record.get("tags_added", source.merge.get("tags_added", []))
        if t in destination.tag_ids and t not in others
    ]
    return reverted, tags, kept


def unmerge_checks(source: Partner) -> None:
    if source.merged_into is None or source.merge is None:
        raise DomainError.single(ErrorCode.VALIDATION, "this partner is not merged", "sourceId")
