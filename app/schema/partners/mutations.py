"""Partner mutations: each returns the partner as the read model shows it once the
projections have caught up with the change (read-your-writes), plus `userErrors`. When
the projections are late (past the bounded wait), the partner is built from the saved
aggregate instead, so an acknowledged change always comes back with its result."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.schema.commands import CommandBuilder, execute, record_command
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError
from app.schema.ids import record_id
from app.schema.partners.inputs import (
    CreatePartnerInput,
    PartnerStateInput,
    PartnerTagsInput,
    SetCommercialTermsInput,
    UpdatePartnerInput,
    create_values,
    partner_id,
    terms_changes,
    update_changes,
)
from app.schema.partners.types import Partner
from app.schema.use_cases import saved_rows


@described(PAYLOAD)
@strawberry.type(description="The outcome of a partner mutation.")
class PartnerPayload:
    partner: Partner | None = strawberry.field(
        description="The partner after the change; null when refused."
    )
    user_errors: list[UserError]


async def run_partner_command(
    info: Info, build: CommandBuilder, reason: str | None
) -> PartnerPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return PartnerPayload(partner=None, user_errors=outcome)
    row = await saved_rows(info).after_command(outcome)
    return PartnerPayload(partner=Partner.from_row(row) if row else None, user_errors=[])


def _uuid(global_id: str) -> UUID:
    return partner_id(global_id)


@described(COMMAND)
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
        build = record_command(info.context.services.app.archive_partner, "Partner", input)
        return await run_partner_command(info, build, input.reason)

    @strawberry.mutation(description="Brings an archived partner back.")
    async def restore_partner(self, info: Info, input: PartnerStateInput) -> PartnerPayload:
        build = record_command(info.context.services.app.restore_partner, "Partner", input)
        return await run_partner_command(info, build, input.reason)


@described(COMMAND)
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
