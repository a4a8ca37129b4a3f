"""`anonymizePartner`: erases a person's personal data (crypto-shredding, DESIGN.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.queries.catalog_queries import setting_ids
from app.schema.commands import execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, described
from app.schema.errors import UserError
from app.schema.partners.inputs import partner_id
from app.schema.partners.mutations import PartnerPayload, run_partner_command


@described(COMMAND)
@strawberry.input(
    description=(
        "Which person to anonymize, and why (sealed with the person's key like every "
        "reason about it: erased with the rest)."
    )
)
class AnonymizePartnerInput:
    id: strawberry.ID
    reason: str | None = None


@described(COMMAND)
@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description=(
            "Erases a person's personal data: its data key is deleted, so the encrypted "
            "personal fields of its events and snapshots can no longer be read, and the "
            "read models are scrubbed. History still replays, with those fields null. "
            "The duplicates merged into it (and still merged) are erased with it, and "
            "the values that named it in segments and webhook endpoints (their history "
            "no longer reads). "
            "People only; cannot be undone."
        )
    )
    async def anonymize_partner(self, info: Info, input: AnonymizePartnerInput) -> PartnerPayload:
        app = info.context.services.app
        shred = await _reseal_settings(info, input)
        if not isinstance(shred, SettingKeys):
            return PartnerPayload(partner=None, user_errors=shred)

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = partner_id(input.id)
            return lambda: app.anonymize_partner(ident, audit, shred.keys)

        return await run_partner_command(info, build, input.reason)


@dataclass
class SettingKeys:
    keys: list[UUID] = field(default_factory=list)
    """The keys of the settings' earlier text, erased with the person."""


async def _reseal_settings(
    info: Info, input: AnonymizePartnerInput
) -> SettingKeys | list[UserError]:
    """The first step: the segments and webhook endpoints whose text names the person,
    resealed and visible to queries before the keys of their earlier text are erased
    (every process then drops what it read of them, and reads them again as they are)."""
    app = info.context.services.app
    settings = await setting_ids(info.context.services.directory.pool)
    found = SettingKeys()

    def reseal(audit: Audit) -> Callable[[], CommandResult]:
        ident = partner_id(input.id)

        def run() -> CommandResult:
            result, found.keys = app.reseal_for_erasure(ident, audit, settings)
            return result

        return run

    outcome = await execute(info, reseal, input.reason)
    return outcome if isinstance(outcome, list) else found
