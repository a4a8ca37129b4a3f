"""Whatever the event store holds projects (issue 15, item 2): events carrying text
PostgreSQL cannot store (written as old code or a future bug could, through the
application's mapper and recorder, past the schema and the domain) are projected with
that text made storable (U+FFFD), the events after them too, and a rebuild equals the
incremental tables. An event that still cannot be applied is said: in the log, /readyz,
/metrics and `partnerbook projections status`."""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier
from typer.testing import CliRunner

from app.application import Partnerbook
from app.cli import cli
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra.database import Database
from app.projections.projector import (
    AuditProjection,
    Projector,
    RegistryProjection,
    construct_audit_view,
    construct_view,
)
from tests.conftest import table_rows
from tests.security.conftest import Live

AUDIT = Audit(actor="poison-test", request_id="r-poison")
R = "\ufffd"


@pytest.fixture
def app(ungrouped_app: Partnerbook) -> Partnerbook:
    return ungrouped_app


def _raw_update(app: Partnerbook, partner_id: UUID, changes: dict[str, Any]) -> int:
    """A `Partner.Updated` carrying `changes` as they are, written by the application's
    mapper and recorder: no schema, no domain rule. Returns its position."""
    partner: Partner = app.repository.get(partner_id)
    assert isinstance(partner, Partner)
    partner.update({"ref": "placeholder"}, AUDIT)
    [event] = partner.collect_events()
    assert isinstance(event, Partner.Updated)
    event.changes.clear()
    event.changes.update(changes)
    positions = app.recorder.insert_events([app.mapper.to_stored_event(event)])
    assert positions is not None
    [position] = positions
    return int(position)


def _names(db: Database, table: str = "partners") -> set[str]:
    with psycopg.connect(db.conninfo()) as conn:
        return {r[0] for r in conn.execute(SQL("SELECT name FROM {}").format(Identifier(table)))}


def test_poison_text_in_the_store_projects_and_a_rebuild_equals_incremental(
    db: Database, app: Partnerbook
) -> None:
    env = db.eventsourcing_env(2, 5)
    acme = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    app.create_tag({"name": "VIP"}, AUDIT)
    # What the schema let through before: a lone surrogate in an encrypted field.
    app.create_partner("COMPANY", {"name": "Poison Co \ud800"}, AUDIT)
    app.create_partner("PERSON", {"name": "Ann \udfff", "city": "Gh\ud800nt"}, AUDIT)
    # NUL passes the tag's rules and JSON (as \u0000): PostgreSQL text cannot hold it.
    app.create_tag({"name": "bad\x00tag"}, AUDIT)
    # Past every rule: NUL in plain fields, a surrogate in an encrypted one.
    _raw_update(app, acme, {"ref": "R\x00", "name": "Acme \ud800\x00", "vat": "\x00"})
    later = app.create_partner("COMPANY", {"name": "Later Ltd"}, AUDIT).id
    app.update_partner(later, {"name": "Later Ltd renamed"}, AUDIT)
    head = int(app.recorder.max_notification_id() or 0)

    live_view = construct_view(env)
    clean_view = construct_view(env, prefix="clean_")
    audit_view = construct_audit_view(env)
    try:
        # Small batches: a poison event fails a batch, which is tried again with its text
        # made storable; the live tables and the rebuild meet it at other boundaries.
        live = Projector(app, RegistryProjection(live_view), db, batch_size=3)
        assert live.catch_up() == head
        assert live.position == head
        assert _names(db) >= {
            "Poison Co " + R,
            "Ann " + R,
            "Acme " + R + R,
            "Later Ltd renamed",
        }
        with psycopg.connect(db.conninfo()) as conn:
            assert conn.execute(
                "SELECT ref, vat FROM partners WHERE id = %s", (acme,)
            ).fetchone() == (
                "R" + R,
                R,
            )
        assert "bad" + R + "tag" in _names(db, "tags")

        clean = Projector(app, RegistryProjection(clean_view), db, batch_size=500)
        assert clean.catch_up() == head
        for name, clean_name in zip(live_view.table_names, clean_view.table_names, strict=True):
            assert table_rows(db, name) == table_rows(db, clean_name), name

        # The chain hash works on the stored bytes: it passes them all as well.
        chain = Projector(app, AuditProjection(audit_view), db)
        chain.catch_up()
        assert chain.position == head
    finally:
        live_view.datastore.close()
        clean_view.datastore.close()
        audit_view.datastore.close()


