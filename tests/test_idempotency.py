"""Idempotency keys on create mutations: a repeat with the same input returns the first
result and records nothing; the same key with a different input is refused."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.domain.idempotency import input_digest
from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.partner_ops import CREATE, create
from tests.schema.test_relationship import OPPORTUNITY, RECORD, SCHEDULE

TAG = """mutation($input: CreateTagInput!) { createTag(input: $input) {
  tag { id } userErrors { field code message } } }"""
SEGMENT = """mutation($input: CreateSegmentInput!) { createSegment(input: $input) {
  segment { id } userErrors { field code message } } }"""
INDUSTRY = """mutation($input: CreateIndustryInput!) { createIndustry(input: $input) {
  industry { id } userErrors { field code message } } }"""

# (mutation, payload field, record field, input without partnerId, a changed field)
CASES: dict[str, tuple[str, str, str, dict[str, Any], dict[str, Any]]] = {
    "createPartner": (
        CREATE,
        "createPartner",
        "partner",
        {"kind": "COMPANY", "name": "Acme"},
        {"name": "Acme Ltd"},
    ),
    "scheduleActivity": (
        SCHEDULE,
        "scheduleActivity",
        "activity",
        {"activityType": "CALL", "summary": "Call", "dueDate": "2026-12-01"},
        {"summary": "Another call"},
    ),
    "recordDocument": (
        RECORD,
        "recordDocument",
        "document",
        {
            "module": "ACCOUNTING",
            "kind": "INVOICE",
            "reference": "INV/1",
            "date": "2026-11-20",
            "amount": "100",
            "currency": "EUR",
        },
        {"amount": "101"},
    ),
    "createOpportunity": (
        OPPORTUNITY,
        "createOpportunity",
        "opportunity",
        {"name": "Chairs", "probability": 40},
        {"probability": 50},
    ),
    "createTag": (TAG, "createTag", "tag", {"name": "VIP"}, {"name": "VIP2"}),
    "createSegment": (SEGMENT, "createSegment", "segment", {"name": "All"}, {"name": "Some"}),
    "createIndustry": (INDUSTRY, "createIndustry", "industry", {"name": "Retail"}, {"name": "X"}),
}
NEEDS_PARTNER = {"scheduleActivity", "recordDocument", "createOpportunity"}


def _input(client: TestClient, name: str) -> dict[str, Any]:
    fields = dict(CASES[name][3])
    if name in NEEDS_PARTNER:
        fields["partnerId"] = create(client, kind="COMPANY", name="Host")["id"]
    return fields


@pytest.mark.parametrize("name", list(CASES))
def test_a_repeat_returns_the_first_result_and_records_nothing(
    client: TestClient, db: Database, name: str
) -> None:
    query, payload, record, _, _ = CASES[name]
    fields = {**_input(client, name), "idempotencyKey": f"key-{name}"}
    first = gql(client, query, {"input": fields})[payload]
    assert first["userErrors"] == []
    before = event_count(db)
    again = gql(client, query, {"input": fields})[payload]
    assert again["userErrors"] == []
    assert again[record]["id"] == first[record]["id"]
    assert event_count(db) == before


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_key_with_another_input_is_refused(
    client: TestClient, db: Database, name: str
) -> None:
    query, payload, record, _, changed = CASES[name]
    fields = {**_input(client, name), "idempotencyKey": f"key-{name}"}
    assert gql(client, query, {"input": fields})[payload]["userErrors"] == []
    before = event_count(db)
    other = gql(client, query, {"input": {**fields, **changed}})[payload]
    assert other[record] is None
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ]
    assert event_count(db) == before


def test_the_digest_is_written_in_the_same_transaction(client: TestClient, db: Database) -> None:
    create(client, kind="COMPANY", name="Acme", idempotencyKey="k-1")
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute(
            "SELECT topic, xmin::text FROM partnerbook_events ORDER BY notification_id"
        ).fetchall()
    topics = [topic for topic, _ in rows]
    assert any(t.endswith("IdempotencyRecord.Remembered") for t in topics)
    assert len({xmin for _, xmin in rows}) == 1  # one transaction wrote them all


def test_a_record_created_before_digests_were_kept_still_answers_repeats(
    client: TestClient, db: Database
) -> None:
    """Events stored in the old shape (a keyed aggregate without its digest record)."""
    first = create(client, kind="COMPANY", name="Acme", idempotencyKey="old-1")
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("DELETE FROM partnerbook_events WHERE topic LIKE '%IdempotencyRecord%'")
    before = event_count(db)
    again = create(client, kind="COMPANY", name="Acme", idempotencyKey="old-1")
    assert again["id"] == first["id"]
    assert event_count(db) == before


def test_the_digest_is_canonical() -> None:
    secret = b"s" * 32
    assert input_digest({"b": [1, 2], "a": {"y": 1, "x": None}}, secret) == input_digest(
        {"a": {"x": None, "y": 1}, "b": (1, 2)}, secret
    )
    assert input_digest({"a": 1}, secret) != input_digest({"a": 2}, secret)


def test_the_digest_is_keyed_by_the_installation_secret() -> None:
    """Without the secret, a guessed input cannot be checked against a stored digest."""
    assert input_digest({"a": 1}, b"s" * 32) != input_digest({"a": 1}, b"t" * 32)


def test_a_repeat_answers_a_position_its_reader_waits_for(db: Database) -> None:
    """A repeat (or the loser of a race between two identical requests) answered with no
    position: the mutation did not wait for the projection, and read its record from a
    read model that had not reached the first request's events yet. The audit of
    commands saw `industry: null` with no error for 33 of 96 racing createIndustry. It
    now answers the position the store has reached, which covers the first request's
    events."""
    from app.application import Partnerbook
    from app.domain.audited import Audit

    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    app.group_commit = False
    try:
        audit = Audit(actor="test", request_id="r-repeat")
        first = app.create_tag({"name": "Repeated"}, audit, idempotency_key="repeat-1")
        again = app.create_tag({"name": "Repeated"}, audit, idempotency_key="repeat-1")
        assert again.id == first.id
        assert first.position is not None
        assert again.position is not None and again.position >= first.position
    finally:
        app.close()
