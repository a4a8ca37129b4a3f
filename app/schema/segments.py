"""Segments in the GraphQL API: saved filters, their members and member counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.application import CommandResult
from app.domain.audited import Audit
from app.domain.messages import Message
from app.queries.catalog_queries import SegmentRow, segment_page, segments
from app.queries.partners.ordering import Order
from app.schema.commands import CommandBuilder, execute, record_command
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, PAYLOAD, RECORD, described
from app.schema.errors import ClientError, UserError
from app.schema.ids import record_id, to_global_id
from app.schema.limits import (
    FILTER_LEAVES,
    LIMIT_EXCEEDED,
    Limits,
    measure_value,
    size_over_limit,
)
from app.schema.limits.budget import refusal
from app.schema.partners.inputs import PartnerFilterInput
from app.schema.partners.row_fields import PartnerKind
from app.schema.partners.types import Partner, partner_connection
from app.schema.relay import (
    Connection,
    Node,
    check_page_args,
    page_connection,
    read_page,
)

_KEYWORDS = {"and_": "and", "or_": "or", "not_": "not"}


def _camel(name: str) -> str:
    if name in _KEYWORDS:
        return _KEYWORDS[name]
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def filter_to_json(f: PartnerFilterInput) -> dict[str, Any]:
    """The filter as the API spells it (what clients sent), for storing."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(f):
        value = getattr(f, field.name)
        if value is None:
            continue
        if isinstance(value, PartnerFilterInput):
            value = filter_to_json(value)
        elif isinstance(value, list):
            value = [filter_to_json(v) if isinstance(v, PartnerFilterInput) else v for v in value]
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[_camel(field.name)] = value
    return out


_FIELDS = {_camel(f.name): f.name for f in dataclasses.fields(PartnerFilterInput)}


def filter_from_json(data: dict[str, Any]) -> PartnerFilterInput:
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        name = _FIELDS[key]
        if name in ("and_", "or_"):
            value = [filter_from_json(v) for v in value]
        elif name == "not_":
            value = filter_from_json(value)
        elif name == "kind":
            value = PartnerKind(value)
        elif name.endswith(("_after", "_before")):
            value = datetime.fromisoformat(value)
        kwargs[name] = value
    return PartnerFilterInput(**kwargs)


_SEGMENT_FIELDS = {
    "name": "Its name (1 to 200 characters).",
    "description": "What it is for (at most 2,000 characters).",
    "search": "The partners' `search` it keeps (at most 200 characters).",
    "filter": "The partners it keeps; a new filter replaces the old one as a whole.",
}


@described(_SEGMENT_FIELDS, RECORD, PAGING)
@strawberry.type(description="A saved filter (and search) over partners.")
class Segment(Node):
    row: strawberry.Private[SegmentRow]
    name: str
    description: str | None
    search: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SegmentRow) -> Segment:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Segment", row.id)),
            name=row.name,
            description=row.description,
            search=row.search,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The stored PartnerFilter, as JSON in the API's spelling.")
    def filter(self) -> JSON | None:
        return JSON(self.row.filter) if self.row.filter is not None else None

    async def member_page(
        self, info: Info, first: int | None, after: str | None
    ) -> Connection[Partner]:
        if self.row.filter:
            # A filter stored before the limits (or under larger ones) costs as much as one
            # sent: refused the same way, before it is read into objects or SQL.
            settings = info.context.services.settings
            limits = Limits(
                max_batch=settings.max_batch,
                max_filter_depth=settings.max_filter_depth,
                max_filter_leaves=settings.max_filter_leaves,
            )
            size = measure_value(self.row.filter, in_filter=True)
            reason = size_over_limit(size, limits)
            if reason is not None:
                raise ClientError(
                    Message("segment %(name)r: %(reason)s", name=self.name, reason=reason),
                    LIMIT_EXCEEDED,
                )
            leaves = size.leaves
            if (most := refusal(FILTER_LEAVES, leaves)) is not None:
                raise ClientError(
                    Message(
                        "segment %(name)r: the operation's filters have more than %(max)s "
                        "leaves in all (each counted as often as its field runs, a "
                        "segment's %(leaves)s each time its members or count are read)",
                        name=self.name,
                        max=most,
                        leaves=leaves,
                    ),
                    LIMIT_EXCEEDED,
                )
        where = filter_from_json(self.row.filter).to_filter() if self.row.filter else None
        return await partner_connection(
            info, where, [Order("NAME")], search=self.row.search, first=first, after=after
        )

    @strawberry.field(description="The partners in the segment now.")
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Partner]:
        return await self.member_page(info, first, after)

    @strawberry.field(description="How many partners are in the segment now.")
    async def member_count(self, info: Info) -> int:
        connection = await self.member_page(info, 0, None)
        return (await connection.resolve_count())[0]


