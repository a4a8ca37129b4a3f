"""Crypto-shredding: personal fields of partners' events and snapshots are encrypted with
a per-partner key; erasing a person deletes the key, history still replays (with None),
and a rebuild of the read models reproduces the scrubbed rows."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, ClassVar
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from app.application import Partnerbook
from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.erasure import ERASED_ATTRIBUTE, PERSONAL_FIELDS, erased_fields
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.infra.database import Database
from app.projections.projector import construct_view
from tests.conftest import event_count
from tests.projections.test_partners_projection import (
    projector_for,
    random_history,
    table_rows,
)

AUDIT = Audit(actor="test", request_id="r-1", reason="GDPR request")
PERSON = {
    "name": "Zelda Quixotic-Marsh",
    "email": "zelda.qm@example.org",
    "phone": "+32 470 12 34 56",
    "street": "Rue des Hirondelles 17",
    "city": "Namur",
    "zip": "5000",
    "country_code": "BE",
    "function": "Head of Nothing",
}


class Snapshotting(Partnerbook):
    name = "partnerbook"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Partner: 2}


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Snapshotting(env=db.eventsourcing_env(2, 5))
    yield application
    application.close()


_opened: list[Partnerbook] = []


def fresh_app(db: Database) -> Partnerbook:
    """Another process: nothing cached (closed at the end of the test)."""
    other = Snapshotting(env=db.eventsourcing_env(2, 5))
    _opened.append(other)
    return other


@pytest.fixture(autouse=True)
def _close_others() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def raw_states(db: Database, table: str) -> list[bytes]:
    with psycopg.connect(db.conninfo()) as conn:
        return [bytes(r[0]) for r in conn.execute(f"SELECT state FROM {table}").fetchall()]


def create_person(app: Partnerbook, **values: Any) -> UUID:
    return app.create_partner("PERSON", {**PERSON, **values}, AUDIT).id


def test_personal_fields_are_stored_encrypted_and_read_back(app: Partnerbook, db: Database) -> None:
    pid = create_person(app)
    app.update_partner(pid, {"email": "zelda.new@example.org", "is_customer": True}, AUDIT)

    states = raw_states(db, "partnerbook_events")
    # The phone as stored and as typed; "470" alone turned up in timestamps now and then.
    phone = ("32470123456", "470 12 34 56")
    for secret in ("Zelda", "zelda.qm@example.org", "zelda.new", "Hirondelles", *phone):
        assert not any(secret.encode() in s for s in states), secret
    registered = json.loads(next(s for s in states if b'"kind"' in s))
    assert registered["kind"] == "PERSON"
    assert registered["values"]["country_code"] == "BE"  # not personal: readable
    assert set(registered["values"]["name"]) == {"$enc"}

    partner: Partner = fresh_app(db).repository.get(pid)
    assert partner.values["name"] == "Zelda Quixotic-Marsh"
    assert partner.values["email"] == "zelda.new@example.org"
    assert partner.values["phone"] == "+32470123456"
    assert partner.values["is_customer"] is True


def test_snapshots_are_encrypted_and_unreadable_after_erasure(
    app: Partnerbook, db: Database
) -> None:
    pid = create_person(app)
    app.update_partner(pid, {"city": "Dinant"}, AUDIT)  # version 2: a snapshot
    snapshots = raw_states(db, "partnerbook_snapshots")
    assert snapshots
    assert not any(b"Zelda" in s or b"Dinant" in s for s in snapshots)
    assert fresh_app(db).repository.get(pid).values["city"] == "Dinant"

    app.anonymize_partner(pid, AUDIT)

    other = fresh_app(db)
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM partnerbook_snapshots "
            "WHERE originator_id = %s AND originator_version = 2",
            (pid,),
        ).fetchone()
    assert row is not None
    snapshot: Any = other.mapper.to_domain_event(
        StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=row[3])
    )
    assert snapshot.state["values"]["name"] is None
    assert snapshot.state["values"]["city"] is None
    assert snapshot.state["values"]["country_code"] == "BE"
    partner: Partner = other.repository.get(pid)
    assert partner.anonymized
    assert all(partner.values.get(f) is None for f in PERSONAL_FIELDS)
    # Every version still loads: history replays.
    for version in range(1, partner.version + 1):
        assert other.repository.get(pid, version=version).values["name"] is None


def test_anonymize_deletes_the_key_keeps_every_event(app: Partnerbook, db: Database) -> None:
    pid = create_person(app)
    app.update_partner(pid, {"name": "Zelda Q. Marsh"}, AUDIT)
    before = event_count(db)

    result = app.anonymize_partner(pid, AUDIT)

    assert result.position is not None
    assert event_count(db) == before + 1
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute(
            "SELECT key, erased_at FROM partner_keys WHERE partner_id = %s", (pid,)
        ).fetchone()
    assert row is not None and row[0] is None and row[1] is not None
    reader = fresh_app(db)
    partner: Partner = reader.repository.get(pid)
    assert partner.anonymized and partner.values["name"] is None
    assert partner.values["country_code"] == "BE"
    # Loaded events say which values were erased (for history's `erased: true`).
    events = list(reader.events.get(pid))
    assert erased_fields(events[0]) == {
        "name",
        "email",
        "phone",
        "street",
        "city",
        "zip",
        "function",
        "reason",  # written by a person about the person: under the same key
    }
    assert erased_fields(events[1]) == {"name", "reason"}
    assert erased_fields(events[2]) == {"reason"}  # Anonymized itself: its reason too
    assert ERASED_ATTRIBUTE not in json.loads(reader.mapper.to_stored_event(events[1]).state)

    again = app.anonymize_partner(pid, AUDIT)  # nothing more to do
    assert again.position is None and event_count(db) == before + 1


def test_after_anonymization_personal_fields_stay_empty(app: Partnerbook) -> None:
    pid = create_person(app)
    app.anonymize_partner(pid, AUDIT)
    with pytest.raises(DomainError) as refused:
        app.update_partner(pid, {"email": "back@example.org", "name": "Zelda"}, AUDIT)
    assert {e.code for e in refused.value.errors} == {ErrorCode.VALIDATION}
    assert {e.field for e in refused.value.errors} == {("email",), ("name",)}
    # What is not personal can still change.
    assert app.update_partner(pid, {"is_customer": True}, AUDIT).position is not None


def test_companies_and_unknown_partners_are_refused(app: Partnerbook, db: Database) -> None:
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    before = event_count(db)
    with pytest.raises(DomainError) as refused:
        app.anonymize_partner(company, AUDIT)
    assert refused.value.errors[0].code is ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as missing:
        app.anonymize_partner(uuid4(), AUDIT)
    assert missing.value.errors[0].code is ErrorCode.NOT_FOUND
    assert event_count(db) == before
    assert fresh_app(db).repository.get(company).values["name"] == "Acme"


def test_events_stored_before_encryption_still_load(db: Database) -> None:
    class Plain(Partnerbook):
        name = "partnerbook"
        encrypt_personal_data = False

    plain = Plain(env=db.eventsourcing_env(2, 5))
    try:
        pid = plain.create_partner("PERSON", PERSON, AUDIT).id
    finally:
        plain.close()
    assert any(b"Zelda" in s for s in raw_states(db, "partnerbook_events"))

    app = fresh_app(db)
    assert app.repository.get(pid).values["name"] == "Zelda Quixotic-Marsh"
    app.update_partner(pid, {"email": "later@example.org"}, AUDIT)  # gets a key now
    assert not any(b"later@" in s for s in raw_states(db, "partnerbook_events"))
    partner: Partner = fresh_app(db).repository.get(pid)
    assert partner.values["email"] == "later@example.org"
    assert partner.values["name"] == "Zelda Quixotic-Marsh"


def test_a_group_commit_creates_the_keys_it_needs(app: Partnerbook, db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(
                lambda i: create_person(app, name=f"Person {i}", email=f"p{i}@example.org"),
                range(40),
            )
        )
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM partner_keys WHERE partner_id = ANY(%s) AND key IS NOT NULL",
            (ids,),
        ).fetchone()
    assert row is not None and row[0] == 40
    reader = fresh_app(db)
    assert [reader.repository.get(i).values["email"] for i in ids] == [
        f"p{i}@example.org" for i in range(40)
    ]


def test_rebuild_after_erasure_equals_the_scrubbed_live_tables(db: Database) -> None:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    random_history(app, projector, seed=11, steps=250)
    people = _people(db)
    assert len(people) >= 4
    for pid in people[::2]:
        with contextlib.suppress(DomainError):
            app.anonymize_partner(pid, AUDIT)
        projector.catch_up()
    random_history(app, projector, seed=12, steps=50)  # later changes, anonymized included

    rebuilt = construct_view(env, prefix="rebuild_")
    reader = fresh_app(db)  # no key cached: erased values are read from the log
    projector_for(reader, db, rebuilt).catch_up()
    for table in live.table_names:
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table
    anonymized = [r for r in table_rows(db, "partners") if r["anonymized"]]
    assert len(anonymized) == len(people[::2])
    assert all(r["email"] is None and r["name"] == "Anonymized partner" for r in anonymized)
    app.close()


def _people(db: Database) -> list[UUID]:
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute("SELECT id FROM partners WHERE kind = 'PERSON' ORDER BY id")
        return [r[0] for r in rows]


def test_personal_values_nested_deeper_are_encrypted_too(app: Partnerbook, db: Database) -> None:
    """E.g. a merge keeps the values it replaced per source: a snapshot holds them nested."""
    from eventsourcing.domain import Snapshot

    pid = create_person(app)
    partner: Any = app.repository.get(pid)
    partner.kept = {"source-1": {"previous": {"email": "old.one@example.org", "ref": "R-9"}}}
    stored = app.mapper.to_stored_event(Snapshot.take(partner))
    assert b"old.one@" not in stored.state and b"R-9" in stored.state
    assert partner.kept["source-1"]["previous"]["email"] == "old.one@example.org"  # untouched
    loaded: Any = fresh_app(db).mapper.to_domain_event(stored)
    assert loaded.state["kept"]["source-1"]["previous"] == {
        "email": "old.one@example.org",
        "ref": "R-9",
    }
    assert loaded.state["values"]["name"] == "Zelda Quixotic-Marsh"


def test_timeline_values_nested_in_changes_are_scrubbed(app: Partnerbook, db: Database) -> None:
    """An entry may nest values one level down (what a merge took): they go too."""
    view = construct_view(db.eventsourcing_env(2, 5))
    projector = projector_for(app, db, view)
    pid = create_person(app)
    projector.catch_up()
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute(
            "INSERT INTO timeline (position, occurred_at, kind, actor, summary, subject_type, "
            "subject_id, changes, partner_id) VALUES (999999, now(), 'PARTNER_UPDATED', 't', "
            "'took email', 'Partner', %s, %s, %s)",
            (pid, json.dumps({"changes": {"email": "nested@example.org", "ref": "R1"}}), pid),
        )
    app.anonymize_partner(pid, AUDIT)
    projector.catch_up()
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT changes FROM timeline WHERE position = 999999").fetchone()
    assert row is not None and row[0] == {"changes": {"email": None, "ref": "R1"}}


INVOICE = {
    "module": "ACCOUNTING",
    "kind": "INVOICE",
    "date": "2026-11-20",
    "amount": "100",
    "currency": "EUR",
}


def test_what_is_written_about_a_person_is_under_its_key(app: Partnerbook, db: Database) -> None:
    pid = create_person(app)
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    audit = Audit(actor="test", request_id="r-2", reason="asked by zq.why@example.org")
    call = {"activity_type": "CALL", "summary": "zq-summary", "note": "zq-note"}
    aid = app.schedule_activity(pid, {**call, "due_date": "2026-12-24"}, audit, "zq-key").id
    app.complete_activity(aid, "zq-feedback", audit)
    oid = app.create_opportunity(pid, {"name": "zq-deal"}, audit).id
    app.mark_opportunity_lost(oid, "zq-lost", audit)
    app.record_document(pid, {**INVOICE, "reference": "ZQ-INV-1"}, audit)
    app.record_document(company, {**INVOICE, "reference": "ACME-INV-1"}, AUDIT)

    states = b"".join(raw_states(db, "partnerbook_events"))
    written = [b"zq-summary", b"zq-note", b"zq-feedback", b"zq-deal", b"zq-lost", b"zq.why@"]
    assert [s for s in [*written, b"ZQ-INV-1", b"zq-inv-1"] if s in states] == []
    assert b"ACME-INV-1" in states  # a company's documents stay readable
    reader = fresh_app(db)
    activity: Any = reader.repository.get(aid)
    assert (activity.summary, activity.note, activity.feedback) == (
        "zq-summary",
        "zq-note",
        "zq-feedback",
    )
    assert reader.repository.get(oid).values["name"] == "zq-deal"
    # A catch-up loads the keys its batch names in one query, before decoding it.
    other = fresh_app(db)
    stored = list(other.recorder.select_events(aid))
    other.prefetch_keys(stored)
    assert other.keys is not None and other.keys._cached(pid) is not None

    app.anonymize_partner(pid, AUDIT)
    erased: Any = fresh_app(db).repository.get(aid)
    assert (erased.summary, erased.note, erased.feedback) == (None, None, None)
    events = list(fresh_app(db).events.get(aid))
    assert erased_fields(events[0]) == {"summary", "note", "reason"}


def test_records_stored_before_their_text_was_encrypted_still_load(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and idempotency digests (plain SHA-256) written by an earlier version."""
    import hashlib

    from app.application import base
    from app.domain import idempotency

    class Plain(Partnerbook):
        name = "partnerbook"
        encrypt_personal_data = False

    def unkeyed(request: Any, secret: bytes) -> str:
        return hashlib.sha256(idempotency._canonical(request)).hexdigest()

    monkeypatch.setattr(base, "input_digest", unkeyed)
    plain = Plain(env=db.eventsourcing_env(2, 5))
    values = {"activity_type": "CALL", "summary": "Legacy call", "note": "Legacy note"}
    values["due_date"] = "2026-12-24"
    try:
        pid = plain.create_partner("PERSON", PERSON, AUDIT).id
        aid = plain.schedule_activity(pid, values, AUDIT, "legacy-activity").id
        oid = plain.create_opportunity(pid, {"name": "Legacy deal"}, AUDIT).id
    finally:
        plain.close()
    monkeypatch.undo()
    assert b"Legacy note" in b"".join(raw_states(db, "partnerbook_events"))

    app = fresh_app(db)
    activity: Any = app.repository.get(aid)
    assert (activity.summary, activity.note) == ("Legacy call", "Legacy note")
    assert app.repository.get(oid).values["name"] == "Legacy deal"
    head = app.recorder.max_notification_id()
    again = app.schedule_activity(pid, values, AUDIT, "legacy-activity")
    # The old digest still recognises it: its answer, nothing recorded.
    assert (again.id, again.position) == (aid, head) and app.recorder.max_notification_id() == head
    with pytest.raises(DomainError):
        app.schedule_activity(pid, {**values, "note": "Other"}, AUDIT, "legacy-activity")
    app.complete_activity(aid, "Legacy feedback", AUDIT)  # a new event: encrypted
    assert b"Legacy feedback" not in b"".join(raw_states(db, "partnerbook_events"))
    assert fresh_app(db).repository.get(aid).feedback == "Legacy feedback"


