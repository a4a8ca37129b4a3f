"""A process must always stop: a shutdown step that hangs (a task that delays its
cancellation, a thread that blocks) or fails is named in the log and left behind, and the
steps after it still run (the pools close, the event store closes).

No timing is asserted: a hanging step never finishes, so the bound is what ends it."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from app.runtime import close_runtime, open_runtime
from app.settings import Settings

pytestmark = pytest.mark.timeout(120)


async def _swallows_its_cancellation(release: asyncio.Event) -> None:
    while True:
        try:
            await release.wait()  # (released at the test's end: asyncio.run waits for it)
            return
        except asyncio.CancelledError:  # the attack: a task that will not stop
            continue


def test_a_step_that_never_finishes_is_left_behind_and_named(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = threading.Event()

    def event_store_close_that_blocks() -> None:
        blocked.wait()

    async def scenario() -> None:
        runtime = await open_runtime(settings.model_copy(update={"run_projector": False}))
        release = asyncio.Event()
        hub_stop = runtime.services.hub.stop
        runtime.services.hub.stop = lambda: _swallows_its_cancellation(release)  # type: ignore[method-assign]
        real_close = runtime.services.app.close
        runtime.services.app.close = event_store_close_that_blocks  # type: ignore[method-assign]
        try:
            await close_runtime(runtime, step_seconds=0.5)
            assert runtime.pool.closed  # a later step ran
        finally:
            release.set()
            blocked.set()
            await hub_stop()
            real_close()

    with caplog.at_level(logging.ERROR, logger="partnerbook"):
        asyncio.run(scenario())
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("shutdown: ")]
    hub, store = said  # these two, and no other step said anything
    assert hub.startswith("shutdown: the subscription hub did not finish")
    assert "in _swallows_its_cancellation" in hub
    assert store.startswith("shutdown: the event store did not finish")
    assert "in event_store_close_that_blocks" in store  # the thread's stack


def test_a_step_that_fails_does_not_stop_the_next(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def listener_that_fails() -> None:
        raise OSError("the socket is gone")

    async def scenario() -> None:
        runtime = await open_runtime(settings.model_copy(update={"run_projector": False}))
        assert runtime.listener is not None
        real_stop = runtime.listener.stop
        runtime.listener.stop = listener_that_fails  # type: ignore[method-assign]
        try:
            await close_runtime(runtime)
            assert runtime.pool.closed
        finally:
            await real_stop()

    with caplog.at_level(logging.WARNING, logger="partnerbook"):
        asyncio.run(scenario())
    failed = [r for r in caplog.records if r.getMessage().startswith("shutdown: ")]
    assert [r.getMessage() for r in failed] == [
        "shutdown: the notice listener failed: the socket is gone"
    ]
