"""Heavy queries and mutations sent over a WebSocket go to the heavy lane, as over HTTP.

A viewer's `partners(first: 100)` sent as a graphql-transport-ws `subscribe` ran in the
API process: its event loop completed every node while
the other clients waited, and with 100 operations a connection and 20 connections a key,
one key could keep it busy. Now such an operation is forwarded to the lane with the
connection's key and answered with one `next` and `complete`, as strawberry answers it;
it takes a place
among the key's heavy requests, HTTP's included, and one past the key's share is refused
with an `error` RATE_LIMITED, the connection left open. (Legacy graphql-ws runs
subscriptions only.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.e2e.ws_client import websocket
from tests.security.conftest import Live, no_traceback
from tests.security.fake_lane import CHEAP, CREATE, HEAVY, IMPORT, HeldLane, held_lane
from tests.security.instances import Instance


def forwarded(live: Live) -> float:
    """How many requests the API process has forwarded to its lane."""
    for line in live.http.get(f"{live.base}/metrics").text.splitlines():
        if line.startswith('partnerbook_heavy_lane_requests_total{outcome="forwarded"}'):
            return float(line.split()[-1])
    return 0.0


async def answers(ws: ClientConnection, *op_ids: str) -> list[list[dict[str, Any]]]:
    """Every message of each operation up to its end (`complete` or `error`), read from
    one stream: the operations' messages may come in any order."""
    found: dict[str, list[dict[str, Any]]] = {op_id: [] for op_id in op_ids}
    pending = set(op_ids)
    while pending:
        async with asyncio.timeout(120):
            message = json.loads(await ws.recv())
        if message.get("id") not in found:
            continue  # keep-alives
        found[message["id"]].append(message)
        if message["type"] in ("complete", "error"):
            pending.discard(message["id"])
    return [found[op_id] for op_id in op_ids]


async def run(live: Live, role: str, legacy: bool, query: str, variables: Any = None) -> Any:
    async with websocket(live.base, legacy=legacy, key=live.keys[role]) as client:
        op_id = await client.subscribe(query, variables)
        return (await answers(client.ws, op_id))[0]


def test_a_heavy_query_over_a_websocket_is_answered_by_the_lane(
    live_lane: tuple[Live, Instance],
) -> None:
    live, _ = live_lane
    for n in range(3):
        live.data(CREATE, {"i": {"kind": "COMPANY", "name": f"Ws Lane {n}"}}, role="editor")
    over_http = live.post(HEAVY, role="viewer").json()
    before = forwarded(live)
    messages = asyncio.run(run(live, "viewer", False, HEAVY))
    assert [m["type"] for m in messages] == ["next", "complete"], messages
    assert messages[0]["payload"] == over_http
    assert forwarded(live) == before + 1
    # A cheap one stays in the API process.
    cheap = asyncio.run(run(live, "viewer", False, CHEAP))
    assert cheap[0]["payload"]["data"]["partners"]["totalCount"] == 3
    assert forwarded(live) == before + 1
    # Legacy graphql-ws runs subscriptions only, heavy or not.
    legacy = asyncio.run(run(live, "viewer", True, HEAVY))
    assert legacy[0]["payload"]["extensions"]["code"] == "BAD_REQUEST"
    assert forwarded(live) == before + 1


def test_the_lane_checks_the_connections_key_and_role(live_lane: tuple[Live, Instance]) -> None:
    live, _ = live_lane
    rows = [{"externalId": f"ws{n}", "name": f"Ws Row {n}"} for n in range(3)]
    before = forwarded(live)
    refused = asyncio.run(run(live, "viewer", False, IMPORT, {"i": {"rows": rows}}))
    # As this process refuses a viewer's cheap mutation over a WebSocket: nothing ran.
    here = asyncio.run(run(live, "viewer", False, CREATE, {"i": {"kind": "COMPANY", "name": "W"}}))
    assert [m["type"] for m in refused] == [m["type"] for m in here] == ["error"]
    assert refused[0]["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert here[0]["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    imported = asyncio.run(run(live, "editor", False, IMPORT, {"i": {"rows": rows}}))
    assert imported[0]["payload"]["data"]["importPartners"]["created"] == 3
    assert forwarded(live) == before + 2
    # A request error (nothing ran) is the operation's `error`, as strawberry sends it.
    invalid = asyncio.run(run(live, "viewer", False, HEAVY.replace("name", "nope")))
    assert [m["type"] for m in invalid] == ["error"]
    assert "nope" in invalid[0]["payload"][0]["message"]


def test_a_key_past_its_share_of_the_lane_is_refused_on_the_operation_only(
    live_lane: tuple[Live, Instance],
) -> None:
    """Two heavy operations of one key held in a fake lane (it answers when told): the
    key's third, over the same connection, gets an `error` RATE_LIMITED at once; the
    connection stays open and the held two are answered."""
    live, running = live_lane

    async def attack(lane: HeldLane) -> tuple[list[Any], list[Any], list[Any]]:
        async with websocket(live.base, key=live.keys["viewer"]) as client:
            first = await client.subscribe(HEAVY)
            second = await client.subscribe(HEAVY)
            assert await asyncio.get_running_loop().run_in_executor(None, lane.held.wait, 60)
            third = await client.subscribe(HEAVY)
            (refused,) = await answers(client.ws, third)
            lane.release.set()
            first_answer, second_answer = await answers(client.ws, first, second)
            return refused, first_answer, second_answer

    with held_lane(running) as lane:
        refused, first, second = asyncio.run(attack(lane))
    assert [m["type"] for m in refused] == ["error"], refused
    assert refused[0]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    for held_answer in (first, second):
        assert [m["type"] for m in held_answer] == ["next", "complete"]
        assert held_answer[0]["payload"]["data"]["partners"]["totalCount"] == 0


def test_a_large_operation_reaches_the_lane_as_it_came_and_a_broken_one_is_refused(
    live_lane: tuple[Live, Instance], log: pytest.LogCaptureFixture
) -> None:
    """A WebSocket message within the body limit is sent to the lane within it too: 20
    rows of 19,000 accented letters are ~0.76 MB as the client sends them, 2.3 MB with
    every letter escaped (the lane refused that, 413, and it ran here). A lone surrogate,
    which the compact text cannot carry, is refused here as ever (BAD_REQUEST, naming
    it), with no error logged."""
    live, _ = live_lane
    before = forwarded(live)
    rows = [
        {"externalId": f"big{n}", "name": f"Big {n}", "comment": "é" * 19_000} for n in range(20)
    ]

    async def send_unescaped() -> list[dict[str, Any]]:
        async with websocket(live.base, key=live.keys["editor"]) as client:
            payload = {"query": IMPORT, "variables": {"i": {"rows": rows}}}
            message = {"id": "1", "type": "subscribe", "payload": payload}
            await client.ws.send(json.dumps(message, ensure_ascii=False))
            return (await answers(client.ws, "1"))[0]

    big = asyncio.run(send_unescaped())
    assert [m["type"] for m in big] == ["next", "complete"], str(big)[:500]
    assert big[0]["payload"]["data"]["importPartners"]["created"] == 20
    assert forwarded(live) == before + 1
    broken = [{"externalId": "x", "name": "Ann \ud800"}]
    refused = asyncio.run(run(live, "editor", False, IMPORT, {"i": {"rows": broken}}))
    # As this process answers it over a WebSocket: nothing ran, the place named.
    (error,) = refused[0]["payload"]["errors"]
    assert refused[0]["payload"]["data"] is None
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"].startswith("$i.rows[0].name contains a lone surrogate (U+D800)")
    no_traceback(log)