def test_records_about_an_erased_person_read_the_same_after_a_rebuild(db: Database) -> None:
    """The live tables, blanked by `Anonymized`, equal a rebuild that reads the erased
    texts as null; the company's records keep theirs."""
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    try:
        company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
        audit = Audit(actor="test", request_id="r-3", reason="zq reason")
        for owner in (create_person(app), company):
            call = {"activity_type": "MEETING", "summary": "zq call", "note": "zq note"}
            aid = app.schedule_activity(owner, {**call, "due_date": "2026-12-24"}, audit).id
            app.update_activity(aid, {"note": "zq note 2"}, audit)
            app.complete_activity(aid, "zq done", audit)
            oid = app.create_opportunity(owner, {"name": "zq deal"}, audit).id
            app.update_opportunity(oid, {"name": "zq deal 2"}, audit)
            app.mark_opportunity_lost(oid, "zq lost", audit)
            reference = f"ZQ-{owner}"
            app.record_document(owner, {**INVOICE, "reference": reference}, audit)
            app.update_partner(owner, {"notes": "zq partner note"}, audit)
        person = app.create_partner("PERSON", {"name": "Second"}, AUDIT).id  # not erased
        app.schedule_activity(person, {"summary": "kept", "due_date": "2026-12-24"}, audit)
        projector.catch_up()
        erased = [r["id"] for r in table_rows(db, "partners") if r["kind"] == "PERSON"]
        erased.remove(person)
        app.anonymize_partner(erased[0], AUDIT)
        projector.catch_up()
    finally:
        app.close()

    rebuilt = construct_view(env, prefix="rebuild_")
    reader = fresh_app(db)
    projector_for(reader, db, rebuilt).catch_up()
    for table in live.table_names:
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table
    rows = {t: table_rows(db, t) for t in ("activities", "opportunities", "documents")}
    mine = [r for rs in rows.values() for r in rs if r["partner_id"] == erased[0]]
    assert len(mine) == 3 and "zq" not in repr(mine)
    assert {r["name"] for r in rows["opportunities"] if r["partner_id"] == erased[0]} == {
        "(erased)"
    }
    timeline = [r for r in table_rows(db, "timeline") if r["partner_id"] == erased[0]]
    assert len(timeline) >= 10 and "zq" not in repr(timeline).lower()
    kept = [r for r in table_rows(db, "timeline") if r["partner_id"] == company]
    assert "zq deal" in repr(kept) and "zq reason" in repr(kept)


