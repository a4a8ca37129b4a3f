"""Partner mutations: each returns the partner as the read model shows it once the
projections have caught up with the change (read-your-writes), plus `userErrors`. When
the projections are late (past the bounded wait), the partner is built from the saved
aggregate instead, so an acknowledged change always comes back with its result."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import strawberry

from app.application import CommandResult, history
from app.domain.audited import Audit
from app.queries.history_queries import row_as_of
from app.queries.partner_queries import PartnerRow
from app.schema.commands import CommandBuilder, execute
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.history import MAX_PARENT_DEPTH
from app.schema.partners.inputs import (
    CreatePartnerInput,
    PartnerStateInput,
    PartnerTagsInput,
    SetCommercialTermsInput,
    UpdatePartnerInput,
    create_values,
    partner_id,
    record_id,
    terms_changes,
    update_changes,
)
from app.schema.partners.types import Partner


@strawberry.type
class PartnerPayload:
    partner: Partner | None
    user_errors: list[UserError]


async def run_partner_command(
    info: Info, build: CommandBuilder, reason: str | None
) -> PartnerPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return PartnerPayload(partner=None, user_errors=outcome)
    directory = info.context.services.directory
    row = (await directory.get_many([outcome.id])).get(outcome.id)
    if row is not None and row.version >= outcome.version:
        return PartnerPayload(partner=Partner.from_row(row), user_errors=[])
    # The read model is behind: the state built from the saved aggregate.
    saved = await _saved_row(info, outcome.id, outcome.version, depth=0)
    partner = saved or row
    return PartnerPayload(partner=Partner.from_row(partner) if partner else None, user_errors=[])


async def _saved_row(
    info: Info, ident: UUID, version: int | None, *, depth: int
) -> PartnerRow | None:
    """The partner's row built from its saved aggregate (at `version`, or the latest);
    its parent's fields from the read model, or from the parent's aggregate in turn when
    the read model does not have it yet."""
    ctx = info.context
    app = ctx.services.app
    if version is None:
        saved = await ctx.run(history.current_partner, app, ident)
    else:
        saved = await ctx.run(history.partner_at_version, app, ident, version)
    if saved is None:
        return None
    parent: PartnerRow | None = None
    parent_id = saved.parent_id
    if parent_id is not None:
        parent = (await ctx.services.directory.get_many([parent_id])).get(parent_id)
        if parent is None and depth < MAX_PARENT_DEPTH:
            parent = await _saved_row(info, parent_id, None, depth=depth + 1)
    return row_as_of(saved, parent)


def _uuid(global_id: str) -> UUID:
    return partner_id(global_id)


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Registers a company or a person.")
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> PartnerPayload:
        app = info.context.services.app
        return await run_partner_command(
            info,
            lambda audit: (
                lambda: app.create_partner(
                    input.kind.value, create_values(input), audit, input.idempotency_key
                )
            ),
            input.reason,
        )

    @strawberry.mutation(description="Changes the fields given; null clears a field.")
    async def update_partner(self, info: Info, input: UpdatePartnerInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident, changes = _uuid(input.id), update_changes(input)
            return lambda: app.update_partner(ident, changes, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)

    @strawberry.mutation(description="Hides a partner from default lists; history is kept.")
    async def archive_partner(self, info: Info, input: PartnerStateInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = _uuid(input.id)
            return lambda: app.archive_partner(ident, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)

    @strawberry.mutation(description="Brings an archived partner back.")
    async def restore_partner(self, info: Info, input: PartnerStateInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = _uuid(input.id)
            return lambda: app.restore_partner(ident, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)


@strawberry.type
class PartnerTermsMutations:
    @strawberry.mutation(
        description="Sets the sales & purchase terms of a commercial partner (a patch)."
    )
    async def set_commercial_terms(
        self, info: Info, input: SetCommercialTermsInput
    ) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident, changes = _uuid(input.id), terms_changes(input)
            return lambda: app.set_commercial_terms(ident, changes, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)

    @strawberry.mutation(description="Adds tags to a partner (those it has are ignored).")
    async def add_partner_tags(self, info: Info, input: PartnerTagsInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = _uuid(input.id)
            tags = [record_id(t, "Tag", "tagIds") for t in input.tag_ids]
            return lambda: app.add_partner_tags(ident, tags, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)

    @strawberry.mutation(description="Removes tags from a partner.")
    async def remove_partner_tags(self, info: Info, input: PartnerTagsInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = _uuid(input.id)
            tags = [record_id(t, "Tag", "tagIds") for t in input.tag_ids]
            return lambda: app.remove_partner_tags(ident, tags, audit, input.expected_version)

        return await run_partner_command(info, build, input.reason)
