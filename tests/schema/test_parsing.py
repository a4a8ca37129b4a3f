"""An operation's text is parsed once per process, and walked once per shape of its
variables: the heavy lane's check and the view share both caches (a cheap request paid
for a second parse and walk before: ~0.6 ms of CPU)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.schema import auth
from app.schema.lane import HeavyLane, LanePolicy, is_heavy
from app.schema.parsing import CACHED_TEXTS, parse_operation
from tests.conftest import gql

QUERY = "query Parsed { partners(first: 1) { totalCount } }"


def test_the_lane_check_and_the_view_parse_and_walk_an_operation_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    parse_operation.cache_clear()
    walks: list[Any] = []
    walk = auth.walk  # type: ignore[attr-defined]

    def counted(*args: Any) -> Any:
        walks.append(args)
        return walk(*args)

    monkeypatch.setattr(auth, "walk", counted)
    body = json.dumps({"query": QUERY}).encode()

    lane = next(m for m in client.app.user_middleware if m.cls is HeavyLane)  # type: ignore[attr-defined]
    schema, limits = lane.kwargs["schema"](), lane.kwargs["limits"]
    assert not is_heavy(schema, body, LanePolicy(), limits, lane.kwargs["max_tokens"])
    gql(client, QUERY)
    gql(client, QUERY)

    info = parse_operation.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert len(walks) == 1


def test_unique_texts_cannot_grow_the_cache() -> None:
    parse_operation.cache_clear()
    for i in range(CACHED_TEXTS + 50):
        parse_operation(f"{{ a{i} }}", max_tokens=5000)
    assert parse_operation.cache_info().currsize == CACHED_TEXTS
