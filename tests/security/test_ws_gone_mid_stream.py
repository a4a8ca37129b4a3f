"""A client that closes its WebSocket while its subscriptions are still sending is no
error of the server's. strawberry logged each such operation at ERROR with two
tracebacks (~3 KB): a client that replays the log on a few operations and hangs up,
again and again, wrote the server's log full on purpose, and real errors drowned in it.
Now each operation cut short that way is one DEBUG line; the connection's end is the
client's business."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx2 as httpx
import pytest
from starlette.websockets import WebSocketDisconnected as SendAfterClose
from strawberry.http.exceptions import WebSocketDisconnected

from app.infra import api_keys
from app.infra.database import Database
from app.schema.live.handshake import GuardedTransportWS
from app.settings import Settings
from tests.e2e.ws_client import websocket
from tests.security.conftest import no_traceback
from tests.security.instances import instance
from tests.security.test_one_connection import EVENTS

CONTACTS = 150
"""Events each replay sends: enough that the first one arrives well before the last."""
OPERATIONS = 3
ROUNDS = 4
GUARD = 60.0
"""Seconds after which a wait gives up (a bound, never an expectation)."""


def _seed(base: str, key: str) -> None:
    create = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
      partner { id } userErrors { code } } }"""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:

        def run(partner: dict[str, object]) -> str:
            body = http.post("/graphql", json={"query": create, "variables": {"input": partner}})
            answer = body.json()["data"]["createPartner"]
            assert answer["userErrors"] == [], answer
            return str(answer["partner"]["id"])

        company = run({"kind": "COMPANY", "name": "Harbour Lights"})
        for n in range(CONTACTS):
            run({"kind": "PERSON", "name": f"Contact {n}", "parentId": company})


async def _hang_up_mid_stream(base: str, key: str, legacy: bool, abort: bool) -> int:
    """Rounds of: a connection starts OPERATIONS replays of the whole log, reads the first
    event, and closes while the rest are being sent. Returns the events read."""
    read = 0
    for _ in range(ROUNDS):
        async with websocket(base, key=key, legacy=legacy) as sub:
            for _ in range(OPERATIONS):
                await sub.subscribe(EVENTS)
            while True:
                async with asyncio.timeout(GUARD):
                    message = json.loads(await sub.ws.recv())
                if message["type"] in ("next", "data"):
                    read += 1
                    break
            if abort:
                sub.ws.transport.abort()  # gone: no close handshake
    return read


@pytest.mark.parametrize("abort", [False, True], ids=["closed", "aborted"])
@pytest.mark.parametrize("legacy", [False, True], ids=["graphql-transport-ws", "graphql-ws"])
def test_a_client_gone_mid_stream_is_not_logged_as_an_error(
    db: Database, settings: Settings, log: pytest.LogCaptureFixture, legacy: bool, abort: bool
) -> None:
    key = api_keys.create_key(db.conninfo(), "gone-mid-stream", "admin")
    with instance(settings) as running:
        _seed(running.base, key)
        log.clear()
        assert asyncio.run(_hang_up_mid_stream(running.base, key, legacy, abort)) == ROUNDS
    # The server has stopped: every operation cut short has finished and logged.
    no_traceback(log)
    assert not [r for r in log.records if r.levelno >= logging.WARNING], [
        r.getMessage() for r in log.records if r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize(
    "gone",
    [
        WebSocketDisconnected(),
        SendAfterClose('Cannot call "send" once a close message has been sent.'),
    ],
    ids=["lost", "closed"],
)
def test_graphql_transport_ws_logs_an_operation_whose_client_is_gone_at_debug_only(
    caplog: pytest.LogCaptureFixture, gone: Exception
) -> None:
    """What strawberry's graphql-transport-ws handler does with the exception that ended an
    operation's task, called as its task calls it (the race that reaches it over a real
    socket depends on the scheduler: a close under load, seen in an attack run)."""
    handler = GuardedTransportWS.__new__(GuardedTransportWS)

    def logged() -> list[tuple[str, int]]:
        return [(r.name, r.levelno) for r in caplog.records if r.name != "asyncio"]

    with caplog.at_level(logging.DEBUG):
        asyncio.run(handler.handle_task_exception(gone))
        assert logged() == [("partnerbook.http", logging.DEBUG)]
        caplog.clear()
        asyncio.run(handler.handle_task_exception(ValueError("a real failure")))
        assert logged() == [("strawberry.ws.task", logging.ERROR)]  # still an error
