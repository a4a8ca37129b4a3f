"""One endpoint's delivery loop, run while this process holds the endpoint's advisory
lock. It takes the events after its acknowledged position in batches (the rows the
dispatcher read for every endpoint at the last wake when it is caught up and has no
partners filter, else one query of its own), sends them one at a time over a kept-alive
connection, and stops at the first failure (order: nothing after an event is sent before
a 2xx acknowledged it). The cursor and the attempts are written in one statement at
most every FLUSH_SECONDS, in the background while the sends go on, and at once (waited
for) after a failure (docs/webhooks.md, "What a crash re-sends"): the cursor never passes
an event without a 2xx, so a crash re-sends only events whose 2xx came but was not yet
recorded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from standardwebhooks import Webhook

from app.infra.positions import ProjectionWaiter
from app.infra.webhook_secrets import SecretStore
from app.observability import Metrics
from app.queries.timeline_queries import TimelineRow
from app.settings import Settings
from app.webhooks.erasures import Erasures
from app.webhooks.sender import Outcome, Session
from app.webhooks.signing import backoff, encode, signed_headers
from app.webhooks.store import Cursor, DeliveryStore, EndpointRow

IDLE = 5.0
"""Seconds an idle endpoint worker waits before it looks again (a safety net: the
projections' NOTIFY wakes it)."""
FLUSH_SECONDS = 0.25
"""Acknowledgements are recorded at most this long after their 2xx (one transaction for
all of them): what a crash may send twice."""
SECRETS_SECONDS = 1.0
"""How long the signing secrets are reused before they are read again (a rotation adds
a secret after its event: the old one still signs meanwhile, for its grace period)."""

ROTATION_WINDOW = timedelta(seconds=30)
"""After a rotation, the secrets are read at every batch for this long."""

Render = Callable[[TimelineRow], dict[str, Any]]
Disable = Callable[[UUID, str], Awaitable[int | None]]
"""Disables an endpoint; returns the position of the event that did it."""


@dataclass(frozen=True)
class Feed:
    """The timeline rows in (after, upto], every kind and partner, read once per wake by
    the dispatcher for the endpoints that are caught up."""

    after: int
    upto: int
    rows: list[TimelineRow]
    seen: int = 0
    """`Erasures.tick` when the rows were read."""
    bodies: dict[int, tuple[TimelineRow, str, bytes]] = field(default_factory=dict)
    """By position: a row of this read, its webhook-id and body as sent, rendered once
    for every endpoint that sends it (at most a batch of them: only rows in the range)."""

    def encoded(
        self, row: TimelineRow, encode: Callable[[TimelineRow], tuple[str, bytes]]
    ) -> tuple[str, bytes]:
        """`encode(row)`, once for this very row (a row read again, e.g. after an
        erasure, is another row: rendered anew)."""
        found = self.bodies.get(row.position)
        if found is not None and found[0] is row:
            return found[1], found[2]
        webhook_id, raw = encode(row)
        if self.after < row.position <= self.upto:
            self.bodies[row.position] = (row, webhook_id, raw)
        return webhook_id, raw


@dataclass
class Deps:
    """What every endpoint worker of a process shares."""

    store: DeliveryStore
    secrets: SecretStore
    waiter: ProjectionWaiter
    settings: Settings
    render: Render
    disable: Disable
    lookup: Callable[[UUID], EndpointRow | None]
    """The endpoint as the dispatcher last read it (None: deleted)."""
    where: Callable[[EndpointRow], Any]
    """The endpoint's partners filter compiled to SQL (None: no filter)."""
    feed: Callable[[], Feed | None]
    metrics: Metrics | None = None
    connection: Callable[[], Any] = lambda: None
    """The dispatcher's connection (that holds the locks), to record acknowledgements on;
    None: a pooled one."""
    erasures: Erasures = field(default_factory=Erasures)
    """The erasures this process was told of (app/webhooks/erasures.py)."""


class EndpointWorker:
    def __init__(self, deps: Deps, endpoint_id: UUID, wake: asyncio.Event) -> None:
        self.deps = deps
        self.endpoint_id = endpoint_id
        self.wake = wake
        self.session = Session()
        self._cursor: Cursor | None = None
        """Acknowledged in memory (this process holds the lock: nobody else moves it)."""
        self._attempts: list[dict[str, Any]] = []
        self._dirty = False
        """The cursor moved since it was written."""
        self._flushed_at = time.monotonic()
        self._recording: asyncio.Task[None] | None = None
        """A write started by `_record_soon`, while the sends go on."""
        self._signers: tuple[float, int, list[Webhook]] = (0.0, 0, [])
        self._unpruned = 0

    async def close(self) -> None:
        """Records what was acknowledged, closes the connection."""
        try:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flush())
        finally:
            await self.session.close()

    async def step(self) -> bool:
        """One batch (or a wait); False when the endpoint is gone or disabled."""
        self.wake.clear()
        endpoint = self.deps.lookup(self.endpoint_id)
        if endpoint is None:  # deleted: its cursor and attempts go with it
            self._attempts, self._dirty = [], False
            return False
        if not endpoint.enabled:
            await self._flush()
            return False
        cursor = self._cursor
        if cursor is None or cursor.replay_position != endpoint.replay_position:
            await self._flush()  # what came before the replay, then the replay moves it back
            cursor = self._cursor = await self.deps.store.cursor(endpoint)
        now = datetime.now(UTC)
        if cursor.next_attempt_at is not None and cursor.next_attempt_at > now:
            await sleep(self.wake, (cursor.next_attempt_at - now).total_seconds())
            return True
        upto, rows, complete, seen = await self._batch(endpoint, cursor)
        if upto <= cursor.position:
            await self._idle()
            return True
        enabled, whole = await self._send(endpoint, rows, seen)
        done = self._cursor
        complete = complete and whole
        if enabled and complete and done is not None and (done.failures == 0 or not rows):
            # Every event it wants up to `upto` was in the batch, and acknowledged (or it
            # wants none: a failing event its new kinds or filter leave out is not retried).
            self._advance(replace(done, position=upto, failures=0, next_attempt_at=None))
        if time.monotonic() - self._flushed_at > FLUSH_SECONDS:
            self._record_soon()
        return enabled

    async def _batch(
        self, endpoint: EndpointRow, cursor: Cursor
    ) -> tuple[int, list[TimelineRow], bool, int]:
        """Up to where it looked, the rows it wants there, whether they are all of them,
        and the `Erasures.tick` they were read at."""
        feed = self.deps.feed()
        erasures = self.deps.erasures
        if feed is not None and feed.after == cursor.position and endpoint.filter is None:
            kinds = endpoint.event_kinds
            rows = [r for r in feed.rows if kinds is None or r.kind in kinds]
            if not any(erasures.stale(r, feed.seen) for r in rows):
                return feed.upto, rows, True, feed.seen
        # Up to where the feed ends, so that the next wake's feed starts at the cursor.
        upto = feed.upto if feed is not None else self.deps.waiter.position
        seen = erasures.tick
        if upto <= cursor.position:
            return upto, [], True, seen
        limit = self.deps.settings.webhook_batch_size
        rows = await self.deps.store.pending(
            endpoint.event_kinds, cursor.position, upto, self.deps.where(endpoint), limit
        )
        return upto, rows, len(rows) < limit, seen

    async def _idle(self) -> None:
        """Waits for a wake; records the acknowledgements first if none comes in time."""
        if self._dirty or self._attempts:
            await sleep(self.wake, FLUSH_SECONDS - (time.monotonic() - self._flushed_at))
            if self.wake.is_set():
                return
            await self._flush()
        await sleep(self.wake, IDLE)

    def _advance(self, cursor: Cursor) -> None:
        self._cursor = cursor
        self._dirty = True

    async def _send(
        self, endpoint: EndpointRow, rows: list[TimelineRow], seen: int
    ) -> tuple[bool, bool]:
        """Sends `rows` (read at tick `seen`) in order until one fails: whether the
        endpoint is still enabled, and whether every row was tried. It stops before a
        row whose person was erased since it was read, once the read models show the
        erasure: the next batch reads that row again, scrubbed."""
        signers = await self._signing(endpoint)
        for row in rows:
            erased = self.deps.erasures.stale(row, seen)
            if erased is not None:
                await self._until_scrubbed(erased)
                return True, False
            if time.monotonic() - self._flushed_at > FLUSH_SECONDS:
                self._record_soon()  # a long batch (a slow receiver) records as it goes
            assert self._cursor is not None
            outcome, attempt = await self._deliver(endpoint, row, self._cursor.failures, signers)
            self._attempts.append(attempt)
            if outcome.ok:
                self._advance(Cursor(row.position, self._cursor.replay_position, 0, None))
                continue
            return await self._failed(endpoint, row, attempt, outcome), True
        return True, True

    async def _until_scrubbed(self, partner_id: UUID) -> None:
        """Waits (as the projections move) until the read models show the erasure."""
        waiter = self.deps.waiter
        while not await self.deps.store.erasure_projected(partner_id):
            await waiter.wait_for(waiter.position + 1, within=IDLE)
        self.deps.erasures.scrubbed(partner_id)

    async def _failed(
        self, endpoint: EndpointRow, row: TimelineRow, attempt: dict[str, Any], outcome: Outcome
    ) -> bool:
        """Records the failure at once; disables the endpoint after its last attempt."""
        s = self.deps.settings
        assert self._cursor is not None
        tries = self._cursor.failures + 1
        if tries < s.webhook_max_attempts:
            next_at = datetime.now(UTC) + timedelta(seconds=backoff(s, tries))
            attempt["next_attempt_at"] = next_at
            self._advance(replace(self._cursor, failures=tries, next_attempt_at=next_at))
            await self._flush()
            return True
        self._advance(replace(self._cursor, failures=0, next_attempt_at=None))
        await self._flush()
        why = f"{tries} attempts of the event at position {row.position} failed; last: {outcome.error}"
        position = await self.deps.disable(endpoint.id, why)
        # Served again only once enabled: wait until the read model says it is off.
        await self.deps.waiter.wait_for(position, within=10.0)
        return False

    async def _deliver(
        self, endpoint: EndpointRow, row: TimelineRow, failures: int, signers: list[Webhook]
    ) -> tuple[Outcome, dict[str, Any]]:
        """One attempt of one event, and its record."""
        s = self.deps.settings
        feed = self.deps.feed()
        webhook_id, raw = feed.encoded(row, self._encode) if feed else self._encode(row)
        outcome = await self.session.post(
            endpoint.url,
            signed_headers(signers, webhook_id, raw),
            raw,
            within=s.webhook_timeout_seconds,
            response_cap=s.webhook_response_bytes,
            allow_private=s.webhooks_allow_private,
        )
        self._count(outcome)
        return outcome, {
            "endpoint_id": endpoint.id,
            "position": row.position,
            "webhook_id": webhook_id,
            "kind": row.kind,
            "attempt": failures + 1,
            "status": outcome.status,
            "duration_ms": outcome.duration_ms,
            "error": outcome.error,
            "next_attempt_at": None,
        }

    def _encode(self, row: TimelineRow) -> tuple[str, bytes]:
        body = self.deps.render(row)
        return str(body["eventId"]), encode(body, self.deps.settings.webhook_max_body_bytes)

    def _record_soon(self) -> None:
        """Starts writing what was acknowledged, in the background: a send never waits
        for the database (one write at a time; the failure of the last one is raised
        here, and the worker starts again from the recorded cursor)."""
        last = self._recording
        if last is not None:
            if not last.done():
                return
            self._recording = None
            last.result()
        self._recording = asyncio.create_task(self._write(), name="webhook-record")

    async def _flush(self) -> None:
        """Writes what was acknowledged now (after a write in the background ends)."""
        last, self._recording = self._recording, None
        if last is not None:
            await last
        await self._write()

    async def _write(self) -> None:
        """Writes the cursor and the attempts since the last write (one statement); the
        oldest attempts are dropped once a tenth of the kept number came in."""
        if self._cursor is None or not (self._dirty or self._attempts):
            return
        attempts, cursor = self._attempts, self._cursor
        self._attempts = []
        keep = self.deps.settings.webhook_attempts_kept
        prune = self._unpruned + len(attempts) >= max(1, keep // 10)
        try:
            await self.deps.store.acknowledge(
                self.endpoint_id, cursor, attempts, keep if prune else None, self.deps.connection()
            )
        except BaseException:
            self._attempts = attempts + self._attempts
            raise
        self._unpruned = 0 if prune else self._unpruned + len(attempts)
        self._dirty = self._cursor is not cursor
        self._flushed_at = time.monotonic()

    async def _signing(self, endpoint: EndpointRow) -> list[Webhook]:
        """The endpoint's signers, read again after SECRETS_SECONDS, when its version
        changed, and at every batch for a while after a rotation (the new secret is
        stored just after the rotation's event: it must sign as soon as it is there)."""
        read_at, version, signers = self._signers
        rotated = endpoint.secret_rotated_at
        recent = rotated is not None and datetime.now(UTC) - rotated < ROTATION_WINDOW
        if (
            not signers
            or recent
            or version != endpoint.version
            or time.monotonic() - read_at > SECRETS_SECONDS
        ):
            signers = [Webhook(s) for s in await self.deps.secrets.signing(endpoint.id)]
            self._signers = (time.monotonic(), endpoint.version, signers)
        return signers

    def _count(self, outcome: Outcome) -> None:
        metrics = self.deps.metrics
        if metrics is None:
            return
        metrics.webhook_attempts.labels("delivered" if outcome.ok else "failed").inc()
        metrics.webhook_duration.observe(outcome.duration_ms / 1000)


async def sleep(wake: asyncio.Event, seconds: float) -> None:
    """Until `wake` is set, or `seconds` have passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, seconds)):
            await wake.wait()
