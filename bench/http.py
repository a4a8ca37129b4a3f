"""Small HTTP/1.1 keep-alive clients (on asyncio streams, and `SyncClient` on the
standard library's `http.client`), and closed-loop load runners.

The load generator shares the machine's cores with the servers it measures, so it must
cost little per request: a general client (httpx) spends several times more CPU than
these. Both sides of every comparison go through the same client."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

ACCEPT_LANGUAGE = ""
"""Sent as Accept-Language with every request when set (`python -m bench --locale fr`)."""


class HttpError(RuntimeError):
    """A response that is not a success, or a GraphQL response with errors."""


KEYS: dict[int, str] = {}
"""The API key sent to the server on each port (registered by bench.core.serving)."""


class Connection:
    """One keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port: int, host: str = "127.0.0.1", key: str | None = None) -> None:
        self.host = host
        self.port = port
        self.key = key
        """The API key sent (default: the one KEYS registers for the port)."""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reader, writer = await self._open()
        key = self.key or KEYS.get(self.port)
        auth = f"Authorization: Bearer {key}\r\n" if key else ""
        if ACCEPT_LANGUAGE:
            auth += f"Accept-Language: {ACCEPT_LANGUAGE}\r\n"
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line, _, header_block = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[bytes, bytes] = {}
        for line in header_block.split(b"\r\n"):
            if b":" in line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            payload = await reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks: list[bytes] = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            payload = b"".join(chunks)
        else:
            payload = await reader.read()
            await self.close()
        if headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        return status, payload

    async def get_json(self, path: str) -> Any:
        status, payload = await self.request("GET", path)
        if status != 200:
            raise HttpError(f"GET {path}: {status} {payload[:300]!r}")
        return json.loads(payload)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Posts an operation; returns `data`, raising on HTTP or GraphQL errors."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        status, payload = await self.request("POST", "/graphql", body)
        result = json.loads(payload) if payload else {}
        if status != 200 or result.get("errors"):
            raise HttpError(f"GraphQL {status}: {payload[:500]!r}")
        return result["data"]


class SyncClient:
    """One keep-alive connection to 127.0.0.1:port for a benchmark that times requests
    one after the other (bench/search.py). On this machine a `{ __typename }` round trip
    costs the client ~180 µs of CPU here against ~450 µs with httpx2 (p50 0.62 against
    0.94 ms): with httpx, a third of a millisecond of every GraphQL time was the client's.
    A request that finds the connection closed (the server's keep-alive timeout) is sent
    once more on a new one."""

    def __init__(self, port: int, headers: dict[str, str], host: str = "127.0.0.1") -> None:
        self.headers = {**headers, "Content-Type": "application/json"}
        if ACCEPT_LANGUAGE:
            self.headers["Accept-Language"] = ACCEPT_LANGUAGE
        self._conn = http.client.HTTPConnection(host, port, timeout=120)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def post_json(self, path: str, payload: object) -> tuple[int, Any]:
        """POSTs `payload` as JSON; returns the status and the decoded answer."""
        body = json.dumps(payload).encode()
        for attempt in (1, 2):
            try:
                self._conn.request("POST", path, body, self.headers)
                response = self._conn.getresponse()
                return response.status, json.loads(response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


Operation = Callable[[Connection, int], Awaitable[None]]
"""One request of a load run: given a connection and the request's index."""


async def closed_loop(
    port: int, clients: int, requests: int, op: Operation
) -> tuple[list[float], float]:
    """`clients` connections send `requests` requests in all, each waiting for its answer
    before sending the next. Returns each request's latency (s) and the wall time (s)."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def client() -> None:
        async with Connection(port) as conn:
            for i in counter:
                t0 = time.perf_counter()
                await op(conn, i)
                latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started


async def for_duration(port: int, clients: int, seconds: float, op: Operation) -> int:
    """Like `closed_loop`, but for a time; returns how many requests were answered."""
    deadline = time.monotonic() + seconds
    done = 0

    async def client(k: int) -> None:
        nonlocal done
        async with Connection(port) as conn:
            i = k
            while time.monotonic() < deadline:
                await op(conn, i)
                done += 1
                i += clients

    await asyncio.gather(*(client(k) for k in range(clients)))
    return done
