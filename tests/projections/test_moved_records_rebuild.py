"""Records a merge moved to another partner keep their text when the partner they came
from is erased later: they are the destination's records now. Their text written before
the move was sealed with the source's key; the live rows kept it, and a rebuild of the
read models from the log must give the same rows (an audit's replay must not lose the
destination's activity notes, deal names, document references, IBANs and roles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.database import Database
from app.projections.projector import construct_view
from tests.projections.test_partners_projection import projector_for, table_rows

AUDIT = Audit(actor="test", request_id="r-1", reason="moved along")
IBAN = "BE71096123456769"
INVOICE = {"module": "ACCOUNTING", "kind": "INVOICE", "date": "2026-11-20", "amount": "100"}
TABLES = ("activities", "opportunities", "documents", "bank_accounts", "affiliations")


def _merged(app: Partnerbook) -> tuple[UUID, UUID]:
    """A duplicate person's records, moved by a merge."""
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    destination = app.create_partner("PERSON", {"name": "Kept Person"}, AUDIT).id
    source = app.create_partner("PERSON", {"name": "Duplicate Person"}, AUDIT).id
    call = {"activity_type": "CALL", "summary": "zq call", "note": "zq note"}
    activity = app.schedule_activity(source, {**call, "due_date": "2026-12-24"}, AUDIT).id
    app.complete_activity(activity, "zq feedback", AUDIT)
    deal = app.create_opportunity(source, {"name": "zq deal"}, AUDIT).id
    app.mark_opportunity_lost(deal, "zq lost", AUDIT)
    document = app.record_document(
        source, {**INVOICE, "currency": "EUR", "reference": "ZQ-1"}, AUDIT
    ).id
    account = app.add_bank_account(source, {"iban": IBAN, "holder_name": "zq holder"}, AUDIT).id
    role = app.add_affiliation(source, company, {"role": "zq role"}, AUDIT).id
    app.update_affiliation(role, {"function": "zq function"}, AUDIT)
    owned = {
        "activities": [str(activity)],
        "opportunities": [str(deal)],
        "documents": [str(document)],
        "bank_accounts": [str(account)],
        "affiliations": [str(role)],
    }
    app.merge_partners(destination, [source], {source: owned}, AUDIT)
    return destination, source


Step = Callable[[Partnerbook, UUID], object]


def _live_then_rebuilt(db: Database, *steps: Step) -> UUID:
    """Merges (the live tables then show the moved records), runs `steps` on the
    duplicate with the live tables caught up after each, then builds every table again
    from the log under `rebuild_` names and checks each equals its live one. Returns the
    kept person."""
    env = db.eventsourcing_env(2, 5)
    app = Partnerbook(env=env)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    try:
        destination, source = _merged(app)
        projector.catch_up()
        for step in steps:
            step(app, source)
            projector.catch_up()
    finally:
        app.close()
    reader = Partnerbook(env=env)
    try:
        projector_for(reader, db, construct_view(env, prefix="rebuild_")).catch_up()
    finally:
        reader.close()
    for table in live.table_names:
        assert table_rows(db, f"rebuild_{table}") == table_rows(db, table), table
    return destination


def _erase_the_duplicate(app: Partnerbook, source: UUID) -> object:
    return app.anonymize_partner(source, AUDIT)  # the archived duplicate alone


def test_records_moved_by_a_merge_keep_their_text_when_their_source_is_erased(
    db: Database,
) -> None:
    destination = _live_then_rebuilt(db, _erase_the_duplicate)
    rows = {t: table_rows(db, t) for t in TABLES}
    assert all(
        r["partner_id"] == destination for t in TABLES for r in rows[t] if t != "affiliations"
    )
    (activity,) = rows["activities"]
    assert (activity["summary"], activity["note"], activity["feedback"]) == (
        "zq call",
        "zq note",
        "zq feedback",
    )
    (deal,) = rows["opportunities"]
    assert (deal["name"], deal["lost_reason"]) == ("zq deal", "zq lost")
    assert [d["reference"] for d in rows["documents"]] == ["ZQ-1"]
    assert [(b["iban"], b["holder_name"]) for b in rows["bank_accounts"]] == [(IBAN, "zq holder")]
    (role,) = rows["affiliations"]
    assert (role["partner_id"], role["role"], role["function"]) == (
        destination,
        "zq role",
        "zq function",
    )


def test_records_moved_back_to_the_erased_duplicate_read_erased(db: Database) -> None:
    """The merge undone after the duplicate was erased: its records come back to an erased
    person. The text the merge carried (sealed with the kept person's key) must not make
    them read again: their state is erased, as the live rows and a rebuild show."""
    _live_then_rebuilt(db, _erase_the_duplicate, lambda app, s: app.unmerge_partner(s, AUDIT))
    reader = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        ids = [r["id"] for t in TABLES for r in table_rows(db, t)]
        records: list[Any] = [reader.repository.get(i) for i in ids]
    finally:
        reader.close()
    assert len(records) == len(TABLES)
    assert "zq" not in repr([vars(r) for r in records]).lower()
    assert IBAN not in repr([vars(r) for r in records])
    rows = [r for t in TABLES for r in table_rows(db, t)]
    assert "zq" not in repr(rows).lower() and IBAN not in repr(rows)
