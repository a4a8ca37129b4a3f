"""Notices between the processes of one installation (PostgreSQL LISTEN/NOTIFY): a data
key erased, an API key revoked. The sender waits until every listening process confirmed
it acted on the notice, so that when a command answers, no process still holds what the
command withdrew."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

KEY_ERASED = "partnerbook_key_erased"
"""Payload subject: the partner id whose data key was erased."""
SETTING_KEY_ERASED = "partnerbook_setting_key_erased"
"""Payload subject: the id of a setting's data key that was erased (a deleted segment's,
one an erasure replaced): processes drop the key, nothing else (a person's erasure
follows with its own notice when one is under way)."""
API_KEY_REVOKED = "partnerbook_api_key_revoked"
"""Payload subject: the id of the revoked API key."""
CONFIRMED = "partnerbook_notice_confirmed"
"""A listener's answer: `<token> <listener name>`."""
LISTENER_PREFIX = "partnerbook-listener:"
"""The `application_name` of every listening connection: how a sender knows whom to wait for."""
CONFIRM_WITHIN = 5.0
"""How long a sender waits for the confirmations (a process that is stuck must not hold
an erasure forever: it is then named in a warning)."""
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0

T = TypeVar("T")
Handler = Callable[[str], Awaitable[None] | None]
Hook = Callable[[], Awaitable[None] | None]


def publish(
    conn: psycopg.Connection[Any],
    channel: str,
    change: Callable[[psycopg.Cursor[Any]], T],
    subject: Callable[[T], str],
    committed: Callable[[T], None] = lambda _: None,
    within: float = CONFIRM_WITHIN,
) -> T:
    """Runs `change` and the NOTIFY of `subject(what it returned)` in one transaction on
    `conn` (an autocommit connection), then `committed` (the sender's own part), then
    waits until every process listening at the commit confirmed it (or `within` seconds
    pass). Returns what `change` returned; if it raises, nothing is sent."""
    conn.execute(SQL("LISTEN {}").format(Identifier(CONFIRMED)))
    try:
        with conn.transaction():
            cur = conn.cursor(row_factory=tuple_row)
            result = change(cur)
            token = uuid.uuid4().hex
            cur.execute("SELECT pg_notify(%s, %s)", (channel, f"{token} {subject(result)}"))
            # The listeners that will receive it: those already LISTENing at our commit.
            # (A listener names itself only once it listens; one connecting later starts
            # with an empty cache.)
            expected = _listeners(cur)
        committed(result)
        waiting = _await_confirmations(conn, token, expected, within)
    finally:
        conn.execute(SQL("UNLISTEN {}").format(Identifier(CONFIRMED)))
    if waiting:
        log.warning(
            "%d process(es) did not confirm the %s notice within %.0f s: %s",
            len(waiting),
            channel,
            within,
            ", ".join(sorted(waiting)),
        )
    return result


def _listeners(cur: psycopg.Cursor[Any]) -> set[str]:
    cur.execute(
        "SELECT application_name FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name LIKE %s",
        (LISTENER_PREFIX + "%",),
    )
    return {str(row[0]) for row in cur.fetchall()}


def _await_confirmations(
    conn: psycopg.Connection[Any], token: str, expected: set[str], within: float
) -> set[str]:
    """The listeners that neither confirmed nor went away within `within` seconds."""
    waiting = set(expected)
    deadline = time.monotonic() + within
    while waiting and (left := deadline - time.monotonic()) > 0:
        for notify in conn.notifies(timeout=min(left, 0.5)):
            answered, _, name = notify.payload.partition(" ")
            if answered == token:
                waiting.discard(name)
            if not waiting:
                return waiting
        # A listener whose connection ended will never answer; its process starts again
        # from an empty cache when it reconnects, so it is not waited for.
        waiting &= _listeners(conn.cursor(row_factory=tuple_row))
    return waiting


class NoticeListener:
    """The one LISTEN connection of a process: calls the handler of each channel (for a
    published notice, then confirms it to the sender). While the connection is down
    nothing is known about what changed: `when_lost` hooks run at once (caches stop
    trusting themselves), `when_connected` hooks run on every (re)connection before
    notices are taken. Reconnects with backoff (0.5 s doubling to 5 s)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.name = f"{LISTENER_PREFIX}{uuid.uuid4().hex[:16]}"
        self.live = False
        self._handlers: dict[str, list[Handler]] = {}
        self._confirmed: set[str] = set()
        self.when_connected_hooks: list[Hook] = []
        self.when_lost_hooks: list[Hook] = []
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def on(self, channel: str, handler: Handler, *, confirm: bool = True) -> None:
        """`handler(subject)` for each notice `publish` sends on `channel`; with
        `confirm=False`, `handler(payload)` for a plain NOTIFY, confirmed to nobody. A
        channel may have several handlers (each called, in order); one taken after
        `start` hears a channel only if one taken before it opened the channel."""
        self._handlers.setdefault(channel, []).append(handler)
        if confirm:
            self._confirmed.add(channel)

    def when_connected(self, hook: Hook) -> None:
        self.when_connected_hooks.append(hook)

    def when_lost(self, hook: Hook) -> None:
        self.when_lost_hooks.append(hook)

    async def start(self, wait: float = 10.0) -> None:
        """Starts listening; waits (up to `wait` s) for the first connection."""
        self._task = asyncio.create_task(self._listen(), name="notice-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        delay = RECONNECT_MIN
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    for channel in self._handlers:
                        await conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    for hook in self.when_connected_hooks:
                        await _call(hook)
                    # Named only now: senders wait for confirmations from named listeners.
                    await conn.execute(
                        "SELECT set_config('application_name', %s, false)", (self.name,)
                    )
                    self.live = True
                    self._connected.set()
                    delay = RECONNECT_MIN
                    while True:
                        # Outside the generator the connection is free to confirm; what
                        # arrives meanwhile waits in psycopg's backlog.
                        arrived = [n async for n in conn.notifies(timeout=0)]
                        if not arrived:
                            await _readable(conn)
                        for notify in arrived:
                            await self._handle(conn, notify)
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._lost()
                log.warning(
                    "lost the notice LISTEN connection; reconnecting in %.1f s",
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    async def _handle(self, conn: psycopg.AsyncConnection[Any], notify: psycopg.Notify) -> None:
        handlers = self._handlers.get(notify.channel)
        if not handlers:
            return
        if notify.channel not in self._confirmed:
            for handler in handlers:
                await _call(handler, notify.payload)
            return
        token, _, subject = notify.payload.partition(" ")
        try:
            for handler in handlers:
                await _call(handler, subject)
        except Exception:  # not confirmed: the sender names this process in a warning
            log.exception("cannot act on the %s notice %r", notify.channel, subject)
            return
        await conn.execute("SELECT pg_notify(%s, %s)", (CONFIRMED, f"{token} {self.name}"))

    async def _lost(self) -> None:
        self.live = False
        for hook in self.when_lost_hooks:
            try:
                await _call(hook)
            except Exception:
                log.exception("a notice hook failed")


async def _readable(conn: psycopg.AsyncConnection[Any]) -> None:
    """Until the connection's socket has something to read (a notice, or its end), with
    the event loop asleep meanwhile: psycopg's own wait for notifies wakes it every 0.1 s
    (~4 ms of CPU a second on an idle server)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = conn.fileno()
    loop.add_reader(fd, on_ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _call(function: Callable[..., Awaitable[None] | None], *args: Any) -> None:
    result = function(*args)
    if inspect.isawaitable(result):
        await result
