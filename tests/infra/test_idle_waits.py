"""An idle server sleeps: its LISTEN connections wait in the kernel, not in psycopg's
wait for notifies, which wakes every 0.1 s to look for signals (the two projector
threads and the notice listener cost an idle server ~15 ms of CPU a second)."""

from __future__ import annotations

import asyncio
import os
import resource
import threading
from typing import Any

import psycopg
import pytest

from app.infra.database import Database
from app.infra.notices import NoticeListener
from app.projections import projector
from app.projections.projector import Projector


class _Sleeps:
    """`projector.wait_readable` as the projector calls it: notes each timeout, runs
    `then` (something that happens as it goes to sleep), then sleeps unless told not to."""

    def __init__(self, then: Any = None, *, sleep: bool = True) -> None:
        self.timeouts: list[float] = []
        self.then = then
        self.sleep = sleep
        self.real = projector.wait_readable

    def __call__(self, fd: int, seconds: float) -> None:
        self.timeouts.append(seconds)
        if self.then is not None:
            self.then()
        if self.sleep:
            self.real(fd, seconds)


def _listening(db: Database, channel: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db.conninfo(), autocommit=True)
    conn.execute(f"LISTEN {channel}")
    return conn


def test_a_waiting_projector_sleeps_a_second_at_a_time_and_sees_its_stop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    spy = _Sleeps(then=stop.set, sleep=False)  # the stop request comes while it sleeps
    monkeypatch.setattr(projector, "wait_readable", spy)
    with _listening(db, "news") as conn:
        Projector._wait_for_news(conn, stop)
    assert spy.timeouts == [projector.STOP_SEEN_WITHIN] == [1.0]


def test_a_notify_ends_a_projector_s_wait(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projector, "NEWS_WAIT", 600.0)  # only the NOTIFY can end it early
    spy = _Sleeps()
    monkeypatch.setattr(projector, "wait_readable", spy)
    stop = threading.Event()
    with (
        _listening(db, "news") as conn,
        psycopg.connect(db.conninfo(), autocommit=True) as other,
    ):
        other.execute("NOTIFY news")
        Projector._wait_for_news(conn, stop)
    assert not stop.is_set()
    assert len(spy.timeouts) < 600  # woken, not timed out


def test_a_connection_numbered_over_1023_is_waited_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy server holds many descriptors; `select()` refuses those over 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 1100), hard))
    held: list[int] = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with (
            _listening(db, "news") as conn,
            psycopg.connect(db.conninfo(), autocommit=True) as other,
        ):
            assert conn.fileno() > 1023
            # The NOTIFY comes as it goes to sleep.
            sleeps = _Sleeps(then=lambda: other.execute("NOTIFY news"))
            monkeypatch.setattr(projector, "wait_readable", sleeps)
            Projector._wait_for_news(conn, threading.Event())  # woken, no ValueError
            assert sleeps.timeouts  # it did sleep on that connection
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_notify_read_by_a_query_meanwhile_ends_the_wait_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NOTIFY that arrived with a query's answer is in psycopg's backlog, not on the
    socket: the wait takes it without sleeping."""
    spy = _Sleeps(then=lambda: pytest.fail("slept with a NOTIFY in hand"), sleep=False)
    monkeypatch.setattr(projector, "wait_readable", spy)
    with _listening(db, "news") as conn:
        conn.execute("NOTIFY news")  # its own: delivered with this statement's answer
        conn.execute("SELECT 1")
        Projector._wait_for_news(conn, threading.Event())
    assert spy.timeouts == []


def test_the_notice_listener_sleeps_until_a_notice_arrives(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float | None] = []
    notifies = psycopg.AsyncConnection.notifies

    def noted(self: Any, *, timeout: float | None = None, stop_after: int | None = None) -> Any:
        waits.append(timeout)
        return notifies(self, timeout=timeout, stop_after=stop_after)

    monkeypatch.setattr(psycopg.AsyncConnection, "notifies", noted)

    async def scenario() -> list[str]:
        got: list[str] = []
        arrived = asyncio.Event()

        async def handler(payload: str) -> None:
            got.append(payload)
            if len(got) == 2:
                arrived.set()

        listener = NoticeListener(db.conninfo())
        listener.on("idle_test", handler, confirm=False)
        await listener.start()
        try:
            async with await psycopg.AsyncConnection.connect(
                db.conninfo(), autocommit=True
            ) as other:
                await other.execute("NOTIFY idle_test, 'one'")
                await other.execute("NOTIFY idle_test, 'two'")
            async with asyncio.timeout(60):
                await arrived.wait()
        finally:
            await listener.stop()
        return got

    assert asyncio.run(scenario()) == ["one", "two"]
    assert waits and set(waits) == {0}  # never psycopg's waiting, woken every 0.1 s
