"""API keys through GraphQL: admin only, the secret once, revocation everywhere at once,
audited as events, and never a state without an active admin key."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.application import Partnerbook
from app.domain.api_key import ApiKey
from app.infra import api_keys, key_admin
from app.infra.database import Database
from app.schema.ids import expect_id
from tests.conftest import as_key, event_count, gql, gql_raw, key_for

CREATE = """mutation($name: String!, $role: ApiKeyRole!, $days: Int) {
  createApiKey(input: {name: $name, role: $role, expiresInDays: $days}) {
    apiKey { id name role createdAt expiresAt lastUsedAt active } secret
    userErrors { field code message } } }"""
REVOKE = """mutation($id: ID!) { revokeApiKey(input: {id: $id, reason: "left"}) {
  apiKey { id name revokedAt active } userErrors { field code } } }"""
LIST = "{ apiKeys { id name role active } }"
PARTNERS = "{ partners(first: 1) { totalCount } }"


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def create(client: TestClient, name: str, role: str = "VIEWER", days: int | None = None) -> Any:
    return gql(client, CREATE, {"name": name, "role": role, "days": days})["createApiKey"]


def key_id(db: Database, name: str) -> str:
    from app.schema.ids import to_global_id

    (row,) = [r for r in api_keys.list_keys(db.conninfo()) if r.name == name]
    return to_global_id("ApiKey", row.id)


def test_an_admin_creates_a_key_whose_secret_is_shown_once_and_works(
    client: TestClient, db: Database
) -> None:
    made = create(client, "dashboard", "EDITOR", 30)
    assert made["userErrors"] == []
    assert made["apiKey"]["role"] == "EDITOR" and made["apiKey"]["active"] is True
    assert made["apiKey"]["expiresAt"] is not None and made["apiKey"]["lastUsedAt"] is None
    secret = made["secret"]
    listed = gql(client, LIST)["apiKeys"]
    assert {k["name"] for k in listed} == {"test-admin", "dashboard"}
    assert secret not in str(listed)
    admin = client.headers["Authorization"]
    assert gql(as_key(client, secret), PARTNERS)["partners"]["totalCount"] == 0
    client.headers["Authorization"] = admin
    with psycopg.connect(db.conninfo()) as conn:
        assert conn.execute(
            "SELECT count(*) FROM api_keys WHERE hash = %s", (secret,)
        ).fetchone() == (0,)


def test_bad_names_and_expiry_are_user_errors(client: TestClient, db: Database) -> None:
    assert create(client, "twice")["userErrors"] == []
    before = event_count(db)
    for name, days, code, field in (
        ("twice", None, "DUPLICATE", "name"),
        ("  ", None, "VALIDATION", "name"),
        ("x" * 201, None, "VALIDATION", "name"),
        ("ok", 0, "VALIDATION", "expiresInDays"),
        ("ok", 100_000, "VALIDATION", "expiresInDays"),
    ):
        made = gql(client, CREATE, {"name": name, "role": "VIEWER", "days": days})["createApiKey"]
        assert made["secret"] is None and made["apiKey"] is None
        assert [(e["code"], e["field"]) for e in made["userErrors"]] == [(code, [field])]
    assert event_count(db) == before
    assert len(api_keys.list_keys(db.conninfo())) == 2


@pytest.mark.parametrize("role", ["viewer", "editor", "auditor"])
def test_only_an_admin_may_list_create_or_revoke_keys(
    client: TestClient, db: Database, role: str
) -> None:
    admin_id = key_id(db, "test-admin")
    before = event_count(db)
    as_key(client, key_for(db, role))
    assert codes(gql_raw(client, CREATE, {"name": "mine", "role": "ADMIN"})) == ["FORBIDDEN"]
    assert codes(gql_raw(client, REVOKE, {"id": admin_id})) == ["FORBIDDEN"]
    body = gql_raw(client, LIST)
    assert codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert event_count(db) == before
    assert [r.name for r in api_keys.list_keys(db.conninfo()) if r.revoked_at] == []


def test_a_revoked_key_is_refused_at_once_though_it_was_just_used(
    client: TestClient, db: Database
) -> None:
    secret = create(client, "short-lived")["secret"]
    admin = client.headers["Authorization"]
    assert codes(gql_raw(as_key(client, secret), PARTNERS)) == []  # looked up: cached now
    client.headers["Authorization"] = admin
    revoked = gql(client, REVOKE, {"id": key_id(db, "short-lived")})["revokeApiKey"]
    assert revoked["userErrors"] == [] and revoked["apiKey"]["active"] is False
    assert codes(gql_raw(as_key(client, secret), PARTNERS)) == ["UNAUTHENTICATED"]
    client.headers["Authorization"] = admin
    again = gql(client, REVOKE, {"id": key_id(db, "short-lived")})["revokeApiKey"]
    assert again["apiKey"]["revokedAt"] == revoked["apiKey"]["revokedAt"]


def test_key_changes_are_events_with_the_admin_as_actor(client: TestClient, db: Database) -> None:
    made = create(client, "audited", "AUDITOR")
    gql(client, REVOKE, {"id": made["apiKey"]["id"]})
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        key: object = app.repository.get(expect_id(made["apiKey"]["id"], "ApiKey"))
        assert isinstance(key, ApiKey) and key.revoked
        events: list[Any] = list(app.events.get(key.id))
    finally:
        app.close()
    assert [type(e).__name__ for e in events] == ["Created", "Revoked"]
    assert {e.actor for e in events} == {"test-admin"}
    assert events[1].reason == "left"
    assert made["secret"] not in repr(events)
    # The read side passed over them (a projection stuck on them would hold this back).
    created = gql(
        client,
        'mutation { createPartner(input: {kind: COMPANY, name: "After"}) { partner { name } } }',
    )
    assert created["createPartner"]["partner"] == {"name": "After"}
    assert gql(client, PARTNERS)["partners"]["totalCount"] == 1


def test_the_last_admin_cannot_revoke_itself(client: TestClient, db: Database) -> None:
    before = event_count(db)
    refused = gql(client, REVOKE, {"id": key_id(db, "test-admin")})["revokeApiKey"]
    assert refused["apiKey"] is None
    assert refused["userErrors"] == [{"field": ["id"], "code": "FORBIDDEN"}]
    assert event_count(db) == before
    assert codes(gql_raw(client, PARTNERS)) == []


def test_an_expired_admin_does_not_count_as_the_other_admin(
    client: TestClient, db: Database
) -> None:
    create(client, "old-admin", "ADMIN", 1)
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET expires_at = now() WHERE name = 'old-admin'")
    refused = gql(client, REVOKE, {"id": key_id(db, "test-admin")})["revokeApiKey"]
    assert refused["userErrors"] == [{"field": ["id"], "code": "FORBIDDEN"}]


def test_an_admin_may_revoke_itself_when_another_admin_remains(
    client: TestClient, db: Database
) -> None:
    other = create(client, "second-admin", "ADMIN")["secret"]
    done = gql(client, REVOKE, {"id": key_id(db, "test-admin")})["revokeApiKey"]
    assert done["userErrors"] == [] and done["apiKey"]["active"] is False
    assert codes(gql_raw(client, PARTNERS)) == ["UNAUTHENTICATED"]
    as_key(client, other)
    refused = gql(client, REVOKE, {"id": key_id(db, "second-admin")})["revokeApiKey"]
    assert refused["userErrors"] == [{"field": ["id"], "code": "FORBIDDEN"}]


def _waiting_for_the_key_lock(conninfo: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
        return bool(row and row[0])


def test_two_concurrent_revocations_of_the_two_last_admins_leave_one(db: Database) -> None:
    """The first revocation holds the lock until the second one waits on it (driven by
    progress: pg_locks shows the waiter); exactly one of them may then succeed."""
    conninfo = db.conninfo()
    first = api_keys.create_key(conninfo, "admin-a", "admin")
    second = api_keys.create_key(conninfo, "admin-b", "admin")
    assert first and second
    ids = {r.name: r.id for r in api_keys.list_keys(conninfo)}
    outcomes: dict[str, str] = {}

    def revoke(name: str, record: key_admin.Record) -> None:
        try:
            key_admin.revoke(conninfo, ids[name], record)
            outcomes[name] = "revoked"
        except key_admin.LastAdmin:
            outcomes[name] = "refused"

    other = threading.Thread(target=revoke, args=("admin-b", lambda row: None))

    def hold_until_the_other_waits(row: Any) -> None:
        other.start()
        while not _waiting_for_the_key_lock(conninfo):
            time.sleep(0.01)

    revoke("admin-a", hold_until_the_other_waits)
    other.join()
    assert outcomes == {"admin-a": "revoked", "admin-b": "refused"}
    active = [r.name for r in api_keys.list_keys(conninfo) if r.revoked_at is None]
    assert active == ["admin-b"]


def test_a_revocation_through_one_process_is_refused_by_another_at_once(
    client: TestClient, settings: Any, admin_key: str
) -> None:
    """Two apps on one database (two server processes): B looked the key up and cached
    it; once revokeApiKey answers on A, B refuses the key on its next request."""
    from app.main import create_app

    secret = create(client, "shared")["secret"]
    with TestClient(create_app(settings)) as other:
        as_key(other, secret)
        assert codes(gql_raw(other, PARTNERS)) == []  # cached by B now
        revoked = gql(client, REVOKE, {"id": create_id(client, "shared")})["revokeApiKey"]
        assert revoked["userErrors"] == []
        assert codes(gql_raw(other, PARTNERS)) == ["UNAUTHENTICATED"]


def create_id(client: TestClient, name: str) -> str:
    return str(next(k["id"] for k in gql(client, LIST)["apiKeys"] if k["name"] == name))