def test_an_event_that_cannot_be_applied_is_said_everywhere(
    live: Live, app: Partnerbook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    create = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
      partner { id } } }"""
    live.data(create, {"name": "Before"})
    # An event of a kind this code does not know (say, written by a newer release).
    vanished = StoredEvent(
        originator_id=uuid4(),
        originator_version=1,
        topic="app.domain.vanished:Vanished.Happened",
        state=b"{}",
    )
    caplog.set_level(logging.ERROR, logger="app.projections.projector")
    positions = app.recorder.insert_events([vanished])
    assert positions is not None
    [position] = positions
    app.create_partner("COMPANY", {"name": "After"}, AUDIT)

    deadline = time.monotonic() + 60
    while True:
        ready = live.http.get(f"{live.base}/readyz").json()
        stuck = [s for s in ready.get("stuck", []) if s["projection"] == "registry"]
        if stuck:
            break
        assert time.monotonic() < deadline, ready
        time.sleep(0.2)
    assert stuck[0]["position"] == position
    assert stuck[0]["topic"] == vanished.topic
    assert stuck[0]["error"]
    # The events before it are projected; the one after waits behind it.
    assert live.data("{ partners { totalCount } }")["partners"]["totalCount"] == 1

    metrics = live.http.get(f"{live.base}/metrics").text
    assert f'partnerbook_projection_stuck{{projection="registry"}} {float(position)}' in metrics

    lines = [r.getMessage() for r in caplog.records if "is stuck" in r.getMessage()]
    assert lines and f"cannot apply event {position} ({vanished.topic})" in lines[0], lines

    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", live.db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(live.settings.data_dir))
    result = CliRunner().invoke(cli, ["projections", "status"])
    assert result.exit_code == 2, result.output
    assert f"STUCK: registry cannot apply event {position} ({vanished.topic})" in result.output

    # The way out when no release can apply it: an explicit, logged skip of that event.
    assert (
        CliRunner()
        .invoke(cli, ["projections", "skip", "registry", str(position + 1), "--reason", "x"])
        .exit_code
        == 1
    )  # not the one it is stuck on
    caplog.set_level(logging.WARNING, logger="app.projections.projector")
    result = CliRunner().invoke(
        cli, ["projections", "skip", "registry", str(position), "--reason", "written by 2.0"]
    )
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 60
    while live.http.get(f"{live.base}/readyz").json().get("stuck"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    names = live.data("{ partners { nodes { name } } }")["partners"]["nodes"]
    assert {n["name"] for n in names} == {"Before", "After"}
    metrics = live.http.get(f"{live.base}/metrics").text
    assert 'partnerbook_projection_stuck{projection="registry"} 0.0' in metrics
    skipped = [r.getMessage() for r in caplog.records if "skip" in r.getMessage()]
    assert any(f"skipped event {position}" in m and "written by 2.0" in m for m in skipped)
    assert any(f"will skip event {position}" in m for m in skipped)
    status = CliRunner().invoke(cli, ["projections", "status"])
    assert status.exit_code == 0 and "STUCK" not in status.output
    # A rebuild passes over it the same way (the code still cannot apply it).
    rebuilt = CliRunner().invoke(cli, ["projections", "rebuild", "registry"])
    assert rebuilt.exit_code == 0, rebuilt.output
    names = live.data("{ partners { nodes { name } } }")["partners"]["nodes"]
    assert {n["name"] for n in names} == {"Before", "After"}
