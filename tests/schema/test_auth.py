"""API keys and roles over GraphQL: who gets in, who may do what, who is recorded."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from graphql import OperationType
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.infra import api_keys
from app.infra.database import Database
from app.main import create_app
from app.schema.auth import refusal
from app.schema.live.cursors import encode_cursor
from app.settings import Settings
from tests.conftest import as_key, event_count, gql, gql_raw, key_for

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id name } userErrors { code } } }"""
LIST = "{ partners(first: 10) { totalCount nodes { name } } }"
TIMELINE = """query($id: ID!) { partner(id: $id) { timeline(first: 10) {
  nodes { kind actor } } } }"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def test_without_a_key_nothing_is_answered(client: TestClient, db: Database) -> None:
    as_key(client, None)
    body = gql_raw(client, LIST)
    assert codes(body) == ["UNAUTHENTICATED"]
    assert body.get("data") is None
    body = gql_raw(client, CREATE, {"name": "Acme"})
    assert codes(body) == ["UNAUTHENTICATED"]
    assert event_count(db) == 0


def test_a_wrong_or_malformed_key_is_unauthenticated(client: TestClient) -> None:
    for header in ("Bearer pb_000000000000_nope", "Bearer nonsense", "Basic abc", "Bearer"):
        client.headers["Authorization"] = header
        assert codes(gql_raw(client, LIST)) == ["UNAUTHENTICATED"], header


def test_a_revoked_key_is_refused(client: TestClient, db: Database) -> None:
    key = key_for(db, "viewer", "soon-revoked")
    # A fresh app: no cached look-up of the key yet.
    api_keys.revoke_key(db.conninfo(), "soon-revoked")
    as_key(client, key)
    assert codes(gql_raw(client, LIST)) == ["UNAUTHENTICATED"]


def test_an_expired_key_is_refused(client: TestClient, db: Database) -> None:
    key = key_for(db, "viewer", "expired")
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 second'")
    as_key(client, key)
    assert codes(gql_raw(client, LIST)) == ["UNAUTHENTICATED"]


def test_a_key_that_expires_later_works_and_its_use_is_recorded(
    client: TestClient, db: Database
) -> None:
    key = api_keys.create_key(db.conninfo(), "temporary", "viewer", expires_days=1)
    as_key(client, key)
    assert gql(client, LIST)["partners"]["totalCount"] == 0
    (row,) = [r for r in api_keys.list_keys(db.conninfo()) if r.name == "temporary"]
    assert row.last_used_at is not None
    assert row.state(row.created_at) == "active"


def test_viewer_reads_but_cannot_mutate(client: TestClient, db: Database) -> None:
    gql(client, CREATE, {"name": "Acme"})
    before = event_count(db)
    as_key(client, key_for(db, "viewer"))
    assert gql(client, LIST)["partners"]["nodes"] == [{"name": "Acme"}]
    body = gql_raw(client, CREATE, {"name": "Globex"})
    assert codes(body) == ["FORBIDDEN"]
    assert body.get("data") is None
    assert event_count(db) == before


def test_auditor_reads_but_cannot_mutate(client: TestClient, db: Database) -> None:
    created = gql(client, CREATE, {"name": "Acme"})["createPartner"]["partner"]
    before = event_count(db)
    as_key(client, key_for(db, "auditor"))
    timeline = gql(client, TIMELINE, {"id": created["id"]})["partner"]["timeline"]
    assert timeline["nodes"][0]["actor"] == "test-admin"
    assert codes(gql_raw(client, CREATE, {"name": "Globex"})) == ["FORBIDDEN"]
    assert event_count(db) == before


def test_editor_mutates_and_is_recorded_as_the_actor(client: TestClient, db: Database) -> None:
    as_key(client, key_for(db, "editor", "jane-editor"))
    created = gql(client, CREATE, {"name": "Acme"})["createPartner"]["partner"]
    timeline = gql(client, TIMELINE, {"id": created["id"]})["partner"]["timeline"]
    assert [n["actor"] for n in timeline["nodes"]] == ["jane-editor"]


def test_the_rule_table_by_field_name() -> None:
    """The history and erasure fields land on other branches; the rules are by name."""
    query, mutation = OperationType.QUERY, OperationType.MUTATION
    history = [("Query", "partnerHistory"), ("Query", "partnerAsOf"), ("Query", "auditHead")]
    nested = [("Query", "partner"), ("Partner", "history")]
    for fields in [*([f] for f in history), nested]:
        assert refusal("viewer", query, fields) is not None
        assert refusal("auditor", query, fields) is None
        assert refusal("admin", query, fields) is None
    for name in ("anonymizePartner", "unmergePartner"):
        assert refusal("editor", mutation, [("Mutation", name)]) is not None
        assert refusal("admin", mutation, [("Mutation", name)]) is None
    assert refusal("editor", mutation, [("Mutation", "createPartner")]) is None
    for role in ("viewer", "auditor"):
        assert refusal(role, mutation, [("Mutation", "createPartner")]) is not None
        assert refusal(role, OperationType.SUBSCRIPTION, [("Subscription", "timeline")]) is None
    assert refusal("viewer", query, [("Query", "partners")]) is None
    assert refusal("root", query, [("Query", "partners")]) is not None


def test_graphiql_page_is_served_without_a_key(client: TestClient) -> None:
    as_key(client, None)
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    assert client.get("/healthz").status_code == 200


def _ws(client: TestClient, payload: dict[str, Any]) -> Any:
    return client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])


@pytest.mark.parametrize("payload", [{}, {"Authorization": "Bearer pb_0_bad"}, {"apiKey": "x"}])
def test_websocket_without_a_valid_key_is_closed_4401(
    client: TestClient, payload: dict[str, Any]
) -> None:
    with _ws(client, payload) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


@pytest.mark.parametrize("form", ["Authorization", "authorization", "apiKey"])
def test_websocket_with_a_key_subscribes(
    client: TestClient, db: Database, admin_key: str, form: str
) -> None:
    created = gql(client, CREATE, {"name": "Acme"})["createPartner"]["partner"]
    key = key_for(db, "viewer")
    payload = {form: key if form == "apiKey" else f"Bearer {key}"}
    with _ws(client, payload) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        query = """subscription($id: ID!, $after: String) {
          timeline(partnerId: $id, after: $after) { kind actor } }"""
        variables = {"id": created["id"], "after": encode_cursor(0)}
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        message = ws.receive_json()
        assert message["type"] == "next", message
        assert message["payload"]["data"]["timeline"]["actor"] == "test-admin"


def test_legacy_websocket_without_a_key_gets_a_connection_error(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        message = ws.receive_json()
    assert message["type"] == "connection_error"
    assert message["payload"]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_key_never_appears_in_the_logs(
    client: TestClient, db: Database, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = key_for(db, "viewer")
    bad = "pb_aaaaaaaaaaaa_" + "x" * 43
    for key in (good, bad, admin_key):
        as_key(client, key)
        gql_raw(client, LIST)
        gql_raw(client, "{ nosuchfield }")
    with _ws(client, {}) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": bad}})
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    text = "\n".join(r.getMessage() + str(r.args) + str(r.exc_text) for r in caplog.records)
    for key in (good, bad, admin_key):
        assert key not in text
        assert key.split("_", 2)[2] not in text


def test_a_revocation_is_seen_once_the_cached_look_up_expires(
    settings: Settings, db: Database
) -> None:
    key = key_for(db, "viewer", "revoked-while-in-use")
    uncached = settings.model_copy(update={"key_cache_seconds": 0})
    with TestClient(create_app(uncached), headers={"Authorization": f"Bearer {key}"}) as client:
        assert gql(client, LIST)["partners"]["totalCount"] == 0
        api_keys.revoke_key(db.conninfo(), "revoked-while-in-use")
        assert codes(gql_raw(client, LIST)) == ["UNAUTHENTICATED"]


def test_a_key_that_cannot_be_looked_up_while_the_database_is_down_gets_503(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key not in the cache, while PostgreSQL is away: 503 DATABASE_UNAVAILABLE (to be
    retried), not UNAUTHENTICATED and not a bare 500; the WebSocket closes with 1013."""
    from psycopg_pool import PoolTimeout

    key = key_for(db, "viewer", "not-cached")
    keys = client.app.state.runtime.services.keys  # type: ignore[attr-defined]

    async def unreachable(prefix: str, digest: str) -> None:
        raise PoolTimeout("couldn't get a connection after 2.00 sec")

    monkeypatch.setattr(keys, "_load", unreachable)
    as_key(client, key)
    response = client.post("/graphql", json={"query": LIST})
    assert response.status_code == 503
    assert codes(response.json()) == ["DATABASE_UNAVAILABLE"]
    payload = {"Authorization": f"Bearer {key}"}
    with _ws(client, payload) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1013
    with client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        message = ws.receive_json()
    assert message["type"] == "connection_error"
    assert message["payload"]["extensions"]["code"] == "DATABASE_UNAVAILABLE"


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_an_open_websocket_is_closed_once_its_key_is_revoked(
    settings: Settings, db: Database, protocol: str
) -> None:
    key = key_for(db, "viewer", f"revoked-{protocol}")
    uncached = settings.model_copy(update={"key_cache_seconds": 0})  # checked every 1 s
    payload = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(uncached)) as client:
        with client.websocket_connect("/graphql", subprotocols=[protocol]) as ws:
            ws.send_json({"type": "connection_init", "payload": payload})
            assert ws.receive_json()["type"] == "connection_ack"
            api_keys.revoke_key(db.conninfo(), f"revoked-{protocol}")
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:  # legacy graphql-ws may send keep-alives first
                    assert ws.receive_json()["type"] == "ka"
        assert closed.value.code == 4401
