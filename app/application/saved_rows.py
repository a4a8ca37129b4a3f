"""Partner rows built from saved aggregates: a command's answer while the read model is
behind (read-your-writes fallback), and a partner as it was (as-of). The rows are built
by the read side's rule (`RowOfState`), given the parent's row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic
from uuid import UUID

from app.application import history
from app.application.base import CommandResult
from app.application.ports import PartnerVersions, Row, RowOfState
from app.application.read_your_writes import ReadYourWrites
from app.domain.partner import Partner

MAX_PARENT_DEPTH = 16
"""Parents followed at most when a row is built from aggregates."""


class VersionNotFound(LookupError):
    """The partner exists but has not reached the version asked for."""


@dataclass(frozen=True)
class SavedRows(Generic[Row]):
    commands: ReadYourWrites[Row]
    row_of_state: RowOfState[Row]

    async def after_command(self, result: CommandResult) -> Row | None:
        """The partner a command changed, from the read model once it shows the change;
        while it is behind (past the bounded wait), built from the saved aggregate, so
        an acknowledged change always comes back with its result."""
        row = await self.commands.partner_row(result.id)
        if row is not None and row.version >= result.version:
            return row
        saved = await self._saved_row(result.id, result.version, depth=0)
        return saved or row

    async def as_of(
        self,
        versions: PartnerVersions,
        partner_id: UUID,
        at: datetime | None,
        version: int | None,
    ) -> Row | None:
        """The partner as it was at the instant `at` or else after its `version`-th event
        (None before it was created); its parents as they were then. Raises
        VersionNotFound when the partner has no such version yet."""
        wanted = version
        if at is not None:
            found = await versions.version_at(partner_id, at)
            if found is None:
                return None
            wanted = found
        if wanted is None:
            return None
        app = self.commands.app
        partner = await self.commands.run(history.partner_at_version, app, partner_id, wanted)
        if partner is None:
            return None
        if partner.version < wanted:
            raise VersionNotFound(
                f"the partner has no version {wanted}: its current version is {partner.version}"
            )
        instant = at if at is not None else partner.modified_on
        return await self._row_as_of(versions, partner, instant, 0)

    async def _saved_row(self, ident: UUID, version: int | None, *, depth: int) -> Row | None:
        """The partner's row built from its saved aggregate (at `version`, or the latest);
        its parent's fields from the read model, or from the parent's aggregate in turn
        when the read model does not have it yet."""
        commands = self.commands
        if version is None:
            saved = await commands.run(history.current_partner, commands.app, ident)
        else:
            saved = await commands.run(history.partner_at_version, commands.app, ident, version)
        if saved is None:
            return None
        parent: Row | None = None
        parent_id = saved.parent_id
        if parent_id is not None:
            parent = await commands.partner_row(parent_id)
            if parent is None and depth < MAX_PARENT_DEPTH:
                parent = await self._saved_row(parent_id, None, depth=depth + 1)
        return self.row_of_state(saved, parent)

    async def _row_as_of(
        self, versions: PartnerVersions, partner: Partner, instant: datetime, depth: int
    ) -> Row:
        parent_row = None
        parent_id = partner.parent_id
        if parent_id is not None and depth < MAX_PARENT_DEPTH:
            version = await versions.version_at(parent_id, instant)
            if version is not None:
                app = self.commands.app
                parent = await self.commands.run(
                    history.partner_at_version, app, parent_id, version
                )
                if parent is not None:
                    parent_row = await self._row_as_of(versions, parent, instant, depth + 1)
        return self.row_of_state(partner, parent_row)
