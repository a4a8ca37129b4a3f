"""History, as-of and the audit head: `partnerHistory`, `Partner.history`, `partnerAsOf`,
`auditHead`."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import strawberry

from app.application import history
from app.application.saved_rows import VersionNotFound
from app.domain import partner_fields
from app.domain.messages import Message
from app.queries.history_queries import HistoryDirectory, at_instant
from app.queries.keyset import MAX_PAGE
from app.schema.context import Info
from app.schema.descriptions import AUDIT_FIELDS, PAGING, described
from app.schema.errors import ClientError, argument_id
from app.schema.partners.types import Partner
from app.schema.relay import PageInfo
from app.schema.use_cases import saved_rows

DEFAULT_HISTORY_PAGE = 50

_REFERENCE_NAMES: dict[str, str] = {
    "tag_ids": "tags",
    "parent_id": "parent",
    "industry_id": "industry",
    "salesperson_id": "salesperson",
    **{f: f.removesuffix("_id") for f in partner_fields.TERM_REFERENCES},
}


def api_field_name(field: str) -> str:
    """The API's camelCase name of a domain field; references lose their `Id` (they show
    the referenced record's name): `tag_ids` -> `tags`, `pricelist_id` -> `pricelist`."""
    field = _REFERENCE_NAMES.get(field, field)
    head, *rest = field.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@strawberry.type(description="One field changed by an event, as displayed values.")
class FieldChange:
    field: str = strawberry.field(
        description="The API's name of the field (camelCase): name, email, countryCode, "
        "stateCode, tags, parent, industry, salesperson, pricelist, creditLimit, archived..."
    )
    old: str | None = strawberry.field(
        description="The value before, as displayed: codes as codes, references by name "
        "(tags: names joined by ', '; parent: its display name), true/false for flags."
    )
    new: str | None = strawberry.field(description="The value after, displayed like `old`.")
    erased: bool = strawberry.field(
        description="True when the partner was anonymized and this field held personal "
        "data: old and new are then null."
    )


@described(AUDIT_FIELDS)
@strawberry.type(description="One event of a partner, with the fields it changed.")
class PartnerChange:
    version: int = strawberry.field(description="The partner's version this event made.")
    occurred_at: datetime
    event_type: str = strawberry.field(
        description="The event's type, e.g. Registered, Updated, TagsAdded, Archived."
    )
    actor: str | None
    request_id: str | None
    reason: str | None
    changes: list[FieldChange] = strawberry.field(description="The fields it changed.")


@strawberry.type(description="A change of a page, with its cursor.")
class PartnerChangeEdge:
    cursor: str = strawberry.field(description="Where this change is in the list: for `after`.")
    node: PartnerChange = strawberry.field(description="The change.")


@strawberry.type(description="A partner's changes, oldest first.")
class PartnerChangeConnection:
    edges: list[PartnerChangeEdge] = strawberry.field(description="The page's changes.")
    page_info: PageInfo = strawberry.field(description="Whether there is more, and the cursors.")
    total_count: int = strawberry.field(description="How many events the partner has.")

    @strawberry.field(description="The changes of this page (the nodes of `edges`).")
    def nodes(self) -> list[PartnerChange]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="The end of the audit chain over the stored events.")
class AuditHead:
    position: int = strawberry.field(
        description="The notification id of the last event the chain covers (0: none)."
    )
    chain_hash: str = strawberry.field(
        description="SHA-256 chain hash up to `position`, hex (h_n = SHA-256(h_{n-1} || "
        "stored event n)); `partnerbook audit verify` recomputes it."
    )


def _cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"version:{version}".encode()).decode()


