"""The subscription hub of one API process: it follows the projections, reads each new
stretch of the change feed once, and hands every row to the subscribers whose keys it
carries (a dictionary look-up per key), through bounded queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from app.infra.positions import ProjectionWaiter
from app.infra.read_share import KeyShares
from app.queries.change_feed import ChangeFeed
from app.queries.timeline_queries import TimelineRow

log = logging.getLogger(__name__)

Key = tuple[str, Hashable]
Records = dict[tuple[str, UUID], Any]
"""Read-model rows of the records the feed rows are about, by (subject type, id)."""
Enrich = Callable[[Sequence[TimelineRow]], Awaitable[Records]]


@dataclass(frozen=True)
class Delivery:
    """A feed row and the current state of its record, loaded once for all subscribers."""

    row: TimelineRow
    record: Any
    seen: int = 0
    """How many erasures the hub knew of before these were read (`SubscriptionHub.stale`)."""


ERASED_KIND = "PARTNER_ANONYMIZED"
MAX_ERASURES_KEPT = 100_000


def keys_of(row: TimelineRow) -> set[Key]:
    """Where a row goes: its partner's and its commercial partner's subscribers, and
    those of the company an activity names."""
    partners = {row.partner_id, row.commercial_partner_id, row.company_id} - {None}
    keys: set[Key] = {("timeline", p) for p in partners}
    if row.subject_type == "Partner":
        keys |= {("partner", row.partner_id), ("partner", "*")}
    elif row.subject_type == "Activity":
        keys |= {("activity-partner", p) for p in partners}
        keys |= {("activity", "*")}
        if row.assignee_id is not None:
            keys.add(("activity-assignee", row.assignee_id))
    return keys


@dataclass(eq=False)
class Subscriber:
    keys: frozenset[Key]
    accepts: Callable[[TimelineRow], bool]
    queue: asyncio.Queue[Delivery]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


class SubscriptionHub:
    def __init__(
        self,
        feed: ChangeFeed,
        waiter: ProjectionWaiter,
        queue_size: int = 1000,
        enrich: Enrich | None = None,
        replays_per_key: int | None = None,
    ) -> None:
        self.feed = feed
        self.replays = KeyShares(replays_per_key)
        """Each API key's subscriptions replaying the log at once (the others wait)."""
        self.enrich = enrich
        self.waiter = waiter
        self.queue_size = queue_size
        self.position = 0
        """Rows up to here have been handed out."""
        self._by_key: dict[Key, set[Subscriber]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.erasures = 0
        """Erasures learned so far (a delivery read before one of its partner's is stale)."""
        self._erased: dict[UUID, int] = {}
        self._scrubbed: dict[UUID, asyncio.Event] = {}

    @property
    def subscriber_count(self) -> int:
        return len({s for subs in self._by_key.values() for s in subs})

    async def start(self) -> None:
        self.position = self.waiter.position
        self._task = asyncio.create_task(self._follow(), name="subscription-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(
        self, keys: Iterable[Key], accepts: Callable[[TimelineRow], bool] = lambda _: True
    ) -> Subscriber:
        """Rows after `self.position` (read it in the same step) will reach the subscriber."""
        subscriber = Subscriber(frozenset(keys), accepts, asyncio.Queue(self.queue_size))
        for key in subscriber.keys:
            self._by_key[key].add(subscriber)
        return subscriber

    def unregister(self, subscriber: Subscriber) -> None:
        for key in subscriber.keys:
            subs = self._by_key.get(key)
            if subs is not None:
                subs.discard(subscriber)
                if not subs:
                    del self._by_key[key]

    # -- erasures -------------------------------------------------------------------------
    # A delivery waits in a subscriber's queue (up to `queue_size`) or in a replay's batch
    # with what was read when it was read. If its partner is erased meanwhile, it must not
    # go out as it was read: the erasure's notice (sent, and confirmed by every process,
    # before `anonymizePartner` answers) marks the deliveries read before it stale, and a
    # stale one is read again once the read models are scrubbed (the feed's
    # PARTNER_ANONYMIZED row, written in the scrub's transaction, says so).

    def erased(self, partner_id: UUID) -> None:
        """A partner's key was erased (the notice): its read models are being scrubbed."""
        self._learn(partner_id)
        self._scrubbed.setdefault(partner_id, asyncio.Event())

    def _learn(self, partner_id: UUID) -> None:
        self.erasures += 1
        self._erased.pop(partner_id, None)
        self._erased[partner_id] = self.erasures
        if len(self._erased) > MAX_ERASURES_KEPT:  # the oldest: long out of every queue
            oldest = next(iter(self._erased))
            del self._erased[oldest]
            self._scrubbed.pop(oldest, None)

    def _note_scrubbed(self, rows: Iterable[TimelineRow]) -> None:
        for row in rows:
            if row.kind == ERASED_KIND:
                if row.partner_id not in self._scrubbed:  # no notice came (another path)
                    self._learn(row.partner_id)
                self._scrubbed.setdefault(row.partner_id, asyncio.Event()).set()

    def stale(self, delivery: Delivery) -> UUID | None:
        """The erased partner a delivery was read before the erasure of, if any."""
        row = delivery.row
        for partner_id in (row.partner_id, row.subject_id):
            if self._erased.get(partner_id, 0) > delivery.seen:
                return partner_id
        return None

    async def reread(self, delivery: Delivery, partner_id: UUID) -> Delivery | None:
        """`delivery` read again once `partner_id`'s read models are scrubbed."""
        await self._scrubbed.setdefault(partner_id, asyncio.Event()).wait()
        seen, row = self.erasures, delivery.row
        again = [
            r
            for r in await self.feed.between(row.position - 1, row.position)
            if (r.subject_type, r.subject_id, r.kind)
            == (row.subject_type, row.subject_id, row.kind)
        ]
        if not again:
            return None
        records = await self.enrich(again) if self.enrich else {}
        return Delivery(again[0], records.get((row.subject_type, row.subject_id)), seen)

    def dispatch(
        self, rows: Sequence[TimelineRow], records: Records | None = None, seen: int = 0
    ) -> None:
        """Hands `rows` (and their `records`, read when `seen` erasures were known) out."""
        records = records or {}
        self._note_scrubbed(rows)
        for row in rows:
            delivery = Delivery(row, records.get((row.subject_type, row.subject_id)), seen)
            reached: set[Subscriber] = set()
            for key in keys_of(row):
                reached |= self._by_key.get(key, set())
            for subscriber in reached:
                if not subscriber.accepts(row):
                    continue
                try:
                    subscriber.queue.put_nowait(delivery)
                except asyncio.QueueFull:
                    # Too slow: it is dropped, never waited for; it resumes from its cursor.
                    subscriber.overflowed.set()
                    self.unregister(subscriber)
            self.position = row.position

    async def _follow(self) -> None:
        while True:
            try:
                await self.waiter.wait_for(self.position + 1, within=5.0)
                upto = self.waiter.position
                if upto > self.position and not self._by_key:
                    # Nobody to deliver to: skip reading the feed (two queries a write).
                    # Decided in the same step as advancing, so a later subscriber that
                    # reads `position` gets every row after it from here.
                    self.position = upto
                elif upto > self.position:
                    seen = self.erasures
                    rows = await self.feed.between(self.position, upto)
                    records = await self.enrich(rows) if self.enrich and rows else {}
                    self.dispatch(rows, records, seen)
                    self.position = max(self.position, upto)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("subscription hub failed to read the change feed; retrying")
                await asyncio.sleep(1.0)
