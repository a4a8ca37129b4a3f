"""A head anyone can check: `auditHead(position:)`, `partnerbook audit verify --expect`,
`partnerbook audit export` and the standalone verifier of docs/audit.md, against a rewrite
of both the events and `audit_chain`."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.projections.audit import link, stored_bytes
from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import create, update
from tests.test_cli_projections import run_cli, some_history

HEAD_AT = "query($p: Int) { auditHead(position: $p) { position chainHash } }"
DOCS = Path(__file__).parent.parent / "docs" / "audit.md"


def head(client: TestClient, position: int | None = None) -> tuple[int, str]:
    answer = gql(client, HEAD_AT, {"p": position})["auditHead"]
    return answer["position"], answer["chainHash"]


def rewrite_consistently(db: Database, position: int) -> None:
    """Edits one byte of the event at `position` and recomputes `audit_chain` from there,
    as someone with write access to both tables would."""
    with psycopg.connect(db.conninfo()) as conn:
        state = conn.execute(
            "SELECT state FROM partnerbook_events WHERE notification_id = %s", (position,)
        ).fetchone()[0]  # type: ignore[index]
        k = len(state) // 2
        conn.execute(
            "UPDATE partnerbook_events SET state = set_byte(state, %s, %s) "
            "WHERE notification_id = %s",
            (k, (state[k] + 1) % 256, position),
        )
        row = conn.execute(
            "SELECT hash FROM audit_chain WHERE position < %s ORDER BY position DESC LIMIT 1",
            (position,),
        ).fetchone()
        previous = bytes(row[0]) if row else bytes(32)
        events = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM partnerbook_events WHERE notification_id >= %s ORDER BY 1",
            (position,),
        ).fetchall()
        for nid, originator, version, topic, stored in events:
            previous = link(previous, stored_bytes(nid, originator, version, topic, stored))
            conn.execute("UPDATE audit_chain SET hash = %s WHERE position = %s", (previous, nid))


def export(db: Database, path: Path, *args: str) -> list[dict[str, Any]]:
    result = run_cli(db, "audit", "export", "--output", str(path), *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text().splitlines()]


def verifier(tmp_path: Path) -> Path:
    """The verifier docs/audit.md gives reviewers, as they would save it."""
    text = DOCS.read_text()
    code = re.search(r"## Standalone verifier.*?```python\n(.*?)```", text, re.S)
    assert code is not None
    assert len(code.group(1).splitlines()) < 60
    path = tmp_path / "verify_audit.py"
    path.write_text(code.group(1))
    return path


def run_verifier(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, as on a reviewer's machine: no Partnerbook on the path.
    return subprocess.run(
        [sys.executable, "-I", str(verifier(tmp_path)), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_head_answers_the_hash_at_any_position(client: TestClient, db: Database) -> None:
    some_history(client, 3)
    assert head(client) == head(client, 6)
    with psycopg.connect(db.conninfo()) as conn:
        chain: dict[int, bytes] = dict(
            conn.execute("SELECT position, hash FROM audit_chain").fetchall()
        )
    for position in range(1, 7):
        assert head(client, position) == (position, bytes(chain[position]).hex())


@pytest.mark.parametrize("position", [0, -1, 7])
def test_audit_head_refuses_a_position_outside_the_chain(client: TestClient, position: int) -> None:
    some_history(client, 3)
    result = gql_raw(client, HEAD_AT, {"p": position})
    assert result.get("data") is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_REQUEST"]
    assert "between 1 and the audit head (6)" in result["errors"][0]["message"]


def test_a_rewrite_of_events_and_chain_fails_against_the_noted_head(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    some_history(client, 4)
    earlier, noted = head(client, 3), head(client)
    clean = export(db, tmp_path / "clean.jsonl")
    assert [e["position"] for e in clean] == list(range(1, 9))
    expect = [f"{noted[0]}:{noted[1]}"]
    assert run_cli(db, "audit", "verify", "--expect", *expect).exit_code == 0
    ok = run_verifier(tmp_path, str(tmp_path / "clean.jsonl"), *expect)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 8 events"), ok.stderr

    rewrite_consistently(db, 5)

    assert run_cli(db, "audit", "verify").exit_code == 0  # as before: the chain agrees
    failed = run_cli(db, "audit", "verify", "--expect", f"{noted[0]}:{noted[1]}")
    assert failed.exit_code == 1
    assert "TAMPERED: notification 8:" in failed.output
    narrowed = run_cli(
        db, "audit", "verify", "--expect", f"{earlier[0]}:{earlier[1]}", "--expect", *expect
    )
    assert narrowed.exit_code == 1
    assert "notification 8" in narrowed.output and "after notification 3" in narrowed.output
    exact = run_cli(db, "audit", "verify", "--expect-export", str(tmp_path / "clean.jsonl"))
    assert exact.exit_code == 1 and "TAMPERED: notification 5:" in exact.output
    assert run_cli(db, "audit", "verify", "--expect", f"{earlier[0]}:{earlier[1]}").exit_code == 0

    # The reviewer, with the export of today and the head noted then, agrees.
    export(db, tmp_path / "now.jsonl")
    agrees = run_verifier(tmp_path, str(tmp_path / "now.jsonl"), *expect)
    assert agrees.returncode == 1
    assert agrees.stderr.startswith("FAIL: position 8: the log up to it hashes to")
    assert run_verifier(tmp_path, str(tmp_path / "now.jsonl")).returncode == 0


def test_the_verifier_names_an_event_that_no_longer_matches_its_chain(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    some_history(client, 3)
    with psycopg.connect(db.conninfo()) as conn:  # the events only, as `audit verify` sees
        conn.execute(
            "UPDATE partnerbook_events SET state = state || '\\x00'::bytea "
            "WHERE notification_id = 4"
        )
    export(db, tmp_path / "audit.jsonl")
    failed = run_verifier(tmp_path, str(tmp_path / "audit.jsonl"))
    assert failed.returncode == 1
    assert failed.stderr.startswith("FAIL: position 4: its stored bytes do not hash")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    del lines[1]
    (tmp_path / "gap.jsonl").write_text("\n".join(lines) + "\n")
    gap = run_verifier(tmp_path, str(tmp_path / "gap.jsonl"))
    assert gap.returncode == 1 and gap.stderr.startswith("FAIL: position 3: does not follow")


def test_a_partner_export_holds_its_events_as_stored_with_checkable_links(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    some_history(client, 2)
    partner = create(client, kind="PERSON", name="Ann Example", email="ann@example.org")
    update(client, id=partner["id"], city="Ghent")
    some_history(client, 1)
    events = export(db, tmp_path / "ann.jsonl", "--partner", partner["id"])
    assert [e["position"] for e in events] == [5, 6]
    assert {e["version"] for e in events} == {1, 2}
    with psycopg.connect(db.conninfo()) as conn:
        stored: dict[int, bytes] = dict(
            conn.execute(
                "SELECT notification_id, state FROM partnerbook_events "
                "WHERE notification_id IN (5, 6)"
            ).fetchall()
        )
        chain: dict[int, bytes] = dict(
            conn.execute("SELECT position, hash FROM audit_chain").fetchall()
        )
    for e in events:  # as stored: the encrypted email is no plain text in the export
        assert base64.b64decode(e["state"]) == bytes(stored[e["position"]])
        assert (e["previous"], e["chain"]) == (
            bytes(chain[e["position"] - 1]).hex(),
            bytes(chain[e["position"]]).hex(),
        )
    assert "ann@example.org" not in (tmp_path / "ann.jsonl").read_text()
    at_6 = head(client, 6)
    ok = run_verifier(tmp_path, str(tmp_path / "ann.jsonl"), "--partner", f"6:{at_6[1]}")
    assert ok.returncode == 0 and "links checked one by one" in ok.stdout, ok.stderr
    whole = run_verifier(tmp_path, str(tmp_path / "ann.jsonl"))
    assert whole.returncode == 1 and "position 5: does not follow" in whole.stderr


def test_bad_arguments_are_clear_errors(client: TestClient, db: Database) -> None:
    some_history(client, 1)
    bad = run_cli(db, "audit", "verify", "--expect", "2:nothex")
    assert bad.exit_code == 2 and "POSITION:HASH" in bad.output
    beyond = run_cli(db, "audit", "verify", "--expect", f"9:{'ab' * 32}")
    assert beyond.exit_code == 1 and "the log ends at notification 2" in beyond.output
    unknown = run_cli(db, "audit", "export", "--partner", "nope")
    assert unknown.exit_code == 1 and "--partner" in unknown.output
    # An empty one (a script's `--partner "$ID"` with ID unset) exported every partner's
    # events, as if no partner had been named (the audit of reads, session 42).
    empty = run_cli(db, "audit", "export", "--partner", "")
    assert empty.exit_code == 1 and "--partner" in empty.output, empty.output
