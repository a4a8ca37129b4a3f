"""A small GraphQL-over-WebSocket client (graphql-transport-ws and legacy graphql-ws)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import ClientConnection, connect


class Subscription:
    def __init__(self, ws: ClientConnection, legacy: bool) -> None:
        self.ws = ws
        self.legacy = legacy
        self._next_id = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        kind = "start" if self.legacy else "subscribe"
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op_id, "type": kind, "payload": payload}))
        return op_id

    async def receive(self, within: float = 60.0) -> dict[str, Any]:
        """The next data message (fails on an error message, or after `within` seconds: a
        bound for a lost message, generous for a loaded machine)."""
        while True:
            async with asyncio.timeout(within):
                message = json.loads(await self.ws.recv())
            if message["type"] in ("next", "data"):
                payload: dict[str, Any] = message["payload"]
                assert not payload.get("errors"), payload
                data: dict[str, Any] = payload["data"]
                return data
            if message["type"] in ("ka", "ping", "pong"):
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                continue
            raise AssertionError(f"unexpected message {message}")

    async def nothing_within(self, seconds: float) -> bool:
        try:
            data = await self.receive(within=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected data {data}")


KEYS: dict[str, str] = {}
"""The API key to send to each server (base URL), filled in by `serving()`."""


@asynccontextmanager
async def websocket(
    base_url: str, *, legacy: bool = False, key: str | None = None
) -> AsyncIterator[Subscription]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    protocol = "graphql-ws" if legacy else "graphql-transport-ws"
    key = key or KEYS.get(base_url)
    payload = {"Authorization": f"Bearer {key}"} if key else {}
    async with connect(url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        while True:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if ack["type"] == "connection_ack":
                break
            assert ack["type"] in ("ka",), ack
        yield Subscription(ws, legacy)


async def until_subscribed(base_url: str, count: int) -> None:
    """Waits until the server (one process) has `count` live subscriptions registered:
    an event recorded from then on reaches them. Progress, not a pause: a fixed sleep let
    a slow machine make its change before the subscription was in place, and the
    subscription (which starts at its process's position) never saw it."""
    pattern = re.compile(r"^partnerbook_subscribers (\S+)$", re.MULTILINE)
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            found = pattern.search((await http.get(f"{base_url}/metrics")).text)
            if found and float(found.group(1)) >= count:
                return
            await asyncio.sleep(0.02)
