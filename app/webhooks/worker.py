"""The webhook delivery worker of one process. It follows the log the way the projector
does: per endpoint one worker at a time across processes (a PostgreSQL advisory lock, held
on one connection of this process), woken when the projections move (NOTIFY), reading the
timeline rows after the endpoint's acknowledged position, in order (app/webhooks/endpoint.py).
A wake costs one statement on the locks' connection (the new rows for every endpoint and
a fingerprint of the endpoints: they are read again only when it changed); the workers
record their acknowledgements on that connection too, so a process whose locks went with
their connection records nothing more there.
An event is sent until a 2xx acknowledges it; a failure waits (exponential backoff with
jitter) and blocks the events after it, so each endpoint gets its events in log order, at
least once; after the last attempt the endpoint is disabled with the reason. The body is
built at send time from the read model: a person erased before then leaves nothing
personal in it (a row read before the erasure is read again: app/webhooks/erasures.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import Composable

from app.infra.positions import ProjectionWaiter
from app.infra.webhook_secrets import SecretStore
from app.observability import Metrics
from app.settings import Settings
from app.webhooks.endpoint import IDLE, Deps, Disable, EndpointWorker, Feed, Render, sleep
from app.webhooks.store import DeliveryStore, EndpointRow

log = logging.getLogger(__name__)
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0
_LOCK = (
    "SELECT id::uuid, pg_try_advisory_lock(hashtext('partnerbook:webhooks'), hashtext(id)) "
    "FROM unnest(%s::text[]) AS id"
)
CLAIM_SECONDS = 1.0
"""How often the endpoints that another process serves are tried again (it may have
stopped); at once when the endpoints changed."""
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('partnerbook:webhooks'), hashtext(%s))"

CompileWhere = Callable[[dict[str, Any]], Composable]


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
        self.waiter = waiter
        self.endpoints: dict[UUID, EndpointRow] = {}
        """Every endpoint, as last read (on each wake)."""
        self.deps = Deps(
            store,
            secrets,
            waiter,
            settings,
            render,
            disable,
            self.endpoints.get,
            lambda e: compile_where(e.filter) if e.filter else None,
            lambda: self.feed,
            metrics,
            self._connection,
        )
        self.feed: Feed | None = None
        """The rows of the last wake, for the endpoints that are caught up."""
        self.serving: dict[UUID, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._locks: psycopg.AsyncConnection[Any] | None = None
        self._stamp: str | None = None
        """The endpoints' fingerprint when they were last read."""
        self._claimed_at = 0.0

    def erased(self, partner_id: UUID) -> None:
        """The notice of a person's erasure (every process gets it before
        `anonymizePartner` answers): rows about it read before go out only read again.
        An endpoint's text may have named the person (its filter, description, the
        reason it was disabled): the endpoints as read before are dropped, each paused
        until the next wake reads them again (the erasure resealed them before)."""
        self.deps.erasures.erased(partner_id)
        self.endpoints.update((i, _paused(e)) for i, e in list(self.endpoints.items()))
        self._stamp = None
        # Nor are the rows read before kept, in the last wake's feed or in a batch a
        # worker is sending: the workers stop (recording what was acknowledged) and are
        # started again once the endpoints are read again, each reading its batch again.
        self.feed = None
        for task, _ in self.serving.values():
            task.cancel()

    def _connection(self) -> psycopg.AsyncConnection[Any] | None:
        locks = self._locks
        return locks if locks is not None and not locks.closed else None

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
                    # The acknowledgements written on it do not wait for the WAL flush
                    # (docs/webhooks.md, "What a crash re-sends").
                    await locks.execute("SET synchronous_commit = off")
                    self._locks, self._stamp = locks, None
                    try:
                        await self._dispatch(locks)
                    finally:
                        await self._stop_all()  # they record what they acknowledged first
                        self._locks = None
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
            await self._look(locks)
            for _, wake in self.serving.values():
                wake.set()
            await self.waiter.wait_for(seen + 1, within=IDLE)
            seen = self.waiter.position

    async def _look(self, locks: psycopg.AsyncConnection[Any]) -> None:
        """The timeline rows since the last wake, once for every endpoint served here
        (for them all, a failure of the locks' connection ends here), the endpoints when
        they changed, and the claims."""
        upto = self.waiter.position
        after = self.feed.upto if self.feed is not None else upto
        reading = bool(self.serving) and upto > after
        limit = self.deps.settings.webhook_batch_size
        seen = self.deps.erasures.tick
        stamp, rows = await self.deps.store.wake(locks, after if reading else upto, upto, limit)
        if self.deps.erasures.tick != seen:  # an erasure came while they were read: dropped
            rows, reading, self.feed = [], False, None
        if reading:
            # A full batch is complete up to its last row only.
            last = rows[-1].position if len(rows) == limit else upto
            self.feed = Feed(after, last, rows, seen)
        elif self.feed is None:
            self.feed = Feed(upto, upto, [])
        changed = stamp != self._stamp
        if changed:
            seen = self.deps.erasures.tick
            found = await self.deps.store.endpoints()
            if self.deps.erasures.tick != seen:
                # Read before an erasure's notice, which dropped what was read: their text
                # may name the person. They stay paused; the next wake reads them again.
                return
            self.endpoints.clear()
            self.endpoints.update((e.id, e) for e in found)
            self._stamp = stamp
        await self._claim(locks, changed)

    async def _claim(self, locks: psycopg.AsyncConnection[Any], changed: bool) -> None:
        ended = [i for i, (task, _) in self.serving.items() if task.done()]
        for ident in ended:
            self.serving.pop(ident)
            await locks.execute(_UNLOCK, (str(ident),))
        wanted = [i for i, e in self.endpoints.items() if e.enabled and i not in self.serving]
        due = time.monotonic() - self._claimed_at >= CLAIM_SECONDS
        if not wanted or not (changed or ended or due):
            return
        self._claimed_at = time.monotonic()
        cur = await locks.execute(_LOCK, ([str(i) for i in wanted],))
        for ident, got in await cur.fetchall():
            if got:
                wake = asyncio.Event()
                task = asyncio.create_task(self._serve(ident, wake), name="webhook")
                self.serving[ident] = (task, wake)

    async def _stop_all(self) -> None:
        tasks = [task for task, _ in self.serving.values()]
        self.serving.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, endpoint_id: UUID, wake: asyncio.Event) -> None:
        worker = EndpointWorker(self.deps, endpoint_id, wake)
        try:
            while True:
                try:
                    if not await worker.step():
                        return
                except asyncio.CancelledError as stopped:
                    # The task keeps its cancellation, whose frames held the batch's rows.
                    traceback.clear_frames(stopped.__traceback__)
                    raise
                except Exception:
                    log.exception("webhook endpoint %s: delivery failed; retrying", endpoint_id)
                    await worker.close()
                    worker = EndpointWorker(self.deps, endpoint_id, wake)  # cursor read again
                    await sleep(wake, RECONNECT_MAX)
        finally:
            await worker.close()


def _paused(endpoint: EndpointRow) -> EndpointRow:
    """The endpoint without its text, not served until read again."""
    return replace(endpoint, description=None, filter=None, disabled_reason=None, enabled=False)
