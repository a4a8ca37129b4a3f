"""The event loop of the servers (`partnerbook serve`, each of its `--workers`, the heavy
lane): uvloop's where it is installed, asyncio's otherwise, run from a frame that leaves
every request room on CPython's frame stack.

CPython 3.11 and 3.12 keep the frames of Python calls in chunks of 16 KiB a thread, and
unmap a chunk as soon as the last frame in it returns; the next call that needs it maps a
new one (python/cpython#142183, which later releases fix by keeping one chunk). A request
whose calls go up and down across a chunk's edge pays two system calls and fresh pages at
each crossing: graphql-core completes a value by recursion, a few frames a level, and
GraphiQL's introspection query (its `ofType` chains seven deep) mapped and unmapped 5,400
chunks in the heavy lane, 560 ms of which 460 in the kernel, where the same process with
room answered in 95 ms. Where the edge falls depends on how deep the loop sits, so the
same request cost 113 ms in the API process and 560 in the lane.

The loop here runs from `_roomy`, a function with ROOM_WORDS local slots: CPython gives
its frame a chunk of its own, twice its size, which lasts as long as the loop runs; the
frames of every callback and every request then stack in the half left, ~1,000 frames of
graphql-core, as deep as Python's recursion limit lets them go. It costs 512 KiB a process.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] brings it where it builds
    _Base: type[asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop
else:
    _Base = uvloop.Loop

ROOM_WORDS = 32_000
"""Local slots of `_roomy`'s frame: 256 KiB, for which CPython maps a 512 KiB chunk (the
frame and 1,000 slots of overhead, rounded up to a power of two)."""


@functools.cache
def _roomy() -> Callable[..., Any]:
    """`roomy(call, *args)` calls `call(*args)` from a frame of ROOM_WORDS slots, compiled
    once a process (~80 ms) when its first loop runs. The slots are locals the code names
    but never runs (`if call is None`): the frame's size is fixed when it is compiled, and
    filling it would only cost time."""
    names = " = ".join(f"_{i}" for i in range(ROOM_WORDS))
    source = (
        "def roomy(call, *args):\n"
        "    if call is None:\n"
        f"        {names} = None\n"
        "    return call(*args)\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<app.event_loop roomy>", "exec"), namespace)
    roomy: Callable[..., Any] = namespace["roomy"]
    return roomy


class RoomyLoop(_Base):  # type: ignore[misc, valid-type]
    """The loop, run from `_roomy`'s frame: `run_until_complete` (asyncio's `Runner`, as
    uvicorn runs it) runs it through `run_forever`, in uvloop as in asyncio."""

    def run_forever(self) -> None:
        _roomy()(super().run_forever)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory (`loop="app.event_loop:new_event_loop"`)."""
    return RoomyLoop()


LOOP = f"{__name__}:new_event_loop"
"""The loop as uvicorn imports it, in each worker process too."""
