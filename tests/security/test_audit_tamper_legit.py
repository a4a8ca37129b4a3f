"""What the audit must not take for tampering: merges and unmerges, imports, an erasure,
a rebuild, notification ids a rolled-back transaction used (a gap in the log), a restart
and two applications writing at once, all with a snapshot at every version. And what a
gap must not hide: an event deleted next to one, or one forged into it."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import gql
from tests.schema.partner_ops import create, update
from tests.schema.test_merge import merge, unmerge, world  # noqa: F401 (world: a fixture)
from tests.test_cli_projections import run_cli

ANONYMIZE = """mutation($input: AnonymizePartnerInput!) {
  anonymizePartner(input: $input) { partner { id } userErrors { message } }
}"""
HEAD = "{ auditHead { position chainHash } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every event snapshotted: each snapshot is checked against the replay."""
    return settings.model_copy(update={"snapshot_interval": 1})


def verified(db: Database, *args: str) -> str:
    result = run_cli(db, "audit", "verify", *args)
    assert result.exit_code == 0, result.output
    assert "TAMPERED" not in result.output
    return str(result.output)


def import_file(db: Database, path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "is_company", "ref", "email", "city"])
        writer.writerows(rows)
    result = run_cli(db, "import", "partners", str(path))
    assert result.exit_code == 0, result.output


def gap_in_the_log(db: Database) -> int:
    """A transaction that inserted an event (as the recorder does: under the table lock)
    and rolled back: its notification id is used and never seen."""
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("LOCK TABLE partnerbook_events IN EXCLUSIVE MODE")
        row = conn.execute(
            "INSERT INTO partnerbook_events (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, 'x:Y', '\\x00') RETURNING notification_id"
        ).fetchone()
        conn.rollback()
    assert row is not None
    return int(row[0])


def wait_chained(client: TestClient) -> int:
    """The audit head once the projection has chained every event (a mutation waits for
    it: this one, which records nothing new, only reads)."""
    position: int = gql(client, HEAD)["auditHead"]["position"]
    return position


def test_legitimate_history_verifies(
    client: TestClient,
    db: Database,
    world: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    dest, src, contact = world["dest"], world["src"], world["contact"]
    result = merge(
        client,
        destinationId=dest["id"],
        sourceIds=[src["id"]],
        fieldChoices=[{"field": "email", "fromId": src["id"]}],
    )
    assert result["userErrors"] == [], result
    assert unmerge(client, sourceId=src["id"], reason="not the same")["userErrors"] == []
    import_file(db, tmp_path / "a.csv", [["Imported", "True", "R1", "", "Gent"]])
    import_file(db, tmp_path / "b.csv", [["Imported", "True", "R1", "", "Liège"]])
    gap = gap_in_the_log(db)
    answer = gql(client, ANONYMIZE, {"input": {"id": contact["id"], "reason": "GDPR"}})
    assert answer["anonymizePartner"]["userErrors"] == []
    update(client, id=dest["id"], city="Namur")
    run_cli(db, "audit", "export", "--output", str(tmp_path / "then.jsonl"))
    with psycopg.connect(db.conninfo()) as conn:
        ids = [r[0] for r in conn.execute("SELECT notification_id FROM partnerbook_events")]
        snapshots = conn.execute("SELECT count(*) FROM partnerbook_snapshots").fetchone()
    assert gap not in ids and gap + 1 in ids and gap - 1 in ids
    assert snapshots is not None and snapshots[0] >= len(ids) // 2

    output = verified(db, "--expect-export", str(tmp_path / "then.jsonl"))
    assert f"OK: chain verified up to notification {max(ids)}" in output
    assert f"OK: {snapshots[0]} snapshots and" in output
    rebuilt = run_cli(db, "projections", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    verified(db, "--expect-export", str(tmp_path / "then.jsonl"))


def test_two_applications_writing_at_once_and_a_restart_verify(
    client: TestClient, db: Database, settings: Settings, admin_key: str
) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(settings), headers=headers) as other:
        failures: list[BaseException] = []

        def write(c: TestClient, name: str) -> None:
            try:
                partner = create(c, kind="COMPANY", name=name)
                for i in range(4):
                    update(c, id=partner["id"], city=f"City {i}")
            except BaseException as error:  # reported below
                failures.append(error)

        threads = [
            threading.Thread(target=write, args=(c, f"{n} {i}"))
            for i in range(3)
            for c, n in ((client, "One"), (other, "Two"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures
        wait_chained(other)
    # The first application stopped meanwhile (a restart): it carries on where it was.
    with TestClient(create_app(settings), headers=headers) as restarted:
        create(restarted, kind="COMPANY", name="After the restart")
    assert wait_chained(client) == 31
    verified(db)


def test_a_gap_does_not_hide_a_deleted_or_forged_event(client: TestClient, db: Database) -> None:
    partner = create(client, kind="COMPANY", name="Gap Ltd")
    gap = gap_in_the_log(db)
    for city in ("Ghent", "Namur", "Liege"):
        update(client, id=partner["id"], city=city)
    verified(db)
    with psycopg.connect(db.conninfo()) as conn:  # forged into the gap
        conn.execute(
            "INSERT INTO partnerbook_events (notification_id, originator_id, "
            "originator_version, topic, state) SELECT %s, originator_id, 99, topic, state "
            "FROM partnerbook_events WHERE notification_id = %s",
            (gap, gap + 1),
        )
    forged = run_cli(db, "audit", "verify")
    assert forged.exit_code == 1
    assert f"TAMPERED: notification {gap}: unexpected event" in forged.output
    with psycopg.connect(db.conninfo()) as conn:  # the next event and its link deleted too
        conn.execute("DELETE FROM partnerbook_events WHERE notification_id = %s", (gap,))
        conn.execute("DELETE FROM partnerbook_events WHERE notification_id = %s", (gap + 1,))
        conn.execute("DELETE FROM audit_chain WHERE position = %s", (gap + 1,))
    deleted = run_cli(db, "audit", "verify")
    assert deleted.exit_code == 1
    assert f"TAMPERED: notification {gap + 2}:" in deleted.output
    assert "or an event before it was removed with its chain row" in deleted.output
