"""A projector SIGKILLed 20 times while catching up from zero over several thousand
events resumes exactly once: its tables equal a clean rebuild into fresh tables.

Each kill lands inside a batch's transaction by construction, not by timing: the
projector (tests/fault_tools/run_projector.py) stops in its 1st, 2nd or 3rd batch with
everything but the COMMIT sent and says so, and only then is it killed. So the test kills
exactly 20 times mid-batch however fast or loaded the machine is (a version that killed
a random moment after observed progress finished after 13-15 kills on some machines)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.database import Database
from app.projections.projector import Projector, RegistryProjection, construct_view
from tests.conftest import table_rows

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


def _position(db: Database) -> int:
    with psycopg.connect(db.conninfo()) as conn:
        try:
            row = conn.execute(
                # (not the `__migration__` row eventsourcing keeps in the same table)
                "SELECT max(notification_id) FROM registry_tracking"
                " WHERE application_name = 'partnerbook'"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row and row[0] is not None else 0


@pytest.mark.timeout(900)  # ~25 s idle; a guard against a hang only
def test_a_projector_killed_mid_batch_resumes_exactly_once(db: Database) -> None:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        last = _fill(app)
    finally:
        app.close()
    assert last >= 3000

    command = [sys.executable, "-m", "tests.fault_tools.run_projector", db.url, "", "50"]
    rng = random.Random(8)
    positions: list[int] = []
    for _ in range(KILLS):
        # Batches 1 .. k-1 of this run commit, the k-th is killed before its COMMIT;
        # at most 2 committed batches per run: 20 runs cannot reach the end of the log.
        pause_at = rng.randint(1, 3)
        before = _position(db)
        process = subprocess.Popen(
            [*command, str(pause_at)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # waits for the pause, however long it takes
            assert line.startswith("paused "), (line, process.communicate(timeout=60))
            started_at, batch_last = (int(n) for n in line.split()[1:])
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate()
        # The batches before the killed one are committed, the killed one is not.
        assert started_at >= before + (pause_at - 1) * 50, (before, pause_at, started_at)
        assert _position(db) == started_at < batch_last <= last
        positions.append(started_at)
    assert positions == sorted(positions) and 0 < positions[-1] < last, positions
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert int(finished.stdout.split()[-1]) == last
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
            live_rows, clean_rows = table_rows(db, name), table_rows(db, clean_name)
            assert live_rows == clean_rows, name
            assert live_rows or name not in ("partners", "timeline"), name
    finally:
        clean_app.close()
        clean_view.datastore.close()
