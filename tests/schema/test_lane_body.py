"""The heavy lane decodes a POST body to judge the request; the view takes what it
decoded instead of decoding the same bytes again, and only when the bytes are the same."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from app.schema import http
from app.schema.http import StrictGraphQL
from app.schema.lane import HeavyLane, LanePolicy
from app.schema.limits import Limits
from app.schema.schema import build_schema


@dataclass
class NoLane:
    socket_path: str | None = "/nonexistent/lane.sock"  # never reached: nothing is heavy


async def _known(key: str) -> object:
    return object()


def serve(body: bytes, view_body: bytes | None = None) -> Any:
    """POSTs `body` through the heavy lane to an app that parses what it receives (or
    `view_body`, standing for a body that differs) as the view does."""
    parsed: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        received = b""
        while True:
            message = await receive()
            received += message.get("body", b"")
            if not message.get("more_body"):
                break
        parsed.append(StrictGraphQL.parse_json(Any, view_body or received))  # type: ignore[arg-type]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    schema = build_schema()._schema
    lane = HeavyLane(
        inner,
        schema=lambda: schema,
        lane=NoLane(),
        authenticate=lambda scope: _known,  # the lane judges only a request with a key
        policy=LanePolicy(),
        limits=Limits(),
        max_tokens=10_000,
    )
    headers = [(b"authorization", b"Bearer pb_test")]
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Any:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    asyncio.run(lane(scope, receive, send))
    return parsed[0]


def test_the_view_takes_the_body_the_lane_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[bytes | str] = []
    real = http.decode_json

    def counted(data: bytes | str) -> object:
        decoded.append(data)
        return real(data)

    monkeypatch.setattr(http, "decode_json", counted)
    body = json.dumps({"query": "{ __typename }", "variables": {"n": 1}}).encode()
    assert serve(body) == {"query": "{ __typename }", "variables": {"n": 1}}
    assert decoded == []  # decoded once, by the lane
    other = json.dumps({"query": "{ other }"}).encode()
    assert serve(body, view_body=other) == {"query": "{ other }"}
    assert decoded == [other]  # other bytes: decoded for themselves
