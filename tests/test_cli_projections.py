"""`partnerbook projections rebuild|status` and `partnerbook audit verify`, against a
serving application."""

from __future__ import annotations

import threading
import traceback
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from tests.conftest import gql
from tests.schema.partner_ops import create, update

AUDIT_HEAD = "{ auditHead { position chainHash } }"


def run_cli(db: Database, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"PARTNERBOOK_DATABASE_URL": db.dsn})


def rows(db: Database, table: str) -> list[dict[str, Any]]:
    with psycopg.connect(db.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(
            SQL("SELECT * FROM {} ORDER BY 1, 2").format(Identifier(table))
        ).fetchall()


def indexes(db: Database) -> list[tuple[str, str]]:
    with psycopg.connect(db.conninfo()) as conn:
        return conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY 1"
        ).fetchall()


def some_history(client: TestClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        partner = create(client, kind="COMPANY", name=f"Company {i}", city="Ghent")
        update(client, id=partner["id"], email=f"c{i}@example.com", countryCode="BE")
        ids.append(partner["id"])
    return ids


def test_audit_verify_passes_then_locates_a_one_byte_edit(client: TestClient, db: Database) -> None:
    some_history(client, 5)
    head = gql(client, AUDIT_HEAD)["auditHead"]
    assert head["position"] == 10 and len(head["chainHash"]) == 64

    ok = run_cli(db, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output and head["chainHash"] in ok.output

    with psycopg.connect(db.conninfo()) as conn:
        nid, state = conn.execute(
            "SELECT notification_id, state FROM partnerbook_events WHERE notification_id = 7"
        ).fetchone()  # type: ignore[misc]
        k = len(state) // 2
        conn.execute(
            "UPDATE partnerbook_events SET state = set_byte(state, %s, %s) "
            "WHERE notification_id = %s",
            (k, (state[k] + 1) % 256, nid),
        )
    broken = run_cli(db, "audit", "verify")
    assert broken.exit_code == 1
    assert "notification 7" in broken.output


def test_audit_verify_notices_a_deleted_event(client: TestClient, db: Database) -> None:
    some_history(client, 3)
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("DELETE FROM partnerbook_events WHERE notification_id = 4")
    broken = run_cli(db, "audit", "verify")
    assert broken.exit_code == 1 and "notification 4" in broken.output


def test_audit_verify_notices_the_last_chain_rows_removed(client: TestClient, db: Database) -> None:
    """Removing the chain's last rows left the events after them "not chained yet", with
    an OK, although the audit projection had chained them (and never would again)."""
    some_history(client, 3)
    assert gql(client, AUDIT_HEAD)["auditHead"]["position"] == 6
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("DELETE FROM audit_chain WHERE position >= 5")
    broken = run_cli(db, "audit", "verify")
    assert broken.exit_code == 1, broken.output
    assert "TAMPERED: notification 5" in broken.output


def test_status_shows_positions_and_lag(client: TestClient, db: Database) -> None:
    some_history(client, 2)
    result = run_cli(db, "projections", "status")
    assert result.exit_code == 0, result.output
    for name in ("registry", "audit"):
        line = next(line for line in result.output.splitlines() if name in line)
        assert [cell.strip() for cell in line.split("│")][1:5] == [name, "4", "4", "0"], line


def test_rebuild_swaps_in_while_the_api_serves(client: TestClient, db: Database) -> None:
    ids = some_history(client, 20)
    before = {t: rows(db, t) for t in ("partners", "timeline", "audit_chain", "partner_versions")}
    indexes_before = indexes(db)

    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_serving() -> None:  # reads and writes while the rebuild runs
        i = 0
        try:
            while not stop.is_set():
                update(client, id=ids[i % len(ids)], city=f"City {i}")
                assert gql(client, "{ partners(first: 5) { totalCount } }")["partners"][
                    "totalCount"
                ] == len(ids)
                i += 1
        except BaseException as error:  # reported below
            errors.append(error)

    serving = threading.Thread(target=keep_serving)
    serving.start()
    try:
        result = run_cli(db, "projections", "rebuild")
    finally:
        stop.set()
        serving.join()
    assert result.exit_code == 0, result.output
    assert "registry: rebuilt" in result.output and "audit: rebuilt" in result.output
    # The rebuilt tables carry every index the live ones had (made after the replay).
    assert indexes(db) == indexes_before
    assert errors == [], "".join(traceback.format_exception(errors[0]))

    # The live projector keeps working on the swapped-in tables (its prepared statements too).
    for i, pid in enumerate(ids):
        update(client, id=pid, city=f"After {i}", name=f"Renamed {i}")
    names = gql(client, "{ partners(first: 100) { nodes { name } } }")["partners"]["nodes"]
    assert sorted(n["name"] for n in names) == sorted(f"Renamed {i}" for i in range(len(ids)))
    assert run_cli(db, "audit", "verify").exit_code == 0
    # No rebuild_ table is left behind, and a second rebuild gives the same tables.
    after = {t: rows(db, t) for t in before}
    assert run_cli(db, "projections", "rebuild").exit_code == 0
    for table, content in after.items():
        assert rows(db, table) == content, table
    with psycopg.connect(db.conninfo()) as conn:
        left = conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 'rebuild\\_%'"
        ).fetchall()
    assert left == []


def test_rebuild_refuses_an_unknown_projection(db: Database) -> None:
    result = run_cli(db, "projections", "rebuild", "nope")
    assert result.exit_code == 1
    assert "no projection named 'nope'" in result.output


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")


def test_projections_run_projects_until_terminated(db: Database) -> None:
    """The standalone projector process: an API without its own projector relies on it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from app.application import Partnerbook
    from app.domain.audited import Audit

    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        for i in range(3):
            app.create_partner("PERSON", {"name": f"P{i}"}, Audit("t", "r"))
    finally:
        app.close()
    env = {**os.environ, "PARTNERBOOK_DATABASE_URL": db.dsn}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "projections", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def projected() -> bool:
            try:
                return len(rows(db, "partners")) == 3 and len(rows(db, "audit_chain")) == 3
            except psycopg.errors.UndefinedTable:
                return False

        while not projected():  # however long a loaded machine takes; a hang times out
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "projecting registry, audit" in output
