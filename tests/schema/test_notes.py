"""Notes over HTTP: the thread, authors, history as events, the timeline (kind NOTE),
body guards, roles, and erasure (a pg_dump holds no note about an erased person)."""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.testclient import TestClient

from app.infra.database import Database
from app.schema.live.cursors import encode_cursor
from tests.conftest import as_key, event_count, gql, gql_raw, key_for
from tests.schema.test_anonymize import pg_dump

LOG = """mutation($input: LogNoteInput!) { logNote(input: $input) {
  note { id body author createdAt version partner { name } } userErrors { field code message } } }"""
EDIT = """mutation($input: EditNoteInput!) { editNote(input: $input) {
  note { id body author version } userErrors { field code message } } }"""
DELETE = """mutation($input: DeleteNoteInput!) { deleteNote(input: $input) {
  deletedId userErrors { field code message } } }"""
THREAD = """query($id: ID!) { notes(partnerId: $id, first: 10) {
  totalCount nodes { body author } } }"""
TIMELINE = """query($id: ID!) { partner(id: $id) { timeline(first: 20, kinds: [NOTE]) {
  nodes { kind summary actor changes subject { id } } } } }"""
CREATE = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { code } } }"""
ANONYMIZE = """mutation($id: ID!) { anonymizePartner(input: {id: $id}) { userErrors { code } } }"""


def partner(client: TestClient, kind: str = "COMPANY", name: str = "Acme") -> str:
    created = gql(client, CREATE, {"input": {"kind": kind, "name": name}})["createPartner"]
    return str(created["partner"]["id"])


def log(client: TestClient, partner_id: str, body: str, **more: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(
        client, LOG, {"input": {"partnerId": partner_id, "body": body, **more}}
    )["logNote"]
    return result


def test_a_note_is_logged_edited_and_deleted_with_its_history_in_the_timeline(
    client: TestClient, db: Database
) -> None:
    acme = partner(client)
    logged = log(client, acme, "  Called: wants a quote\r\nby Friday  ")
    note = logged["note"]
    assert logged["userErrors"] == []
    assert (note["body"], note["author"], note["version"]) == (
        "Called: wants a quote\nby Friday",
        "test-admin",
        1,
    )
    assert note["partner"] == {"name": "Acme"}
    edited = gql(client, EDIT, {"input": {"id": note["id"], "body": "Quote sent"}})["editNote"]
    assert edited["note"]["body"] == "Quote sent" and edited["note"]["version"] == 2
    log(client, acme, "Second note")
    thread = gql(client, THREAD, {"id": acme})["notes"]
    assert thread["totalCount"] == 2
    assert [n["body"] for n in thread["nodes"]] == ["Second note", "Quote sent"]
    deleted = gql(client, DELETE, {"input": {"id": note["id"]}})["deleteNote"]
    assert deleted == {"deletedId": note["id"], "userErrors": []}
    assert gql(client, THREAD, {"id": acme})["notes"]["totalCount"] == 1
    entries = gql(client, TIMELINE, {"id": acme})["partner"]["timeline"]["nodes"]
    assert [(e["kind"], e["summary"], e["changes"]) for e in entries] == [
        ("NOTE", "Note deleted", {}),
        ("NOTE", "Note logged", {"body": "Second note"}),
        ("NOTE", "Note edited", {"body": "Quote sent"}),
        ("NOTE", "Note logged", {"body": "Called: wants a quote\nby Friday"}),
    ]
    assert {e["actor"] for e in entries} == {"test-admin"}
    gone = gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": note["id"]})
    assert gone["node"] is None


def test_only_the_author_or_an_admin_may_change_a_note(client: TestClient, db: Database) -> None:
    acme = partner(client)
    admin = client.headers["Authorization"]
    as_key(client, key_for(db, "editor", "ann"))
    note = log(client, acme, "Ann's note")["note"]
    as_key(client, key_for(db, "editor", "bob"))
    before = event_count(db)
    refused = gql(client, EDIT, {"input": {"id": note["id"], "body": "Bob was here"}})["editNote"]
    assert refused["note"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["id"], "FORBIDDEN")]
    refused = gql(client, DELETE, {"input": {"id": note["id"]}})["deleteNote"]
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    assert event_count(db) == before
    client.headers["Authorization"] = admin
    moderated = gql(client, EDIT, {"input": {"id": note["id"], "body": "Edited by an admin"}})
    assert moderated["editNote"]["note"]["author"] == "ann"


def test_viewers_and_auditors_cannot_log_notes(client: TestClient, db: Database) -> None:
    acme = partner(client)
    before = event_count(db)
    for role in ("viewer", "auditor"):
        as_key(client, key_for(db, role))
        body = gql_raw(client, LOG, {"input": {"partnerId": acme, "body": "x"}})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        assert gql(client, THREAD, {"id": acme})["notes"]["totalCount"] == 0
    assert event_count(db) == before


def test_bad_bodies_are_refused_and_change_nothing(client: TestClient, db: Database) -> None:
    acme = partner(client)
    before = event_count(db)
    for body in ("", "   \n ", "x" * 10_001, "bell \x07", "escape \x1b[31m red", "c1 \x85 inside"):
        refused = log(client, acme, body)
        assert refused["note"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
            (["body"], "VALIDATION")
        ], repr(body[:20])
    nul = gql_raw(client, LOG, {"input": {"partnerId": acme, "body": "nul \x00 here"}})
    assert [e["extensions"]["code"] for e in nul["errors"]] == ["BAD_REQUEST"]
    huge = {"input": {"partnerId": acme, "body": "x" * 2_000_000}}
    response = client.post("/graphql", json={"query": LOG, "variables": huge})
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["LIMIT_EXCEEDED"]
    unknown = log(client, "UGFydG5lcjowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA", "x")
    assert [e["code"] for e in unknown["userErrors"]] == ["NOT_FOUND"]
    assert event_count(db) == before
    assert log(client, acme, "tabs\tand\nlines are fine")["userErrors"] == []


def test_a_repeated_idempotency_key_logs_one_note(client: TestClient, db: Database) -> None:
    acme = partner(client)
    first = log(client, acme, "once", idempotencyKey="note-1")
    before = event_count(db)
    again = log(client, acme, "once", idempotencyKey="note-1")
    assert again["note"]["id"] == first["note"]["id"]
    assert event_count(db) == before


def test_erasing_a_person_erases_the_notes_about_them_from_a_dump(
    client: TestClient, db: Database
) -> None:
    person = partner(client, "PERSON", "Quentin Arbogast")
    note = log(client, person, "Quentin's allergy: hazelnuts-zq91")["note"]
    gql(client, EDIT, {"input": {"id": note["id"], "body": "Moved to Ghent-zq92"}})
    dump = pg_dump(db)
    assert "zq92" in dump  # the read models show it while the person is known
    with psycopg.connect(db.conninfo()) as conn:
        states = b"".join(bytes(r[0]) for r in conn.execute("SELECT state FROM partnerbook_events"))
    assert b"zq91" not in states and b"zq92" not in states  # the events: ciphertext only
    assert gql(client, ANONYMIZE, {"id": person})["anonymizePartner"]["userErrors"] == []
    dump = pg_dump(db)
    for secret in ("zq91", "zq92", "hazelnuts", "Ghent"):
        assert secret not in dump, secret
    thread = gql(client, THREAD, {"id": person})["notes"]
    assert thread["nodes"] == [{"body": None, "author": "test-admin"}]
    refused = log(client, person, "after erasure")
    assert [e["code"] for e in refused["userErrors"]] == ["VALIDATION"]


def test_a_note_logged_reaches_a_timeline_subscriber_live(
    client: TestClient, admin_key: str
) -> None:
    acme = partner(client)
    payload = {"Authorization": f"Bearer {admin_key}"}
    query = """subscription($id: ID!, $after: String) {
      timeline(partnerId: $id, after: $after) { kind summary actor subject { id } } }"""
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        variables = {"id": acme, "after": encode_cursor(0)}
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        first = ws.receive_json()
        assert first["payload"]["data"]["timeline"]["kind"] == "PARTNER_CREATED"  # replayed
        note = log(client, acme, "Live note")["note"]
        live = ws.receive_json()
    assert live["payload"]["data"]["timeline"] == {
        "kind": "NOTE",
        "summary": "Note logged",
        "actor": "test-admin",
        "subject": {"id": note["id"]},
    }
