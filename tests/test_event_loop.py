"""The servers' event loop runs every request with room on CPython's frame stack.

CPython 3.11 and 3.12 keep the frames of Python calls in 16 KiB chunks per thread, and
unmap a chunk as soon as the last frame in it returns (gh-142183). graphql-core completes
a value by recursion, a few frames a level, so an introspection's `ofType` chains went up
and down across a chunk's edge all the time: GraphiQL's introspection query mapped and
unmapped 5,400 chunks in the heavy lane (strace), 560 ms where the same process with room
took 95. These tests hold the servers to the loop that gives that room."""

from __future__ import annotations

import asyncio
import sys
from types import FrameType

from uvicorn.config import Config

from app import event_loop, lane_process
from app.main import server_options
from app.settings import Settings


def roomy_frames_below(frame: FrameType | None) -> list[int]:
    """The local slots of each frame below `frame` with at least ROOM_WORDS of them."""
    found = []
    while frame is not None:
        if frame.f_code.co_nlocals >= event_loop.ROOM_WORDS:
            found.append(frame.f_code.co_nlocals)
        frame = frame.f_back
    return found


def test_a_coroutine_on_the_loop_runs_above_a_frame_that_holds_a_chunk_of_room() -> None:
    async def where() -> list[int]:
        await asyncio.sleep(0)  # a step of the task that the loop itself resumes
        return roomy_frames_below(sys._getframe())

    with asyncio.Runner(loop_factory=event_loop.new_event_loop) as runner:
        assert len(runner.run(where())) == 1  # one chunk of room, not one per call


def test_the_loop_answers_as_uvloop_does() -> None:
    async def sums() -> int:
        task = asyncio.get_running_loop().create_task(asyncio.sleep(0, result=41))
        return await task + 1

    with asyncio.Runner(loop_factory=event_loop.new_event_loop) as runner:
        assert runner.run(sums()) == 42
        loop = runner.get_loop()
    assert type(loop).__mro__[1].__module__.startswith(("uvloop", "asyncio"))


def test_partnerbook_serve_and_its_workers_run_that_loop() -> None:
    # `serve` gives uvicorn the loop by import string: the workers of `--workers N` import it.
    options = server_options(Settings())
    config = Config(app="app.main:create_app", factory=True, **options)
    assert config.get_loop_factory() is event_loop.new_event_loop


def test_the_heavy_lane_runs_that_loop() -> None:
    # Deep requests are the lane's: an introspection is heavy.
    options = lane_process.uvicorn_options(Settings(), "/nonexistent/lane.sock")
    config = Config(app="app.main:create_app", factory=True, **options)
    assert config.get_loop_factory() is event_loop.new_event_loop
