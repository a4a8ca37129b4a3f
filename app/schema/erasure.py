"""`anonymizePartner`: erases a person's personal data (crypto-shredding, DESIGN.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry

from app.application import CommandResult
from app.application.saved_text_erasure import SettingSearch
from app.domain.audited import Audit
from app.queries.catalog_queries import setting_ids
from app.schema.commands import execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, described
from app.schema.errors import UserError
from app.schema.partners.inputs import partner_id
from app.schema.partners.mutations import PartnerPayload, run_partner_command
from app.schema.use_cases import audit, commands

log = logging.getLogger(__name__)


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
        search = await _reseal_settings(info, input)
        if not isinstance(search, SettingSearch):
            return PartnerPayload(partner=None, user_errors=search)

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = partner_id(input.id)
            return lambda: app.anonymize_partner(ident, audit, search.keys)

        payload = await run_partner_command(info, build, input.reason)
        if not payload.user_errors:
            await _reseal_late(info, input, search)
        return payload


async def _reseal_settings(
    info: Info, input: AnonymizePartnerInput
) -> SettingSearch | list[UserError]:
    """The first step: the segments and webhook endpoints whose text names the person,
    resealed and visible to queries before the keys of their earlier text are erased
    (every process then drops what it read of them, and reads them again as they are)."""
    app = info.context.services.app
    listed, listed_at = await setting_ids(info.context.services.directory.pool, app.name)
    found: list[SettingSearch] = []

    def reseal(audit: Audit) -> Callable[[], CommandResult]:
        ident = partner_id(input.id)

        def run() -> CommandResult:
            result, search = app.reseal_for_erasure(ident, audit, listed, listed_at)
            found.append(search)
            return result

        return run

    outcome = await execute(info, reseal, input.reason)
    return outcome if isinstance(outcome, list) else found[-1]


async def _reseal_late(info: Info, input: AnonymizePartnerInput, search: SettingSearch) -> None:
    """The last step: the settings saved while the erasure ran (another editor's), up to
    and past `Anonymized`, searched and resealed like the others; once the read models
    show them, the keys of their earlier text are erased and every process told again."""
    app = info.context.services.app
    session = commands(info)
    position = await session.run(app.reseal_late, search, audit(info, input.reason))
    if position is None:
        return
    if not await session.visible(position):
        log.warning("projections did not reach position %s in time", position)
    await session.run(app.finish_erasure, partner_id(input.id), search.keys)
