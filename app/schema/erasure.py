"""`anonymizePartner`: erases a person's personal data (crypto-shredding, DESIGN.md)."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.schema.context import Info
from app.schema.descriptions import COMMAND, described
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
            "The duplicates merged into it (and still merged) are erased with it. "
            "People only; cannot be undone."
        )
    )
    async def anonymize_partner(self, info: Info, input: AnonymizePartnerInput) -> PartnerPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = partner_id(input.id)
            return lambda: app.anonymize_partner(ident, audit)

        return await run_partner_command(info, build, input.reason)
