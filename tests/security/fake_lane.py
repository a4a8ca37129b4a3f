"""A fake heavy lane that holds what it is sent until told to answer: to fill a key's
places in the lane and see what the next request gets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.security.conftest import lane_of
from tests.security.instances import Instance

HEAVY = "{ partners(first: 100) { totalCount nodes { id name } } }"
CHEAP = "{ partners(first: 5) { totalCount nodes { id name } } }"
CREATE = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) {
  partner { id } userErrors { code } } }"""
IMPORT = """mutation($i: ImportPartnersInput!) { importPartners(input: $i) {
  created updated userErrors { code message } } }"""
"""The operations the lane tests send: HEAVY (and IMPORT) go to the lane, CHEAP not."""
EMPTY_PAGE = {"data": {"partners": {"totalCount": 0, "nodes": []}}}
"""What the fake lane answers to every request."""


@dataclass
class HeldLane:
    held: threading.Event = field(default_factory=threading.Event)
    """Set once two requests have arrived (and are held)."""
    release: threading.Event = field(default_factory=threading.Event)
    """Set it to answer every held request, and the later ones at once."""
    arrived: list[int] = field(default_factory=list)


@contextlib.contextmanager
def held_lane(running: Instance) -> Iterator[HeldLane]:
    """The running server's lane replaced by one that holds requests until `release`."""
    lane = lane_of(running)
    state = HeldLane()
    fake_dir = Path(lane._directory) / "fake"
    fake_dir.mkdir()
    fake_path = str(fake_dir / "fake.sock")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        state.arrived.append(1)
        if len(state.arrived) >= 2:
            state.held.set()
        await asyncio.get_running_loop().run_in_executor(None, state.release.wait)
        payload = json.dumps(EMPTY_PAGE).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()

    async def open_fake() -> asyncio.AbstractServer:
        return await asyncio.start_unix_server(handle, fake_path)

    server = asyncio.run_coroutine_threadsafe(open_fake(), running.loop).result(10)
    real_path = lane._path
    lane._path = fake_path
    try:
        yield state
    finally:
        state.release.set()
        lane._path = real_path
        running.loop.call_soon_threadsafe(server.close)