@described(_SEGMENT_FIELDS, COMMAND)
@strawberry.input(description="A new segment.")
class CreateSegmentInput:
    name: str
    description: str | None = None
    filter: PartnerFilterInput | None = None
    search: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(_SEGMENT_FIELDS, COMMAND)
@strawberry.input(description="A patch of a segment: left out unchanged, null clears (not `name`).")
class UpdateSegmentInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    description: strawberry.Maybe[str | None] = None
    filter: strawberry.Maybe[PartnerFilterInput | None] = None
    search: strawberry.Maybe[str | None] = None


@described(COMMAND)
@strawberry.input(description="The segment to delete.")
class DeleteSegmentInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="The outcome of a segment mutation.")
class SegmentPayload:
    segment: Segment | None = strawberry.field(
        description="The segment after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of deleteSegment.")
class DeleteSegmentPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The id of the segment deleted; null when refused."
    )
    user_errors: list[UserError]


async def _respond(info: Info, build: CommandBuilder, reason: str | None) -> SegmentPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return SegmentPayload(segment=None, user_errors=outcome)
    row = (await segments(info.context.services.directory.pool, [outcome.id])).get(outcome.id)
    return SegmentPayload(segment=Segment.from_row(row) if row else None, user_errors=[])


def _segment_id(global_id: str) -> UUID:
    return record_id(global_id, "Segment", "id")


def _segment_changes(input: UpdateSegmentInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("name", "description", "search"):
        given = getattr(input, name)
        if given is not None:
            changes[name] = given.value
    if input.filter is not None:
        given_filter = input.filter.value
        changes["filter"] = filter_to_json(given_filter) if given_filter else None
    return changes


@described(COMMAND)
@strawberry.type
class SegmentMutations:
    @strawberry.mutation(description="Saves a filter and a search as a segment.")
    async def create_segment(self, info: Info, input: CreateSegmentInput) -> SegmentPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            values = {
                "name": input.name,
                "description": input.description,
                "filter": filter_to_json(input.filter) if input.filter else None,
                "search": input.search,
            }
            return lambda: app.create_segment(values, audit, input.idempotency_key)

        return await _respond(info, build, input.reason)

    @strawberry.mutation(description="Changes a segment (fields left out are unchanged).")
    async def update_segment(self, info: Info, input: UpdateSegmentInput) -> SegmentPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident, changes = _segment_id(input.id), _segment_changes(input)
            return lambda: app.update_segment(ident, changes, audit, input.expected_version)

        return await _respond(info, build, input.reason)

    @strawberry.mutation(description="Deletes a segment (its history stays in the log).")
    async def delete_segment(self, info: Info, input: DeleteSegmentInput) -> DeleteSegmentPayload:
        build = record_command(info.context.services.app.delete_segment, "Segment", input)
        outcome = await execute(info, build, input.reason)
        if isinstance(outcome, list):
            return DeleteSegmentPayload(deleted_id=None, user_errors=outcome)
        return DeleteSegmentPayload(deleted_id=strawberry.ID(input.id), user_errors=[])


@described(PAGING)
@strawberry.type
class SegmentQueries:
    @strawberry.field(description="Segments by name.")
    async def segments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Segment]:
        check_page_args(first, after, None, None)
        services = info.context.services
        page = await read_page(segment_page(services.directory.pool, first=first, after=after))
        return page_connection(page, Segment.from_row, services.catalogs.count)
