"""A WebSocket message is decoded off the event loop when it is big. HTTP bodies over
16 KB go to the heavy lane; a WebSocket message of up to PARTNERBOOK_MAX_BODY_BYTES was
decoded and walked on the event loop: 1 MB of empty objects (`[{}, {}, …]` in a
subscription's variables) held every other request for ~0.35 s, and a viewer could
send one after another. Asserted by where the decoding runs, not by how long it takes."""

from __future__ import annotations

import json
import threading

import pytest
from starlette.testclient import TestClient

from app.schema import http
from app.schema.http import OFF_LOOP_BYTES, StrictGraphQL

FEED = "subscription($ids: [ID!]) { partnerChanged(partnerIds: $ids) { eventType } }"


def test_a_big_message_is_decoded_off_the_event_loop_and_a_small_one_on_it(
    client: TestClient, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_on: list[tuple[int, int]] = []  # (size, thread) of each decoded message
    original = StrictGraphQL.decode_json

    def spying(self: StrictGraphQL, data: str | bytes) -> object:
        decoded_on.append((len(data), threading.get_ident()))
        return original(self, data)

    monkeypatch.setattr(StrictGraphQL, "decode_json", spying)
    big = json.dumps(
        {
            "id": "big",
            "type": "subscribe",
            "payload": {
                "query": FEED,
                "variables": {"ids": None},
                "extensions": {"padding": "x" * OFF_LOOP_BYTES},
            },
        }
    )
    small = json.dumps({"id": "small", "type": "subscribe", "payload": {"query": FEED}})
    assert len(big) > OFF_LOOP_BYTES > len(small)
    loop_threads: set[int] = set()
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin_key}"}}
        )
        assert ws.receive_json()["type"] == "connection_ack"
        loop_threads.add(decoded_on[-1][1])  # connection_init: small, on the loop
        ws.send_text(small)
        ws.send_text(big)
        ws.send_json({"type": "ping"})
        answer = ws.receive_json()
        assert answer["type"] == "pong", answer  # both subscribed, the connection lives
    threads = {size: thread for size, thread in decoded_on}
    assert threads[len(small)] in loop_threads
    assert threads[len(big)] not in loop_threads


def test_a_big_body_is_decoded_off_the_event_loop_without_the_heavy_lane(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `PARTNERBOOK_HEAVY_LANE=false` (the `client` fixture's), a body over 16 KB is
    not sent to the lane: it is decoded in a worker thread too."""
    decoded_on: list[tuple[int, int]] = []
    original = http.decode_json

    def spying(data: str | bytes) -> object:
        decoded_on.append((len(data), threading.get_ident()))
        return original(data)

    monkeypatch.setattr(http, "decode_json", spying)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    small = {"query": "{ __typename }"}
    big = {
        "query": query,
        "variables": {"ids": []},
        "extensions": {"padding": "x" * OFF_LOOP_BYTES},
    }
    for body in (small, big):
        answer = client.post("/graphql", json=body)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    [(small_size, small_thread), (big_size, big_thread)] = decoded_on
    assert small_size < OFF_LOOP_BYTES < big_size
    assert small_thread != big_thread  # the small one on the loop, the big one not


def test_a_big_body_that_is_not_json_is_still_a_bad_request(client: TestClient) -> None:
    answer = client.post(
        "/graphql",
        content=b'{"query": "{ __typename }", "x": "' + b"\xff" * (OFF_LOOP_BYTES + 1) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
