"""One endpoint's delivery loop, run while this process holds the endpoint's advisory
lock. It reads the events after its acknowledged position in batches (one query), sends
them one at a time over a kept-alive connection, and stops a batch at the first failure
(order: nothing after an event is sent before a 2xx acknowledged it). The cursor and the
attempts are written once per batch, in one transaction, or sooner when a batch runs
long (docs/webhooks.md, "What a crash re-sends"): the cursor never passes an event
without a 2xx, so a crash re-sends only events whose 2xx came but was not yet recorded."""

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
from app.webhooks.sender import Outcome, Session
from app.webhooks.signing import backoff, encode, signed_headers
from app.webhooks.store import Cursor, DeliveryStore, EndpointRow

IDLE = 5.0
"""Seconds an idle endpoint worker waits before it looks again (a safety net: the
projections' NOTIFY wakes it)."""
FLUSH_SECONDS = 1.0
"""A batch that runs longer than this records what was acknowledged so far."""
SECRETS_SECONDS = 1.0
"""How long the signing secrets are reused before they are read again (a rotation adds
a secret after its event: the old one still signs meanwhile, for its grace period)."""

Render = Callable[[TimelineRow], dict[str, Any]]
Disable = Callable[[UUID, str], Awaitable[int | None]]
"""Disables an endpoint; returns the position of the event that did it."""


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
    metrics: Metrics | None = None


@dataclass
class _Batch:
    """What one pass acknowledged and tried, not yet written."""

    cursor: Cursor
    attempts: list[dict[str, Any]] = field(default_factory=list)
    flushed_at: float = field(default_factory=time.monotonic)


class EndpointWorker:
    def __init__(self, deps: Deps, endpoint_id: UUID, wake: asyncio.Event) -> None:
        self.deps = deps
        self.endpoint_id = endpoint_id
        self.wake = wake
        self.session = Session()
        self._cursor: Cursor | None = None
        self._signers: tuple[float, list[Webhook]] = (0.0, [])
        self._unpruned = 0

    async def close(self) -> None:
        await self.session.close()

    async def step(self) -> bool:
        """One batch (or a wait); False when the endpoint is gone or disabled."""
        self.wake.clear()
        endpoint = self.deps.lookup(self.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return False
        cursor = self._cursor
        if cursor is None or cursor.replay_position != endpoint.replay_position:
            cursor = self._cursor = await self.deps.store.cursor(endpoint)
        now = datetime.now(UTC)
        if cursor.next_attempt_at is not None and cursor.next_attempt_at > now:
            await sleep(self.wake, (cursor.next_attempt_at - now).total_seconds())
            return True
        upto = self.deps.waiter.position
        if upto <= cursor.position:
            await sleep(self.wake, IDLE)
            return True
        limit = self.deps.settings.webhook_batch_size
        rows = await self.deps.store.pending(
            endpoint, cursor.position, upto, self.deps.where(endpoint), limit
        )
        batch = _Batch(cursor)
        try:
            enabled = await self._send(endpoint, rows, batch)
            if not rows or (enabled and len(rows) < limit and batch.cursor.failures == 0):
                # Every event it wants up to `upto` was in the batch, and acknowledged.
                batch.cursor = replace(
                    batch.cursor, position=upto, failures=0, next_attempt_at=None
                )
        finally:
            # Whatever was acknowledged is recorded, even when the batch is cancelled.
            await asyncio.shield(self._flush(batch))
        return enabled

    async def _send(self, endpoint: EndpointRow, rows: list[TimelineRow], batch: _Batch) -> bool:
        """Sends `rows` in order until one fails; False when that disabled the endpoint."""
        signers = await self._signing(endpoint.id)
        for row in rows:
            if time.monotonic() - batch.flushed_at > FLUSH_SECONDS:
                await self._flush(batch)
            outcome, attempt = await self._deliver(endpoint, row, batch.cursor.failures, signers)
            batch.attempts.append(attempt)
            if outcome.ok:
                batch.cursor = replace(
                    batch.cursor, position=row.position, failures=0, next_attempt_at=None
                )
                continue
            return await self._failed(endpoint, row, batch, attempt, outcome)
        return True

    async def _failed(
        self,
        endpoint: EndpointRow,
        row: TimelineRow,
        batch: _Batch,
        attempt: dict[str, Any],
        outcome: Outcome,
    ) -> bool:
        s = self.deps.settings
        tries = batch.cursor.failures + 1
        if tries < s.webhook_max_attempts:
            next_at = datetime.now(UTC) + timedelta(seconds=backoff(s, tries))
            attempt["next_attempt_at"] = next_at
            batch.cursor = replace(batch.cursor, failures=tries, next_attempt_at=next_at)
            return True
        batch.cursor = replace(batch.cursor, failures=0, next_attempt_at=None)
        await self._flush(batch)
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
        body = self.deps.render(row)
        webhook_id = str(body["eventId"])
        raw = encode(body, s.webhook_max_body_bytes)
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

    async def _flush(self, batch: _Batch) -> None:
        """Writes the cursor and the attempts since the last flush (one transaction);
        the oldest attempts are dropped once a tenth of the kept number came in."""
        keep = self.deps.settings.webhook_attempts_kept
        self._unpruned += len(batch.attempts)
        prune = self._unpruned >= max(1, keep // 10)
        await self.deps.store.acknowledge(
            self.endpoint_id, batch.cursor, batch.attempts, keep if prune else None
        )
        if prune:
            self._unpruned = 0
        self._cursor = batch.cursor
        batch.attempts = []
        batch.flushed_at = time.monotonic()

    async def _signing(self, endpoint_id: UUID) -> list[Webhook]:
        read_at, signers = self._signers
        if not signers or time.monotonic() - read_at > SECRETS_SECONDS:
            signers = [Webhook(s) for s in await self.deps.secrets.signing(endpoint_id)]
            self._signers = (time.monotonic(), signers)
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
