"""The live subscriptions of one API key, per process, are held to a budget of nodes
(PARTNERBOOK_SUBSCRIPTION_NODES_PER_KEY): each counts one, plus the nodes its walk says
one event's answer may return.

Every event is answered once per subscription that follows it, on the API process's event
loop. One viewer's 20 connections of 100 `partnerChanged` subscriptions (a partner and its
tags each, within every limit) made each partner update 2,000 answers, ~1.4 s of the
loop: while an editor updated a partner ten times a second, another client's
`partner(id)` went from a p99 of 22 ms to 1.3 s. Past its budget, a key's subscription is
refused (LIMIT_EXCEEDED, saying how much is left) and registers nothing; one that ends
gives its nodes back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from app.settings import Settings
from tests.e2e.ws_client import websocket
from tests.security.conftest import Live

TAGGED = "subscription { partnerChanged { cursor partner { id name tags { id } } } }"
"""One, plus the 20 tags a partner's list is counted as (TAGS_COUNTED): 21 nodes."""
CREATE = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) {
  partner { id } userErrors { code } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"subscription_nodes_per_key": 50})


async def subscribe(ws: ClientConnection, op_id: str, query: str = TAGGED) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def messages_until(ws: ClientConnection, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The first message of each operation in `wanted` (keep-alives skipped)."""
    found: dict[str, dict[str, Any]] = {}
    while wanted - found.keys():
        async with asyncio.timeout(120):
            message = json.loads(await ws.recv())
        if message.get("id") in wanted and message["id"] not in found:
            found[message["id"]] = message
    return found


def code_of(message: dict[str, Any]) -> str:
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors") or [payload]
    assert errors, message
    return str(errors[0]["extensions"]["code"])


def test_a_key_past_its_subscription_budget_is_refused_and_gets_it_back(live: Live) -> None:
    async def attack() -> None:
        async with (
            websocket(live.base, key=live.keys["viewer"]) as viewer,
            websocket(live.base, key=live.keys["auditor"]) as other,
        ):
            await subscribe(viewer.ws, "1")
            await subscribe(viewer.ws, "2")  # 42 of 50
            await subscribe(viewer.ws, "3")  # 63: refused
            refused = (await messages_until(viewer.ws, {"3"}))["3"]
            assert code_of(refused) == "LIMIT_EXCEEDED"
            assert "50" in json.dumps(refused)
            # Another key has its own budget.
            await subscribe(other.ws, "a")
            await subscribe(other.ws, "b")
            # One that ends gives its nodes back.
            await viewer.ws.send(json.dumps({"id": "1", "type": "complete"}))
            await subscribe(viewer.ws, "4")
            await asyncio.sleep(0)  # nothing to wait for: the event below proves them live
            live.data(CREATE, {"i": {"kind": "COMPANY", "name": "Budget Co"}}, role="editor")
            got = await messages_until(viewer.ws, {"2", "4"})
            for message in got.values():
                assert message["type"] == "next", message
                assert (
                    message["payload"]["data"]["partnerChanged"]["partner"]["name"] == "Budget Co"
                )
            seen = await messages_until(other.ws, {"a", "b"})
            assert all(m["type"] == "next" for m in seen.values())

    asyncio.run(attack())


def test_a_subscription_larger_than_the_budget_is_refused_whole(live: Live) -> None:
    wide = "subscription { partnerChanged { partner { id children(first: 60) { nodes { id } } } } }"

    async def attack() -> dict[str, Any]:
        async with websocket(live.base, key=live.keys["viewer"]) as viewer:
            await subscribe(viewer.ws, "1", wide)
            return (await messages_until(viewer.ws, {"1"}))["1"]

    assert code_of(asyncio.run(attack())) == "LIMIT_EXCEEDED"


def test_the_budget_is_the_keys_over_both_protocols(live: Live) -> None:
    async def attack() -> dict[str, Any]:
        async with (
            websocket(live.base, key=live.keys["viewer"]) as modern,
            websocket(live.base, key=live.keys["viewer"], legacy=True) as legacy,
        ):
            await subscribe(modern.ws, "1")
            await subscribe(modern.ws, "2")  # 42 of 50
            start = {"id": "x", "type": "start", "payload": {"query": TAGGED}}
            await legacy.ws.send(json.dumps(start))
            return (await messages_until(legacy.ws, {"x"}))["x"]

    refused = asyncio.run(attack())
    assert refused["type"] == "error"
    assert refused["payload"]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_restarting_an_operation_id_over_graphql_ws_holds_the_budget(live: Live) -> None:
    """Legacy graphql-ws lets a client `start` an id already running (the old operation is
    stopped): the new one takes its nodes too, so restarts cannot shed the budget."""

    async def attack() -> dict[str, Any]:
        async with websocket(live.base, key=live.keys["viewer"], legacy=True) as legacy:
            for op_id in ("x", "x", "y", "y"):  # each restart replaces, holding 21 again
                start = {"id": op_id, "type": "start", "payload": {"query": TAGGED}}
                await legacy.ws.send(json.dumps(start))
            third = {"id": "z", "type": "start", "payload": {"query": TAGGED}}
            await legacy.ws.send(json.dumps(third))  # 63 of 50: refused
            return (await messages_until(legacy.ws, {"z"}))["z"]

    refused = asyncio.run(attack())
    assert refused["type"] == "error"
    assert refused["payload"]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_a_refused_restart_stops_the_operation_it_was_to_replace(live: Live) -> None:
    """Else the old one ran on, holding nothing: its nodes were given back for the new."""
    wide = "subscription { partnerChanged { partner { id children(first: 60) { nodes { id } } } } }"

    async def attack() -> list[tuple[str, str]]:
        loop = asyncio.get_running_loop()
        async with websocket(live.base, key=live.keys["viewer"], legacy=True) as legacy:
            for op_id, query in (("x", TAGGED), ("y", TAGGED), ("x", wide)):
                start = {"id": op_id, "type": "start", "payload": {"query": query}}
                await legacy.ws.send(json.dumps(start))
            seen: list[tuple[str, str]] = []
            for n in range(2):  # two events; y answers both, after x would have answered
                variables = {"i": {"kind": "COMPANY", "name": f"Restart Co {n}"}}
                await loop.run_in_executor(None, live.data, CREATE, variables)
                while seen.count(("y", "data")) <= n:
                    async with asyncio.timeout(120):
                        message = json.loads(await legacy.ws.recv())
                    if message.get("id") in ("x", "y"):
                        seen.append((message["id"], message["type"]))
            return seen

    seen = asyncio.run(attack())
    assert ("x", "error") in seen
    assert ("x", "data") not in seen, seen
