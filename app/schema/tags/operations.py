"""Tag queries and mutations: create, rename, re-parent, recolour, archive, restore."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.schema.catalogs.inputs import update_changes
from app.schema.commands import CommandBuilder, execute, record_command
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, PAYLOAD, described
from app.schema.errors import UserError
from app.schema.ids import filter_id, record_id
from app.schema.relay import Connection
from app.schema.tags.types import TAG_FIELDS, Tag, tag_connection

_TAG_LIST = {
    "parent_id": "Only the children of this tag.",
    "top_level_only": "Only the tags without a parent (the roots of the tree).",
}


@described(TAG_FIELDS, COMMAND)
@strawberry.input(description="A new tag.")
class CreateTagInput:
    name: str
    color: int = 0
    parent_id: strawberry.ID | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(TAG_FIELDS, COMMAND)
@strawberry.input(description="Fields left out are unchanged; parentId null makes it top-level.")
class UpdateTagInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    color: strawberry.Maybe[int | None] = None
    parent_id: strawberry.Maybe[strawberry.ID | None] = None


@described(COMMAND)
@strawberry.input(description="Archive or restore a tag.")
class TagStateInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="The outcome of a tag mutation.")
class TagPayload:
    tag: Tag | None = strawberry.field(description="The tag after the change; null when refused.")
    user_errors: list[UserError]


def tag_id(global_id: str, field: str = "id") -> UUID:
    return record_id(global_id, "Tag", field)


async def _respond(info: Info, build: CommandBuilder, reason: str | None) -> TagPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return TagPayload(tag=None, user_errors=outcome)
    row = (await info.context.services.catalogs.tags([outcome.id])).get(outcome.id)
    return TagPayload(tag=Tag.from_row(row) if row else None, user_errors=[])


@described(COMMAND)
@strawberry.type
class TagMutations:
    @strawberry.mutation(description="Creates a tag, optionally under a parent tag.")
    async def create_tag(self, info: Info, input: CreateTagInput) -> TagPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            values = {
                "name": input.name,
                "color": input.color,
                "parent_id": str(tag_id(input.parent_id, "parentId")) if input.parent_id else None,
            }
            return lambda: app.create_tag(values, audit, input.idempotency_key)

        return await _respond(info, build, input.reason)

    @strawberry.mutation(description="Renames, recolours or moves a tag.")
    async def update_tag(self, info: Info, input: UpdateTagInput) -> TagPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident, changes = tag_id(input.id), update_changes(input)
            if changes.get("parent_id") is not None:
                changes["parent_id"] = str(tag_id(changes["parent_id"], "parentId"))
            return lambda: app.update_tag(ident, changes, audit, input.expected_version)

        return await _respond(info, build, input.reason)

    @strawberry.mutation(description="Archives a tag: it stays on partners, cannot be added.")
    async def archive_tag(self, info: Info, input: TagStateInput) -> TagPayload:
        build = record_command(info.context.services.app.archive_tag, "Tag", input)
        return await _respond(info, build, input.reason)

    @strawberry.mutation(description="Restores an archived tag.")
    async def restore_tag(self, info: Info, input: TagStateInput) -> TagPayload:
        build = record_command(info.context.services.app.restore_tag, "Tag", input)
        return await _respond(info, build, input.reason)


@described(PAGING, _TAG_LIST)
@strawberry.type
class TagQueries:
    @strawberry.field(description="Tags by name; `topLevelOnly` for the roots of the tree.")
    async def tags(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        parent_id: strawberry.ID | None = None,
        top_level_only: bool = False,
        include_archived: bool = False,
    ) -> Connection[Tag]:
        parent = filter_id(parent_id, "Tag")  # an id that is not a tag's matches nothing
        return await tag_connection(info, parent, top_level_only, include_archived, first, after)
