"""Many subscriptions, one after another, on one WebSocket connection: one stopped while
its event is being resolved (its DataLoader loads cancelled) never leaves the next one
on the connection unanswered (the connection's context keeps its loaders)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.schema.live.cursors import encode_cursor
from tests.e2e.ws_client import Subscription, websocket
from tests.security.conftest import Live

PARTNER = """id name displayName email isCustomer version createdAt
  stats { quotationCount saleOrderCount purchaseOrderCount }
  tags { name }"""
EVENTS = (
    (
        'subscription { partnerChanged(after: "START") { cursor eventType changes partner {'
        " PARTNER parent { PARTNER } commercialPartner { PARTNER parent { id name } } } } }"
    )
    .replace("START", encode_cursor(0))
    .replace("PARTNER", PARTNER)
)
"""Every event of the log replayed, each with loaders at three levels (partners, tags,
stats): a `complete` sent after the first event lands while later ones load."""


def seed(live: Live, contacts: int) -> None:
    create = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
      partner { id } userErrors { code } } }"""
    company = live.data(create, {"input": {"kind": "COMPANY", "name": "Harbour Lights"}})
    company_id = company["createPartner"]["partner"]["id"]
    for n in range(contacts):
        person = {"kind": "PERSON", "name": f"Contact {n}", "parentId": company_id}
        assert live.data(create, {"input": person})["createPartner"]["userErrors"] == []


async def first_then_stop(sub: Subscription, within: float = 30) -> dict[str, Any]:
    """Subscribes, returns the first event, and stops the subscription right away (the
    server is resolving the next events then). Messages of stopped ones are skipped."""
    op_id = await sub.subscribe(EVENTS)
    try:
        while True:
            async with asyncio.timeout(within):  # a bound for a lost answer
                message = json.loads(await sub.ws.recv())
            if message.get("id") not in (None, op_id):
                continue
            if message["type"] == "ping":
                await sub.ws.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            assert not payload.get("errors"), payload
            return payload
    finally:
        await sub.ws.send(json.dumps({"id": op_id, "type": "complete"}))


def test_subscriptions_stopped_mid_event_leave_the_connection_answering(live: Live) -> None:
    seed(live, contacts=6)

    async def run() -> list[str]:
        kinds = []
        async with websocket(live.base, key=live.keys["admin"]) as sub:
            for _ in range(40):
                payload = await first_then_stop(sub)
                kinds.append(payload["data"]["partnerChanged"]["eventType"])
        return kinds

    assert asyncio.run(run()) == ["PARTNER_CREATED"] * 40