def test_an_activitys_snapshot_is_sealed_with_its_partners_key(db: Database) -> None:
    class ActivitySnapshots(Partnerbook):
        name = "partnerbook"
        snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Activity: 2}

    app = ActivitySnapshots(env=db.eventsourcing_env(2, 5))
    try:
        pid = create_person(app)
        due = {"summary": "zq snap call", "note": "zq snap note", "due_date": "2026-12-24"}
        aid = app.schedule_activity(pid, due, AUDIT).id
        app.update_activity(aid, {"summary": "zq snap call 2"}, AUDIT)
        assert raw_states(db, "partnerbook_snapshots")  # taken at version 2
        assert b"zq snap" not in b"".join(raw_states(db, "partnerbook_snapshots"))
        loaded: Any = fresh_app(db).repository.get(aid)
        assert (loaded.summary, loaded.note) == ("zq snap call 2", "zq snap note")
        app.anonymize_partner(pid, AUDIT)
        gone: Any = fresh_app(db).repository.get(aid)
        assert (gone.summary, gone.note, gone.status) == (None, None, "OPEN")
    finally:
        app.close()


def _rows_about(db: Database, partner: UUID) -> list[dict[str, Any]]:
    """Every row of the records and the timeline entries the read models hold about
    `partner`."""
    tables = ("activities", "opportunities", "documents", "bank_accounts", "timeline")
    return [r for t in tables for r in table_rows(db, t) if r.get("partner_id") == partner]


