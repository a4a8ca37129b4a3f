"""Each API key's share of a process's read pool.

The read pool (PARTNERBOOK_DB_POOL_SIZE connections) is first come, first served, and a
request runs its statements at once: 30 aliases are 30 statements (a page's count 30
more). One key sending a few such requests, each cheap by the cost walk, queued every
other client's reads behind them: a plain `partner(id)` of another key went from 18 ms
to 10 s, or DATABASE_UNAVAILABLE once the pool's timeout passed. So the reads of one key
hold at most PARTNERBOOK_READ_SHARE_PER_KEY connections at a time (half the pool by
default); its other statements wait for its share, not for the pool, and answer BUSY if
they wait past the pool's timeout. Reads of no key (the projector's positions, the
subscription hub's shared feed, webhooks) take no share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar

READ_KEY: ContextVar[str | None] = ContextVar("partnerbook_read_key", default=None)
"""The API key whose reads these are: set where a request or a WebSocket connection is
authenticated (a connection's operations inherit it)."""


class ReadShareBusy(RuntimeError):
    """A statement waited past the pool's timeout for its key's share of the pool."""


@contextlib.contextmanager
def reading_for(key: object | None) -> Iterator[None]:
    token = READ_KEY.set(None if key is None else str(key))
    try:
        yield
    finally:
        READ_KEY.reset(token)


class KeyShares:
    """A semaphore of `size` places per API key (None: no share, every read takes a
    connection as it comes). Also each key's share of the subscriptions that replay the
    log at once (app/schema/live/subscriptions.py), and of the threads that run its
    commands (`Context.run`)."""

    def __init__(self, size: int | None) -> None:
        self.size = size
        self.waiting = 0
        """Those waiting for their key's share now (reads, or replays): a gauge."""
        self._shares: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def held(self, timeout: float | None) -> AsyncIterator[None]:  # noqa: ASYNC109
        key = READ_KEY.get()
        if key is None or self.size is None:
            yield
            return
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = asyncio.Semaphore(self.size)
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await share.acquire()
        except TimeoutError:
            raise ReadShareBusy(
                f"this API key's reads hold {self.size} connections of the pool, the most "
                f"they may, and this one waited {timeout} s for one"
            ) from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            share.release()


def share_size(setting: int | None, pool_size: int) -> int:
    """The share of each key: the setting, or half the pool; never more than the pool."""
    return min(pool_size, setting if setting is not None else max(1, pool_size // 2))
