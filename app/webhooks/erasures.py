"""Erasures an endpoint's worker must know of: it reads a batch of timeline rows (up to
`webhook_batch_size`) and sends them one at a time, so a row may wait behind a slow
receiver while its person is erased. Such a row must not go out as it was read:
`anonymizePartner` answers once every process handled the erasure's notice, and the
read models are scrubbed in the transaction that projects the erasure (its
PARTNER_ANONYMIZED timeline row). A row read before the scrub is stale; it is read again
after it (app/webhooks/endpoint.py)."""

from __future__ import annotations

from uuid import UUID

from app.queries.timeline_queries import TimelineRow

MAX_KEPT = 100_000
"""Erasures remembered (the oldest go first: long out of every batch)."""


class Erasures:
    def __init__(self) -> None:
        self.tick = 0
        """Moves at every notice and every scrub seen: a read that starts at a tick sees
        every scrub seen before it."""
        self._clean_from: dict[UUID, int | None] = {}
        """Erased partner -> the tick from which a read sees its scrub (None: not yet)."""

    def erased(self, partner_id: UUID) -> None:
        """The notice: the partner's key is gone, its read models are being scrubbed."""
        self.tick += 1
        self._clean_from.pop(partner_id, None)
        self._clean_from[partner_id] = None
        if len(self._clean_from) > MAX_KEPT:
            del self._clean_from[next(iter(self._clean_from))]

    def scrubbed(self, partner_id: UUID) -> None:
        """The read models show the partner's erasure (a read starting now sees it)."""
        if partner_id in self._clean_from and self._clean_from[partner_id] is None:
            self.tick += 1
            self._clean_from[partner_id] = self.tick

    def stale(self, row: TimelineRow, seen: int) -> UUID | None:
        """The erased partner a row read at tick `seen` may still quote, if any."""
        about = (row.partner_id, row.subject_id if row.subject_type == "Partner" else None)
        for partner_id in about:
            if partner_id is None or partner_id not in self._clean_from:
                continue
            clean_from = self._clean_from[partner_id]
            if clean_from is None or seen < clean_from:
                return partner_id
        return None