@pytest.mark.parametrize("together", [False, True], ids=["after", "in-the-same-batch"])
def test_a_record_written_between_the_erasure_and_its_key_deletion_is_blanked(
    db: Database, together: bool
) -> None:
    """`anonymize_partner` records `Anonymized`, then deletes the key: a record about the
    person saved in between is sealed with the key still there, and the projector, which
    had it, read its text after the read models were blanked. It is blanked too, as a
    rebuild (the key gone) reads it."""
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    try:
        person = create_person(app)
        projector.catch_up()
        assert app.keys is not None
        erase = app.keys.erase

        def keep_the_key(partner_id: UUID, *, setting: bool = False) -> None:
            """The key deletion that has not come yet."""

        app.keys.erase = keep_the_key  # type: ignore[method-assign]
        app.anonymize_partner(person, AUDIT)  # the key is still there: the window
        app.keys.erase = erase  # type: ignore[method-assign]
        if not together:
            projector.catch_up()
        audit = Audit(actor="test", request_id="r-late", reason="zq late reason")
        call = {"activity_type": "CALL", "summary": "zq late call", "note": "zq late note"}
        app.schedule_activity(person, {**call, "due_date": "2026-12-24"}, audit)
        app.create_opportunity(person, {"name": "zq late deal"}, audit)
        app.record_document(person, {**INVOICE, "reference": "ZQ-LATE"}, audit)
        projector.catch_up()  # with the key in its cache, as a projector had it
        app.keys.erase(person)  # the erasure's second step
        projector.catch_up()
    finally:
        app.close()

    rows = _rows_about(db, person)
    assert len(rows) >= 5 and "zq" not in repr(rows).lower()
    rebuilt = construct_view(env, prefix="rebuild_")
    projector_for(fresh_app(db), db, rebuilt).catch_up()
    for table in live.table_names:
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table


