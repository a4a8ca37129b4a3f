"""A projector SIGKILLed 20 times while catching up from zero over several thousand
events resumes exactly once: its tables equal a clean rebuild into fresh tables."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from app.application import Partnerbook
from app.database import Database
from app.domain.audited import Audit
from app.projections.projector import Projector, RegistryProjection, construct_view

KILLS = 20
AUDIT = Audit(actor="fault-test", request_id="r-1")


def _fill(app: Partnerbook) -> int:
    """Several thousand events over partners, tags, catalogs, activities, documents."""
    app.group_commit = False
    industry = app.create_catalog_entry("INDUSTRY", {"name": "Retail"}, AUDIT).id
    tag = app.create_tag({"name": "VIP"}, AUDIT).id
    partners = []
    for i in range(1300):
        values: dict[str, Any] = {"name": f"Company {i}", "city": f"City {i % 17}"}
        if i % 3 == 0:
            values["industry_id"] = str(industry)
        partners.append(app.create_partner("COMPANY", values, AUDIT).id)
    for i, partner_id in enumerate(partners):
        changes: dict[str, Any] = {"name": f"Company {i} renamed", "ref": f"R{i}"}
        if i % 4 == 0:
            changes["tag_ids"] = [str(tag)]
        app.update_partner(partner_id, changes, AUDIT)
    for i, partner_id in enumerate(partners[:400]):
        app.schedule_activity(
            partner_id,
            {"activity_type": "CALL", "summary": f"Call {i}", "due_date": "2026-12-01"},
            AUDIT,
        )
    recorder: Any = app.recorder
    return int(recorder.max_notification_id() or 0)


def _rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.conninfo()) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]
        order = SQL(", ").join(SQL("{}::text").format(Identifier(c)) for c in columns)
        query = SQL("SELECT * FROM {} ORDER BY {}").format(Identifier(table), order)
        return [tuple(r) for r in conn.execute(query)]


def _position(db: Database) -> int:
    with psycopg.connect(db.conninfo()) as conn:
        try:
            row = conn.execute("SELECT max(notification_id) FROM registry_tracking").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row and row[0] is not None else 0


@pytest.mark.timeout(300)
def test_a_projector_killed_mid_batch_resumes_exactly_once(db: Database) -> None:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        last = _fill(app)
    finally:
        app.close()
    assert last >= 3000

    command = [sys.executable, "-m", "tests.fault_tools.run_projector", db.url, "", "50"]
    rng = random.Random(8)
    kills = 0
    positions: list[int] = []
    while kills < KILLS:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Killed once it has committed a batch past the last kill, a random moment later
        # (most likely inside the next batch): progress-driven, not clock-driven.
        before, deadline = _position(db), time.monotonic() + 60
        while _position(db) == before and process.poll() is None:
            assert time.monotonic() < deadline, "the projector made no progress"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        if process.poll() is not None:
            break  # finished before we could kill it: fewer kills, still checked
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        positions.append(_position(db))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr
    assert int(finished.stdout.split()[-1]) == last
    assert kills == KILLS, f"the projector finished after {kills} kills; make the log larger"
    assert any(0 < p < last for p in positions), positions  # killed while catching up
    print(f"\n{last} events; positions at the kills: {positions}")

    clean_view = construct_view(db.eventsourcing_env(2, 5), prefix="clean_")
    clean_app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        clean = Projector(clean_app, RegistryProjection(clean_view), db, batch_size=500)
        clean.catch_up()
        assert clean.position == last
        live_view = construct_view(db.eventsourcing_env(1, 5))
        live_names = live_view.table_names
        live_view.datastore.close()
        for name, clean_name in zip(live_names, clean_view.table_names, strict=True):
            live_rows, clean_rows = _rows(db, name), _rows(db, clean_name)
            assert live_rows == clean_rows, name
            assert live_rows or name not in ("partners", "timeline"), name
    finally:
        clean_app.close()
        clean_view.datastore.close()
