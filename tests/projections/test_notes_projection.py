"""The notes' read model and timeline entries: a rebuild after an erasure writes the rows
the live projector left (rebuild == incremental), bodies of the erased person's notes
empty in both."""

from __future__ import annotations

import psycopg

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.database import Database
from app.projections.projector import construct_view
from tests.projections.test_partners_projection import projector_for, table_rows

AUDIT = Audit(actor="ann", request_id="r-1", reason="met at the fair")
ADMIN = Audit(actor="admin", request_id="r-2")


def test_a_rebuild_after_erasure_equals_the_live_notes_and_timeline(db: Database) -> None:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    projector = projector_for(app, db, live)
    person = app.create_partner("PERSON", {"name": "Quinn Zed"}, AUDIT).id
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    first = app.log_note(person, "Quinn likes zq-tea", AUDIT).id
    app.edit_note(first, "Quinn likes zq-coffee", AUDIT, admin=False)
    second = app.log_note(person, "zq-second", AUDIT).id
    app.delete_note(second, ADMIN, admin=True)
    app.log_note(company, "Acme note", AUDIT)
    projector.catch_up()
    app.anonymize_partner(person, ADMIN)
    projector.catch_up()

    rebuilt = construct_view(env, prefix="rebuild_")
    reader = Partnerbook(env=db.eventsourcing_env(2, 5))  # no key cached
    projector_for(reader, db, rebuilt).catch_up()
    for table in ("notes", "timeline"):
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table
    bodies = {(r["partner_id"], r["deleted"]): r["body"] for r in table_rows(db, "notes")}
    assert bodies == {(person, False): None, (person, True): None, (company, False): "Acme note"}
    with psycopg.connect(db.conninfo()) as conn:
        text = str(conn.execute("SELECT array_agg(t::text) FROM timeline t").fetchone())
    assert "zq-" not in text and "Acme note" in text
    reader.close()
    app.close()
