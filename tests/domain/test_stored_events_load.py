"""Events and snapshots stored by earlier versions of the code still load.

`tests/fixtures/stored_events.json` holds the rows (topic + state) that the code of
issue 17's start wrote for a history touching every partner event and the other
aggregates, plus each aggregate's state as that code loaded it. Loaded into a fresh
store, the rows must give the same states: events alone, then from snapshots.

The fixture is written by `test_write_fixture` when PARTNERBOOK_WRITE_STORED_EVENTS=1;
never rewrite it to make this test pass (that would hide a broken stored contract).
The rows are stored unencrypted (as events written before encryption are), so that
the personal fields load without the data keys of the recording database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra.database import Database

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stored_events.json"
AUDIT = Audit(actor="fixture", request_id="r-fixture", reason="recorded for the load test")


class PlainPartnerbook(Partnerbook):
    """Stores personal fields readable, so the fixture needs no data keys."""

    name = "partnerbook"
    encrypt_personal_data = False


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = PlainPartnerbook(env=db.eventsourcing_env(2, 5))
    yield application
    application.close()


def record_history(app: Partnerbook) -> list[UUID]:
    """Every partner event, snapshots mid-history, and the other aggregates' events."""
    industry = app.create_catalog_entry("INDUSTRY", {"name": "Retail"}, AUDIT).id
    app.update_catalog_entry(industry, "INDUSTRY", {"name": "Retail trade"}, AUDIT)
    term = app.create_catalog_entry("PAYMENT_TERM", {"name": "30 days"}, AUDIT).id
    seller = app.create_catalog_entry("SALESPERSON", {"name": "Sam Seller"}, AUDIT).id
    tag = app.create_tag({"name": "VIP"}, AUDIT).id
    other_tag = app.create_tag({"name": "Prospect", "color": 3}, AUDIT).id
    app.update_tag(other_tag, {"name": "Prospects"}, AUDIT)
    app.archive_tag(other_tag, AUDIT)
    app.restore_tag(other_tag, AUDIT)
    app.archive_catalog_entry(industry, "INDUSTRY", AUDIT)
    app.restore_catalog_entry(industry, "INDUSTRY", AUDIT)

    company = app.create_partner(
        "COMPANY",
        {
            "name": "Acme",
            "email": "info@acme.example",
            "phone": "+32 2 555 12 34",
            "street": "Rue Haute 1",
            "city": "Brussels",
            "zip": "1000",
            "country_code": "BE",
            "vat": "BE0477472701",
            "industry_id": str(industry),
            "is_customer": True,
            "tag_ids": [str(tag)],
        },
        AUDIT,
    ).id
    person = app.create_partner(
        "PERSON",
        {"name": "Ann Example", "email": "ann@acme.example", "parent_id": str(company)},
        AUDIT,
    ).id
    app.update_partner(company, {"website": "acme.example", "ref": "C-1", "notes": "n"}, AUDIT)
    app.set_commercial_terms(
        company,
        {
            "customer_payment_term_id": str(term),
            "credit_limit": {"amount": "5000", "currency": "EUR"},
        },
        AUDIT,
    )
    app.take_snapshot(company)
    app.add_partner_tags(company, [other_tag], AUDIT)
    app.remove_partner_tags(company, [tag], AUDIT)
    app.archive_partner(company, AUDIT)
    app.restore_partner(company, AUDIT)
    app.update_partner(company, {"city": "Antwerp", "zip": "2000"}, AUDIT)

    duplicate = app.create_partner(
        "COMPANY", {"name": "Acme NV", "ref": "C-2", "city": "Ghent"}, AUDIT
    ).id
    dup_child = app.create_partner("PERSON", {"name": "Bob", "parent_id": str(duplicate)}, AUDIT).id
    app.add_partner_tags(duplicate, [tag], AUDIT)
    dup_call = app.schedule_activity(
        duplicate, {"summary": "Call Acme NV", "due_date": "2026-12-20"}, AUDIT
    ).id
    app.merge_partners(
        company,
        [duplicate],
        {duplicate: {"children": [str(dup_child)], "activities": [str(dup_call)]}},
        AUDIT,
        choices=[("ref", duplicate)],
    )
    app.unmerge_partner(duplicate, AUDIT)

    erased = app.create_partner("PERSON", {"name": "Zelda", "email": "z@example.org"}, AUDIT).id
    app.anonymize_partner(erased, AUDIT)
    app.take_snapshot(person)

    activity = app.schedule_activity(
        person, {"summary": "Call Ann", "due_date": "2026-12-24"}, AUDIT
    ).id
    app.update_activity(activity, {"note": "about renewal"}, AUDIT)
    app.update_activity(activity, {"due_date": "2026-12-28"}, AUDIT)
    app.update_activity(activity, {"assignee_id": str(seller)}, AUDIT)
    app.complete_activity(activity, "done", AUDIT)
    app.cancel_activity(dup_call, AUDIT)
    document = app.record_document(
        company,
        {
            "module": "ACCOUNTING",
            "kind": "INVOICE",
            "reference": "INV-1",
            "date": "2026-11-20",
            "amount": "100",
            "currency": "EUR",
        },
        AUDIT,
    ).id
    app.update_document(document, {"amount": "120"}, AUDIT)
    app.update_document(document, {"status": "PAID"}, AUDIT)
    opportunity = app.create_opportunity(person, {"name": "Renewal"}, AUDIT).id
    app.update_opportunity(opportunity, {"probability": 60}, AUDIT)
    app.mark_opportunity_won(opportunity, AUDIT)
    lost = app.create_opportunity(company, {"name": "Upsell"}, AUDIT).id
    app.mark_opportunity_lost(lost, "too expensive", AUDIT)
    segment = app.create_segment({"name": "Belgians", "search": "acme"}, AUDIT).id
    app.update_segment(segment, {"description": "in Belgium"}, AUDIT)
    app.delete_segment(segment, AUDIT)
    return [
        industry,
        term,
        seller,
        tag,
        other_tag,
        company,
        person,
        duplicate,
        dup_child,
        erased,
        dup_call,
        activity,
        document,
        opportunity,
        lost,
        segment,
    ]