def test_records_moved_back_to_an_erased_partner_are_blanked(db: Database) -> None:
    """Merged into another partner, erased, then the merge undone: the records the merge
    had moved come back to the erased person, their text blanked as a rebuild reads it."""
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    try:
        source = create_person(app, name="Zq Source")
        destination = create_person(app, name="Destination", email="dest@example.org")
        call = {"activity_type": "CALL", "summary": "zq source call", "due_date": "2026-12-24"}
        activity = app.schedule_activity(source, call, AUDIT).id
        account = {"iban": "NL91ABNA0417164300", "holder_name": "Zq Holder"}
        bank_account = app.add_bank_account(source, account, AUDIT).id
        projector.catch_up()
        owned = {"activities": [str(activity)], "bank_accounts": [str(bank_account)]}
        app.merge_partners(destination, [source], {source: owned}, AUDIT)
        projector.catch_up()
        app.anonymize_partner(source, AUDIT)
        projector.catch_up()
        app.unmerge_partner(source, AUDIT)
        projector.catch_up()
    finally:
        app.close()

    records = [
        r
        for t in ("activities", "bank_accounts")
        for r in table_rows(db, t)
        if r["id"] in (activity, bank_account)
    ]
    assert [r["partner_id"] for r in records] == [source, source]
    assert "zq" not in repr(records).lower() and "NL91" not in repr(records)
    rebuilt = construct_view(env, prefix="rebuild_")
    projector_for(fresh_app(db), db, rebuilt).catch_up()
    for table in ("activities", "bank_accounts", "partners"):
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table


