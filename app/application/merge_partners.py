"""The merge and unmerge use cases: what the read model says the sources own, the
command, and the destination as it is (or, for a dry run, as it would be) once visible."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic
from uuid import UUID

from app.application.merging import MergeOutcome, Moved, UnmergeOutcome
from app.application.ports import OwnedRecords, Row, RowOfState
from app.application.read_your_writes import ReadYourWrites
from app.domain.audited import Audit


@dataclass(frozen=True)
class MergeRequest:
    destination_id: UUID
    source_ids: Sequence[UUID]
    audit: Audit
    choices: Sequence[tuple[str, UUID]] = ()
    """(field, partner to take it from)"""
    dry_run: bool = False
    idempotency_key: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class MergeAnswer(Generic[Row]):
    destination: Row | None
    """After the merge (as it would be, for a dry run)."""
    moved: list[Moved]
    preview_tag_ids: list[UUID] | None
    """A dry run's: the destination's tags as they would be (None: read them as usual)."""


@dataclass(frozen=True)
class UnmergeAnswer(Generic[Row]):
    source: Row | None
    outcome: UnmergeOutcome


@dataclass(frozen=True)
class Merging(Generic[Row]):
    commands: ReadYourWrites[Row]
    owned: OwnedRecords
    row_of_state: RowOfState[Row]

    async def merge(self, request: MergeRequest) -> MergeAnswer[Row]:
        """Raises DomainError when the merge is refused."""
        commands = self.commands
        await commands.caught_up()  # the sources' records are read from the read model
        owned = await self.owned.owned(request.source_ids)
        outcome: MergeOutcome = await commands.run(
            lambda: commands.app.merge_partners(
                request.destination_id,
                request.source_ids,
                owned,
                request.audit,
                choices=request.choices,
                dry_run=request.dry_run,
                idempotency_key=request.idempotency_key,
                expected_version=request.expected_version,
            )
        )
        if outcome.result.position is not None:
            await commands.visible(outcome.result.position)
        row = await commands.partner_row(request.destination_id)
        if row is None or not request.dry_run:
            return MergeAnswer(row, outcome.moved, None)
        destination = outcome.destination
        parent = (
            await commands.partner_row(destination.parent_id) if destination.parent_id else None
        )
        preview = _preview(row, self.row_of_state(destination, parent))
        return MergeAnswer(preview, outcome.moved, [UUID(t) for t in destination.tag_ids])

    async def unmerge(self, source_id: UUID, audit: Audit) -> UnmergeAnswer[Row]:
        """Raises DomainError when the unmerge is refused."""
        commands = self.commands
        outcome = await commands.run(commands.app.unmerge_partner, source_id, audit)
        await commands.visible(outcome.result.position)
        return UnmergeAnswer(await commands.partner_row(source_id), outcome)


def _preview(row: Row, resolved: Row) -> Row:
    """The destination's row with the values it would have (`resolved`, its state after
    the merge resolved by the read side's rule); its version and timestamps stay those
    of today, so a dry run's version can be sent as the merge's `expectedVersion`."""
    kept = ("version", "created_at", "updated_at")
    values = {f: getattr(resolved, f) for f in row.__dataclass_fields__ if f not in kept}
    return dataclasses.replace(row, **values)
