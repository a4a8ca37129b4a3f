"""The webhook delivery worker of one process. It follows the log the way the projector
does: per endpoint one worker at a time across processes (a PostgreSQL advisory lock, held
on one connection of this process), woken when the projections move (NOTIFY), reading the
timeline rows after the endpoint's acknowledged position, in order (app/webhooks/endpoint.py).
An event is sent until a 2xx acknowledges it; a failure waits (exponential backoff with
jitter) and blocks the events after it, so each endpoint gets its events in log order, at
least once; after the last attempt the endpoint is disabled with the reason. The body is
built at send time from the read model: a person erased before then leaves nothing
personal in it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
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
_LOCK = "SELECT pg_try_advisory_lock(hashtext('partnerbook:webhooks'), hashtext(%s))"
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
        )
        self.feed: Feed | None = None
        """The rows of the last wake, for the endpoints that are caught up."""
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
            await asyncio.gather(self._claim(locks), self._read_feed())
            for _, wake in self.serving.values():
                wake.set()
            await self.waiter.wait_for(seen + 1, within=IDLE)
            seen = self.waiter.position

    async def _read_feed(self) -> None:
        """The timeline rows since the last wake, once for every endpoint served here."""
        upto = self.waiter.position
        after = self.feed.upto if self.feed is not None else upto
        if not self.serving or upto <= after:
            self.feed = Feed(upto, upto, []) if self.feed is None else self.feed
            return
        limit = self.deps.settings.webhook_batch_size
        rows = await self.deps.store.pending(None, after, upto, None, limit)
        # A full batch is complete up to its last row only.
        self.feed = Feed(after, rows[-1].position if len(rows) == limit else upto, rows)

    async def _claim(self, locks: psycopg.AsyncConnection[Any]) -> None:
        for ident in [i for i, (task, _) in self.serving.items() if task.done()]:
            self.serving.pop(ident)
            await locks.execute(_UNLOCK, (str(ident),))
        await locks.execute("SELECT 1")  # the locks are this connection's: is it alive?
        found = await self.deps.store.endpoints()
        self.endpoints.clear()
        self.endpoints.update((e.id, e) for e in found)
        for endpoint in found:
            if not endpoint.enabled or endpoint.id in self.serving:
                continue
            cur = await locks.execute(_LOCK, (str(endpoint.id),))
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
        worker = EndpointWorker(self.deps, endpoint_id, wake)
        try:
            while True:
                try:
                    if not await worker.step():
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhook endpoint %s: delivery failed; retrying", endpoint_id)
                    await worker.close()
                    worker = EndpointWorker(self.deps, endpoint_id, wake)  # cursor read again
                    await sleep(wake, RECONNECT_MAX)
        finally:
            await worker.close()
