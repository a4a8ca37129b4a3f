"""Webhook receivers for the benchmark, in a child process of their own (so that their
work does not slow the process that sends the load and times it): N HTTP/1.1 keep-alive
servers on 127.0.0.1 that answer 204 at once and note when each renamed partner's event
arrives (`time.perf_counter`, CLOCK_MONOTONIC: comparable across processes)."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

NAME = re.compile(rb'"name":"(rename-[^"]+)"')
ANSWER = b"HTTP/1.1 204 No Content\r\n\r\n"


async def _serve(count: int, pipe: Connection) -> None:
    arrivals: list[tuple[str, float]] = []
    received = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                start = head.lower().index(b"content-length:") + 15
                length = int(head[start : head.index(b"\r\n", start)])
                body = await reader.readexactly(length)
                now = time.perf_counter()
                received[0] += 1
                found = NAME.search(body)
                if found:
                    arrivals.append((found.group(1).decode(), now))
                writer.write(ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", 0) for _ in range(count)]
    pipe.send([s.sockets[0].getsockname()[1] for s in servers])
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "count":
            pipe.send(received[0])
        elif command == "collect":
            pipe.send((received[0], arrivals[:]))
            arrivals.clear()
            received[0] = 0
        else:
            break
    for server in servers:
        server.close()


def _child(count: int, pipe: Connection) -> None:
    asyncio.run(_serve(count, pipe))


class Receivers:
    """The child's handle: its ports, and what arrived."""

    def __init__(self, pipe: Connection, ports: list[int], pid: int) -> None:
        self.pipe = pipe
        self.ports = ports
        self.pid = pid

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/hook" for port in self.ports]

    def count(self) -> int:
        self.pipe.send("count")
        found: int = self.pipe.recv()
        return found

    def collect(self) -> tuple[int, list[tuple[str, float]]]:
        """Requests received and renames' arrivals since the last collect (then reset)."""
        self.pipe.send("collect")
        found: tuple[int, list[tuple[str, float]]] = self.pipe.recv()
        return found

    def settle(self, quiet: float = 1.0, most: float = 120.0, expected: int | None = None) -> int:
        """Waits until `expected` requests arrived, or none came for `quiet` seconds."""
        deadline = time.monotonic() + most
        last, still_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.count()
            if expected is not None and now >= expected:
                return now
            if now != last:
                last, still_since = now, time.monotonic()
            elif time.monotonic() - still_since > quiet:
                return now
            time.sleep(0.05)
        return last


@contextmanager
def receivers(count: int) -> Iterator[Receivers]:
    context: Any = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_child, args=(count, theirs), daemon=True)
    process.start()
    try:
        yield Receivers(ours, ours.recv(), process.pid)
    finally:
        ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()