def test_a_bulk_edits_record_keeps_no_reason(app: Partnerbook, db: Database) -> None:
    """The reason of a bulk edit is about every partner it changed: it goes on each
    partner's event (sealed with that partner's key), not on the bulk edit's own record,
    which no erasure reaches."""
    from app.domain.bulk_edit import BulkChanges

    person = create_person(app)
    audit = Audit(actor="test", request_id="r-bulk", reason="Zq asked for it")
    changes = BulkChanges(is_customer=True)
    result = app.bulk_update_partners([person], changes, audit, limit=10, idempotency_key="k")
    assert result.job_id is not None and result.outcome.changed == 1
    app.anonymize_partner(person, AUDIT)
    assert b"Zq asked" not in b"".join(raw_states(db, "partnerbook_events"))
    again = fresh_app(db).bulk_update_partners(
        [person], changes, audit, limit=10, idempotency_key="k"
    )
    assert again.job_id == result.job_id and again.outcome.changed == 1


def _originators(db: Database) -> set[UUID]:
    with psycopg.connect(db.conninfo()) as conn:
        return {r[0] for r in conn.execute("SELECT originator_id FROM partnerbook_events")}


def _codes(call: Any) -> list[str]:
    with pytest.raises(DomainError) as refused:
        call()
    return [e.code.name for e in refused.value.errors]


def test_an_erased_persons_document_reference_is_neither_held_nor_guessable(
    app: Partnerbook, db: Database
) -> None:
    """The uniqueness reservation of a person's document reference: its id is keyed with
    the installation's secret (a copy of the log does not tell whether a guessed
    reference was there), and once its key is erased it holds nothing (the API can no
    longer be asked whether a guessed reference was the erased person's)."""
    from app.domain.document import reference_key
    from app.domain.reservation import reservation_id

    person = create_person(app)
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    app.record_document(person, {**INVOICE, "reference": "ZQ-REF-1"}, AUDIT)
    again = {**INVOICE, "reference": "zq-ref-1"}
    assert _codes(lambda: app.record_document(company, again, AUDIT)) == ["DUPLICATE"]
    unkeyed = reservation_id(reference_key("ACCOUNTING", "INVOICE", "ZQ-REF-1"))
    assert unkeyed not in _originators(db)

    app.anonymize_partner(person, AUDIT)
    other = fresh_app(db)
    assert other.record_document(company, again, AUDIT).id is not None
    assert _codes(lambda: other.record_document(person, again, AUDIT)) == ["DUPLICATE"]


def test_a_reservation_stored_before_its_id_was_keyed_still_holds(
    app: Partnerbook, db: Database
) -> None:
    from app.domain.document import reference_key
    from app.domain.reservation import Reservation

    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    legacy = Reservation(reference_key("ACCOUNTING", "INVOICE", "OLD-1"), str(uuid4()))
    app.save(legacy)  # as older code stored it: its id the plain hash of the reference
    old = {**INVOICE, "reference": "old-1"}
    assert _codes(lambda: app.record_document(company, old, AUDIT)) == ["DUPLICATE"]
    assert app.record_document(company, {**INVOICE, "reference": "NEW-1"}, AUDIT).id