def loaded_state(aggregate: Aggregate) -> dict[str, Any]:
    """What an aggregate holds once loaded, as JSON would say it."""
    state = {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}
    state["class"] = type(aggregate).__qualname__
    loaded: dict[str, Any] = json.loads(json.dumps(state, default=str, sort_keys=True))
    return loaded


def rows(db: Database, table: str) -> list[dict[str, Any]]:
    with psycopg.connect(db.url) as conn:
        found = conn.execute(
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {} "
                "ORDER BY originator_id, originator_version"
            ).format(Identifier(table))
        ).fetchall()
    return [
        {
            "originator_id": str(originator_id),
            "originator_version": version,
            "topic": topic,
            "state": json.loads(bytes(state)),
        }
        for originator_id, version, topic, state in found
    ]


def expected_states(app: Partnerbook, ids: list[UUID]) -> dict[str, Any]:
    """Each aggregate at head; each partner at every version too."""
    expected: dict[str, Any] = {}
    for aggregate_id in ids:
        head: Aggregate = app.repository.get(aggregate_id)
        versions = range(1, head.version + 1) if isinstance(head, Partner) else [head.version]
        expected[str(aggregate_id)] = {
            str(v): loaded_state(app.repository.get(aggregate_id, version=v)) for v in versions
        }
    return expected


@pytest.mark.skipif(
    os.environ.get("PARTNERBOOK_WRITE_STORED_EVENTS") != "1",
    reason="writes the fixture: only when asked (PARTNERBOOK_WRITE_STORED_EVENTS=1)",
)
def test_write_fixture(app: Partnerbook, db: Database) -> None:
    ids = record_history(app)
    fixture = {
        "events": rows(db, "partnerbook_events"),
        "snapshots": rows(db, "partnerbook_snapshots"),
        "expected": expected_states(app, ids),
    }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=json.dumps(row["state"], separators=(",", ":")).encode(),
    )


def _check_states(app: Partnerbook, expected: dict[str, Any]) -> None:
    for aggregate_id, by_version in expected.items():
        for version, state in by_version.items():
            loaded: Aggregate = app.repository.get(UUID(aggregate_id), version=int(version))
            assert loaded_state(loaded) == state, (aggregate_id, version)


def test_stored_events_and_snapshots_load(db: Database) -> None:
    fixture = json.loads(FIXTURE.read_text())
    topics = {row["topic"] for row in fixture["events"]}
    assert len(topics) >= 40, "the fixture covers most event classes"
    assert fixture["snapshots"], "and snapshots"

    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        app.recorder.insert_events([_stored(row) for row in fixture["events"]])
        _check_states(app, fixture["expected"])  # from events alone

        assert app.snapshots is not None
        app.snapshots.recorder.insert_events([_stored(row) for row in fixture["snapshots"]])
        _check_states(app, fixture["expected"])  # from snapshots, then later events
    finally:
        app.close()
