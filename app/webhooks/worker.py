"""The webhook delivery worker of one process. It follows the log the way the projector
does: per endpoint one worker at a time across processes (a PostgreSQL advisory lock, held
on one connection of this process), woken when the projections move (NOTIFY), reading the
timeline rows after the endpoint's acknowledged position, in order. An event is sent until
a 2xx acknowledges it; a failure waits (exponential backoff with jitter) and blocks the
events after it, so each endpoint gets its events in log order, at least once; after the
last attempt the endpoint is disabled with the reason. The body is built at send time from
the read model: a person erased before then leaves nothing personal in it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import Composable
from standardwebhooks import Webhook

from app.infra.positions import ProjectionWaiter
from app.infra.webhook_secrets import SecretStore
from app.observability import Metrics
from app.queries.timeline_queries import TimelineRow
from app.settings import Settings
from app.webhooks import sender
from app.webhooks.store import DeliveryStore, EndpointRow

log = logging.getLogger(__name__)
BATCH = 100
IDLE = 5.0
"""Seconds an idle endpoint worker waits before it looks again (a safety net: the
projections' NOTIFY wakes it)."""
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0

Render = Callable[[TimelineRow], dict[str, Any]]
CompileWhere = Callable[[dict[str, Any]], Composable]
Disable = Callable[[UUID, str], Awaitable[int | None]]
"""Disables an endpoint; returns the position of the event that did it."""


def backoff(settings: Settings, failures: int) -> float:
    """Seconds to wait after the `failures`-th failure: doubling, capped, ±20 % jitter."""
    base = settings.webhook_backoff_seconds * 2 ** min(failures - 1, 40)
    jitter: float = random.uniform(0.8, 1.2)
    return float(min(base, settings.webhook_backoff_max_seconds)) * jitter


def encode(body: dict[str, Any], limit: int) -> bytes:
    """The body as sent; over `limit` bytes, the event's values are left out (it says so)."""
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    if len(raw) <= limit:
        return raw
    entry = body["data"]["timeline"]
    trimmed = {**body, "truncated": True, "data": {"timeline": {**entry, "changes": {}}}}
    raw = json.dumps(trimmed, separators=(",", ":"), default=str).encode()
    if len(raw) <= limit:
        return raw
    entry = {**entry, "changes": {}, "summary": "", "reason": None}
    return json.dumps({**trimmed, "data": {"timeline": entry}}, default=str).encode()


def signed_headers(secrets: list[str], webhook_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers; every secret that signs now signs (a rotation)."""
    now = datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(webhook_id, now, body) for s in secrets)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


class WebhookDispatcher:
    def __init__(
        self,
        conninfo: str,
        store: DeliveryStore,
        secrets: SecretStore,
        waiter: ProjectionWaiter,
        settings: Settings,
        render: Render,
        compile_where: CompileWhere,
        disable: Disable,
        metrics: Metrics | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.store = store
        self.secrets = secrets
        self.waiter = waiter
        self.settings = settings
        self.render = render
        self.compile_where = compile_where
        self.disable = disable
        self.metrics = metrics
        self.serving: dict[UUID, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = RECONNECT_MIN
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as locks:
                    delay = RECONNECT_MIN
                    await self._dispatch(locks)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhook dispatcher lost its database; retrying", exc_info=True)
            finally:
                await self._stop_all()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    async def _dispatch(self, locks: psycopg.AsyncConnection[Any]) -> None:
        """Takes the endpoints no other process serves, wakes them as the log moves."""
        seen = self.waiter.position
        while True:
            await self._claim(locks)
            await self.waiter.wait_for(seen + 1, within=IDLE)
            seen = self.waiter.position
            for _, wake in self.serving.values():
                wake.set()

    async def _claim(self, locks: psycopg.AsyncConnection[Any]) -> None:
        for ident in [i for i, (task, _) in self.serving.items() if task.done()]:
            self.serving.pop(ident)
            await locks.execute(
                "SELECT pg_advisory_unlock(hashtext('partnerbook:webhooks'), hashtext(%s))",
                (str(ident),),
            )
        await locks.execute("SELECT 1")  # the locks are this connection's: is it alive?
        for endpoint in await self.store.endpoints():
            if not endpoint.enabled or endpoint.id in self.serving:
                continue
            cur = await locks.execute(
                "SELECT pg_try_advisory_lock(hashtext('partnerbook:webhooks'), hashtext(%s))",
                (str(endpoint.id),),
            )
            row = await cur.fetchone()
            if row is not None and row[0]:
                wake = asyncio.Event()
                task = asyncio.create_task(self._serve(endpoint.id, wake), name="webhook")
                self.serving[endpoint.id] = (task, wake)

    async def _stop_all(self) -> None:
        tasks = [task for task, _ in self.serving.values()]
        self.serving.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, endpoint_id: UUID, wake: asyncio.Event) -> None:
        while True:
            try:
                if not await self._serve_once(endpoint_id, wake):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook endpoint %s: delivery failed; retrying", endpoint_id)
                await _sleep(wake, RECONNECT_MAX)

    async def _serve_once(self, endpoint_id: UUID, wake: asyncio.Event) -> bool:
        """One batch; False when the endpoint is gone or disabled."""
        wake.clear()
        found = await self.store.endpoints([endpoint_id])
        if not found or not found[0].enabled:
            return False
        endpoint = found[0]
        cursor = await self.store.cursor(endpoint)
        now = datetime.now(UTC)
        if cursor.next_attempt_at is not None and cursor.next_attempt_at > now:
            await _sleep(wake, (cursor.next_attempt_at - now).total_seconds())
            return True
        upto = self.waiter.position
        where = self.compile_where(endpoint.filter) if endpoint.filter else None
        rows = await self.store.pending(endpoint, cursor.position, upto, where, BATCH)
        if not rows:
            if upto > cursor.position:
                await self.store.advance(endpoint.id, upto)
            await _sleep(wake, IDLE)
            return True
        secrets = await self.secrets.signing(endpoint.id)
        failures = cursor.failures
        for row in rows:
            if not await self._deliver(endpoint, row, failures, secrets):
                break
            failures = 0
        return True

    async def _deliver(
        self, endpoint: EndpointRow, row: TimelineRow, failures: int, secrets: list[str]
    ) -> bool:
        """One attempt of one event; whether it was acknowledged."""
        s = self.settings
        body = self.render(row)
        webhook_id = str(body["eventId"])
        raw = encode(body, s.webhook_max_body_bytes)
        outcome = await sender.post(
            endpoint.url,
            signed_headers(secrets, webhook_id, raw),
            raw,
            within=s.webhook_timeout_seconds,
            response_cap=s.webhook_response_bytes,
            allow_private=s.webhooks_allow_private,
        )
        attempt = failures + 1
        next_at: datetime | None = None
        if outcome.ok:
            await self.store.advance(endpoint.id, row.position)
        elif attempt >= s.webhook_max_attempts:
            await self.store.failed(endpoint.id, 0, None)
            why = f"{attempt} attempts of the event at position {row.position} failed; last: {outcome.error}"
            position = await self.disable(endpoint.id, why)
            # Served again only once enabled: wait until the read model says it is off.
            await self.waiter.wait_for(position, within=10.0)
        else:
            next_at = datetime.now(UTC) + timedelta(seconds=backoff(s, attempt))
            await self.store.failed(endpoint.id, attempt, next_at)
        await self.store.record(
            {
                "endpoint_id": endpoint.id,
                "position": row.position,
                "webhook_id": webhook_id,
                "kind": row.kind,
                "attempt": attempt,
                "status": outcome.status,
                "duration_ms": outcome.duration_ms,
                "error": outcome.error,
                "next_attempt_at": next_at,
            },
            s.webhook_attempts_kept,
        )
        self._count(outcome)
        return outcome.ok

    def _count(self, outcome: sender.Outcome) -> None:
        if self.metrics is None:
            return
        self.metrics.webhook_attempts.labels("delivered" if outcome.ok else "failed").inc()
        self.metrics.webhook_duration.observe(outcome.duration_ms / 1000)


async def _sleep(wake: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, seconds)):
            await wake.wait()
