"""Partner mutations: each returns the partner as the read model shows it once the
projections have caught up with the change (read-your-writes), plus `userErrors`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.errors import DomainError
from app.domain.partner import Audit
from app.schema.context import Info
from app.schema.errors import UserError, user_errors
from app.schema.partners.inputs import (
    CreatePartnerInput,
    PartnerStateInput,
    UpdatePartnerInput,
    create_values,
    partner_id,
    update_changes,
)
from app.schema.partners.types import Partner

log = logging.getLogger(__name__)


@strawberry.type
class PartnerPayload:
    partner: Partner | None
    user_errors: list[UserError]


async def run_partner_command(
    info: Info, build: Callable[[Audit], Callable[[], CommandResult]], reason: str | None
) -> PartnerPayload:
    ctx = info.context
    audit = Audit(actor=ctx.actor, request_id=ctx.request_id, reason=reason)
    try:
        command = build(audit)
        result = await ctx.run(command)
    except DomainError as error:
        return PartnerPayload(partner=None, user_errors=user_errors(error))
    return PartnerPayload(partner=await _projected(info, result), user_errors=[])


async def _projected(info: Info, result: CommandResult) -> Partner | None:
    services = info.context.services
    caught_up = await services.waiter.wait_for(
        result.position, services.settings.read_your_writes_timeout
    )
    if not caught_up:
        log.warning("projections did not reach position %s in time", result.position)
    rows = await services.directory.get_many([result.id])
    row = rows.get(result.id)
    return Partner.from_row(row) if row else None


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
