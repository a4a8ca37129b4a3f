"""The frame of a use case that writes and then answers from the read side: the command
runs in the thread pool, and the answer is read once the projections show the change."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic
from uuid import UUID

from app.application import Partnerbook
from app.application.ports import BlockingRunner, PartnerRows, ReadSide, Row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadYourWrites(Generic[Row]):
    app: Partnerbook
    run: BlockingRunner
    read_side: ReadSide
    within: float
    """How long to wait for the projections (PARTNERBOOK_READ_YOUR_WRITES_TIMEOUT)."""
    partners: PartnerRows[Row]

    async def caught_up(self) -> None:
        """Waits until the read model shows every event recorded so far (for a command
        that is given what the read model holds)."""
        head = await self.run(self.app.recorder.max_notification_id)
        if not await self.read_side.wait_for(head, self.within):
            log.warning("projections did not reach position %s in time", head)

    async def visible(self, position: int | None) -> bool:
        """Waits (bounded) until the projections have passed `position`."""
        return await self.read_side.wait_for(position, self.within)

    async def partner_row(self, partner_id: UUID) -> Row | None:
        return (await self.partners.get_many([partner_id])).get(partner_id)
