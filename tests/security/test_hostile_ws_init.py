"""A WebSocket's handshake held to what graphql-transport-ws already required, over legacy
graphql-ws too, and the per-connection operation limit answered with a code.

- A legacy graphql-ws connection that never sent `connection_init` stayed open for ever
  (its client answering pings): 1,000 of them, without a key, held every connection
  slot of the process (PARTNERBOOK_MAX_CONNECTIONS) and everyone else got 503 BUSY. Both
  protocols now close such a connection after PARTNERBOOK_WEBSOCKET_INIT_SECONDS (4408).
- A second `connection_init` on legacy graphql-ws was acknowledged again, each time with
  one more keep-alive task (30,000 inits: 30,000 `ka` every 15 s, and a traceback for
  each once the connection closed). It is refused (4429), as graphql-transport-ws does.
- The operation past PARTNERBOOK_MAX_SUBSCRIPTIONS_PER_CONNECTION got an error without
  `extensions.code`, over both protocols: now LIMIT_EXCEEDED.

Every refusal is one INFO line and never a traceback. The tests wait on what the server
does (a close, an answer), never on how long it takes: GUARD only bounds a wait that
would otherwise never end."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.security.conftest import no_traceback
from tests.security.instances import Instance, instance
from tests.security.test_malformed_ws_messages import Exchange
from tests.security.test_slow_clients import _serving

INIT_WAIT = 0.5
"""PARTNERBOOK_WEBSOCKET_INIT_SECONDS in these tests."""
GUARD = 30.0
"""Seconds after which a wait gives up (a bound, never an expectation)."""
LIMIT = 2
"""PARTNERBOOK_MAX_SUBSCRIPTIONS_PER_CONNECTION in these tests."""
FEED = {"query": "subscription { partnerChanged { eventType } }"}
"""A subscription that stays silent until an event: it holds its place."""
INVALID = {"query": "subscription { nope }"}
"""A legacy operation answered at once with an `error`: proof the connection runs."""
TIMEOUT = (4408, "Connection initialisation timeout")
SECOND_INIT = (4429, "Too many initialisation requests")


@dataclass
class Served:
    running: Instance
    key: str

    @property
    def url(self) -> str:
        return self.running.base.replace("http://", "ws://") + "/graphql"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"websocket_init_seconds": INIT_WAIT, "max_subscriptions_per_connection": LIMIT}
    )


@pytest.fixture
def served(db: Database, settings: Settings) -> Iterator[Served]:
    key = api_keys.create_key(db.conninfo(), "hostile-ws", "admin")
    with instance(settings) as running:
        yield Served(running, key)


def _refusals(log: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in log.records
        if r.name == "partnerbook.http" and r.levelno == logging.INFO and text in r.getMessage()
    ]


def _init(key: str | None) -> str:
    payload = {"Authorization": f"Bearer {key}"} if key else {}
    return json.dumps({"type": "connection_init", "payload": payload})


def _operation(legacy: bool, op_id: str, payload: dict[str, Any]) -> str:
    return json.dumps({"type": "start" if legacy else "subscribe", "id": op_id, "payload": payload})


def _open(url: str, legacy: bool) -> Any:
    protocol: Any = "graphql-ws" if legacy else "graphql-transport-ws"
    return connect(url, subprotocols=[protocol])


async def _read(
    ws: ClientConnection,
    exchange: Exchange,
    *,
    until: tuple[str, Any] | None = None,
    most: int = 50,
) -> Exchange:
    """Reads into `exchange` until the server closes, sends `until` (type, id), or has
    sent `most` messages (a bound on what a server without the fix keeps sending)."""
    return await exchange.read(ws, wait=GUARD, until=until, most=most)


async def _silent(url: str, legacy: bool, raws: tuple[str, ...] = ()) -> Exchange:
    """A connection that sends `raws` and never `connection_init`: what it gets until the
    server closes it."""
    async with _open(url, legacy) as ws:
        for raw in raws:
            await ws.send(raw)
        return await _read(ws, Exchange())


def _coded(payload: dict[str, Any], code: str, *words: str) -> None:
    assert payload["extensions"]["code"] == code, payload
    assert all(w in payload["message"] for w in words), payload


def test_a_connection_without_connection_init_is_closed_after_the_wait(
    served: Served, log: pytest.LogCaptureFixture
) -> None:
    """Legacy graphql-ws never closed one; graphql-transport-ws closed it after strawberry's
    60 s, not a setting. Both now close it after PARTNERBOOK_WEBSOCKET_INIT_SECONDS with
    4408 (legacy: after a `connection_error` BAD_REQUEST saying why); a malformed message
    does not stop the clock. A connection acknowledged before is not closed."""

    async def scenario() -> tuple[Exchange, Exchange, Exchange, Exchange]:
        async with _open(served.url, True) as acked:
            await acked.send(_init(served.key))
            first = await _read(acked, Exchange(), until=("connection_ack", None))
            assert first.kinds() == [("connection_ack", None)], first
            # Opened after `acked`: its timer, were it not stopped, would have closed
            # `acked` before these closes.
            legacy, junk, transport = await asyncio.gather(
                _silent(served.url, True),
                _silent(served.url, True, ("{}",)),
                _silent(served.url, False),
            )
            await acked.send(_operation(True, "1", INVALID))
            after = await _read(acked, Exchange(), until=("error", "1"))
        return legacy, junk, transport, after

    legacy, junk, transport, after = asyncio.run(scenario())
    assert legacy.closed == TIMEOUT, legacy
    assert legacy.kinds() == [("connection_error", None)], legacy
    _coded(legacy.received[0]["payload"], "BAD_REQUEST", "connection_init", str(INIT_WAIT))
    assert junk.closed == TIMEOUT, junk
    assert junk.kinds() == [("connection_error", None)] * 2, junk
    _coded(junk.received[1]["payload"], "BAD_REQUEST", "connection_init", str(INIT_WAIT))
    assert transport.closed == TIMEOUT and transport.received == [], transport
    assert after.closed is None and after.kinds() == [("error", "1")], after
    assert len(_refusals(log, "(4408)")) == 3, [r.getMessage() for r in log.records]
    no_traceback(log)


def test_connections_that_never_initialise_give_back_the_process_slots(
    db: Database, settings: Settings, log: pytest.LogCaptureFixture
) -> None:
    """The audit's attack on a process of PARTNERBOOK_MAX_CONNECTIONS=2: two legacy
    sockets without a key held both slots for good (every other client: 503 BUSY). They
    are closed after the wait, and a client with a key is served again."""
    capped = settings.model_copy(update={"max_connections": 2})
    key = api_keys.create_key(db.conninfo(), "slots", "viewer")

    async def scenario(url: str) -> tuple[list[Exchange], Exchange]:
        idle = await asyncio.gather(*(_silent(url, True) for _ in range(2)))
        async with _open(url, True) as ws:
            await ws.send(_init(key))
            served = await _read(ws, Exchange(), until=("connection_ack", None))
        return idle, served

    with _serving(capped) as port:
        idle, then = asyncio.run(scenario(f"ws://127.0.0.1:{port}/graphql"))
    assert [e.closed for e in idle] == [TIMEOUT, TIMEOUT], idle
    assert then.kinds() == [("connection_ack", None)], then
    no_traceback(log)


def _keep_alive_tasks() -> int:
    """Keep-alive tasks on the running loop (one per acknowledged legacy connection)."""
    return sum(
        getattr(task.get_coro(), "__qualname__", "").endswith("handle_keep_alive")
        for task in asyncio.all_tasks()
    )


async def _keep_alives() -> int:
    return _keep_alive_tasks()


def test_a_second_connection_init_on_legacy_graphql_ws_is_refused(
    served: Served, log: pytest.LogCaptureFixture
) -> None:
    """Each `connection_init` was acknowledged and started one more keep-alive task, never
    stopped. The second one now gets a `connection_error` BAD_REQUEST and the close
    graphql-transport-ws gives it (4429); no keep-alive task outlives the connection."""

    async def scenario() -> Exchange:
        async with _open(served.url, True) as ws:
            for _ in range(5):
                await ws.send(_init(served.key))
            return await _read(ws, Exchange(), most=5)

    exchange = asyncio.run(scenario())
    assert exchange.kinds() == [("connection_ack", None), ("connection_error", None)], exchange
    _coded(exchange.received[1]["payload"], "BAD_REQUEST", "connection_init")
    assert exchange.closed == SECOND_INIT, exchange
    running = served.running
    for _ in range(int(GUARD / 0.05)):  # the server ends the connection's tasks after the close
        if running.call(_keep_alives()) == 0:
            break
        time.sleep(0.05)
    assert running.call(_keep_alives()) == 0
    assert len(_refusals(log, "(4429)")) == 1, [r.getMessage() for r in log.records]
    no_traceback(log)


def test_graphql_transport_ws_logs_its_second_connection_init(
    served: Served, log: pytest.LogCaptureFixture
) -> None:
    """graphql-transport-ws already closed it with 4429; the refusal is one INFO line."""

    async def scenario() -> Exchange:
        async with _open(served.url, False) as ws:
            await ws.send(_init(served.key))
            await ws.send(_init(served.key))
            return await _read(ws, Exchange())

    exchange = asyncio.run(scenario())
    assert exchange.kinds() == [("connection_ack", None)], exchange
    assert exchange.closed == SECOND_INIT, exchange
    assert len(_refusals(log, "(4429)")) == 1, [r.getMessage() for r in log.records]
    no_traceback(log)


@pytest.mark.parametrize("legacy", [False, True], ids=["graphql-transport-ws", "graphql-ws"])
def test_the_operation_past_the_connection_limit_is_limit_exceeded(
    served: Served, log: pytest.LogCaptureFixture, legacy: bool
) -> None:
    """`Subscription limit reached` had no code. It is LIMIT_EXCEEDED naming the limit;
    the connection stays open, and a place freed is taken again."""
    end = json.dumps({"type": "stop" if legacy else "complete", "id": "1"})

    async def scenario() -> Exchange:
        async with _open(served.url, legacy) as ws:
            await ws.send(_init(served.key))
            exchange = await _read(ws, Exchange(), until=("connection_ack", None))
            for op_id in ("1", "2", "3"):
                await ws.send(_operation(legacy, op_id, FEED))
            await _read(ws, exchange, until=("error", "3"))
            await ws.send(end)
            for op_id in ("4", "5"):
                await ws.send(_operation(legacy, op_id, FEED))
            return await _read(ws, exchange, until=("error", "5"))

    exchange = asyncio.run(scenario())
    ended = [("complete", "1")] if legacy else []  # legacy answers a `stop` with `complete`
    expected = [("connection_ack", None), ("error", "3"), *ended, ("error", "5")]
    assert exchange.closed is None and exchange.kinds() == expected, exchange
    for error in (exchange.received[1], exchange.received[-1]):
        payload = error["payload"] if legacy else error["payload"][0]
        _coded(payload, "LIMIT_EXCEEDED", str(LIMIT))
    assert len(_refusals(log, "operation refused")) == 2, [r.getMessage() for r in log.records]
    no_traceback(log)