def _after_version(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        if kind == "version" and value.isdigit():
            return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ClientError(
        Message("'%(after)s' is not a cursor of this list", after=after), "BAD_REQUEST"
    )


async def _display(info: Info, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field == "tag_ids":
        ids = [UUID(str(t)) for t in value]
        rows = await info.context.tags.load_many(ids)
        return ", ".join(sorted(r.name if r else str(i) for i, r in zip(ids, rows, strict=True)))
    if field == "parent_id":
        row = await info.context.partners.load(UUID(str(value)))
        return row.display_name if row else str(value)
    if field in _REFERENCE_NAMES:
        entry = await info.context.catalog_entries.load(UUID(str(value)))
        return entry.name if entry else str(value)
    if field == "credit_limit" and isinstance(value, dict):
        return f"{value.get('amount')} {value.get('currency')}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


async def _change(info: Info, change: history.PartnerChange) -> PartnerChange:
    fields = [
        FieldChange(
            field=api_field_name(d.field),
            old=None if d.erased else await _display(info, d.field, d.old),
            new=None if d.erased else await _display(info, d.field, d.new),
            erased=d.erased,
        )
        for d in change.changes
    ]
    return PartnerChange(
        version=change.version,
        occurred_at=change.occurred_at,
        event_type=change.event_type,
        actor=change.actor,
        request_id=change.request_id,
        reason=change.reason,
        changes=fields,
    )


async def history_connection(
    info: Info, partner_id: UUID, first: int | None, after: str | None
) -> PartnerChangeConnection:
    if first is not None and not 0 <= first <= MAX_PAGE:
        raise ClientError(
            Message("`first` must be between 0 and %(max_page)s", max_page=MAX_PAGE),
            "LIMIT_EXCEEDED",
        )
    after_version = _after_version(after)
    limit = DEFAULT_HISTORY_PAGE if first is None else first
    app = info.context.services.app
    page = await info.context.run(
        history.partner_history, app, partner_id, after_version=after_version, limit=limit
    )
    if page is None:
        return PartnerChangeConnection(
            edges=[],
            page_info=PageInfo(
                has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
            ),
            total_count=0,
        )
    edges = [
        PartnerChangeEdge(cursor=_cursor(c.version), node=await _change(info, c))
        for c in page.changes
    ]
    return PartnerChangeConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after_version > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.current_version,
    )


_ARGUMENTS = {
    "id": "The partner's global id.",
    "at": "The instant (a time without offset is UTC); or give `version`.",
    "version": "The version (1 is its creation); or give `at`.",
    "position": "A notification id: the head as it was then (the latest head by default).",
}


def _as_of_arguments(
    id: str, at: datetime | None, version: int | None
) -> tuple[UUID, datetime | None, int | None]:
    if (at is None) == (version is None):
        raise ClientError("give exactly one of `at` and `version`", "BAD_REQUEST")
    ident = argument_id(id, "Partner")
    if version is not None and version < 1:
        raise ClientError("`version` counts from 1", "BAD_REQUEST")
    return ident, (at.replace(tzinfo=UTC) if at and at.tzinfo is None else at), version


@described(PAGING, _ARGUMENTS)
@strawberry.type
class HistoryQueries:
    @strawberry.field(
        description="Every event of a partner with the fields it changed, oldest first."
    )
    async def partner_history(
        self, info: Info, id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> PartnerChangeConnection:
        return await history_connection(info, argument_id(id, "Partner"), first, after)

    @strawberry.field(
        description="The partner as it was at an instant (`at`) or after one of its "
        "versions (`version`): give exactly one. Null before it was created. Fields read "
        "from other records (stats, activities, documents, opportunities, timeline, "
        "children, history, the names of tags and catalog entries) are current; see "
        "docs/api.md."
    )
    async def partner_as_of(
        self,
        info: Info,
        id: strawberry.ID,
        at: datetime | None = None,
        version: int | None = None,
    ) -> Partner | None:
        ident, at, version = _as_of_arguments(id, at, version)
        directory = HistoryDirectory(info.context.services.directory.pool)
        try:
            row = await saved_rows(info).as_of(directory, ident, at, version)
        except VersionNotFound as error:
            raise ClientError(str(error), "BAD_REQUEST") from None
        return Partner.from_row(at_instant(row, at)) if row else None

    @strawberry.field(
        description="The audit chain's head: position and chain hash; with `position`, the "
        "chain hash over every event up to that notification id, to compare with one noted "
        "then (`partnerbook audit verify --expect POSITION:HASH`)."
    )
    async def audit_head(self, info: Info, position: int | None = None) -> AuditHead:
        directory = HistoryDirectory(info.context.services.directory.pool)
        if position is not None:
            last = (await directory.audit_head()).position
            if position < 1 or position > last:
                raise ClientError(
                    Message(
                        "`position` must be between 1 and the audit head (%(last)s)", last=last
                    ),
                    "BAD_REQUEST",
                )
        head = await directory.audit_head(position)
        return AuditHead(position=head.position, chain_hash=head.chain_hash.hex())
