"""Someone with write access to the database edits what history is read from but the
chain does not cover: the snapshots (`partnerHistory`, `partnerAsOf(version:)` and every
command load a partner from its latest snapshot) and `partner_versions` (which maps
`partnerAsOf(at:)` to a version). `partnerbook audit verify` must notice both, and the
legitimate ways these tables change (snapshots before and after an erasure, a rebuild of
the audit projection) must not make it fail."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.test_cli_projections import run_cli

AS_OF = """query($id: ID!, $v: Int, $at: DateTime) {
  partnerAsOf(id: $id, version: $v, at: $at) { version isCustomer address { city } }
}"""
HISTORY = """query($id: ID!) {
  partnerHistory(id: $id) { nodes { version occurredAt } }
}"""
ANONYMIZE = """mutation($input: AnonymizePartnerInput!) {
  anonymizePartner(input: $input) { partner { id } userErrors { message } }
}"""


@pytest.fixture
def snap_client(db: Database, tmp_path: Path, admin_key: str) -> Iterator[TestClient]:
    """The service with a snapshot every 2 events."""
    settings = Settings(
        database_url=db.dsn,
        data_dir=tmp_path / "data",
        read_your_writes_timeout=10,
        heavy_lane=False,
        snapshot_interval=2,
    )
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(settings), headers=headers) as client:
        yield client


def company_with_history(client: TestClient) -> dict[str, Any]:
    """A company at version 4: snapshots at versions 2 and 4."""
    partner = create(client, kind="COMPANY", name="Acme", city="Ghent")
    for city in ("Bruges", "Antwerp", "Liege"):
        update(client, id=partner["id"], city=city)
    return partner


def raw_id(db: Database) -> str:
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute(
            "SELECT originator_id::text FROM partnerbook_events WHERE topic LIKE "
            "'app.domain.partner:Partner.Registered' ORDER BY notification_id LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def verify(db: Database) -> Any:
    return run_cli(db, "audit", "verify")


def test_a_forged_snapshot_is_tampering(snap_client: TestClient, db: Database) -> None:
    partner = company_with_history(snap_client)
    assert verify(db).exit_code == 0
    assert (
        gql(snap_client, AS_OF, {"id": partner["id"], "v": 2})["partnerAsOf"]["isCustomer"] is False
    )

    with psycopg.connect(db.conninfo()) as conn:  # the rogue DBA
        edited = conn.execute(
            "UPDATE partnerbook_snapshots SET state = convert_to(replace(convert_from(state, "
            "'UTF8'), '\"is_customer\":false', '\"is_customer\":true'), 'UTF8') "
            "WHERE originator_version = 2"
        ).rowcount
    assert edited == 1
    # What the API now says of the past: not what the events say.
    assert (
        gql(snap_client, AS_OF, {"id": partner["id"], "v": 2})["partnerAsOf"]["isCustomer"] is True
    )

    result = verify(db)
    assert result.exit_code == 1, result.output
    assert f"TAMPERED: snapshot of {raw_id(db)} at version 2" in result.output


def test_a_snapshot_beyond_the_events_is_tampering(snap_client: TestClient, db: Database) -> None:
    """A snapshot copied to a version the partner never reached: the repository loads it
    as the partner's current state (nothing after it to replay)."""
    company_with_history(snap_client)
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute(
            "INSERT INTO partnerbook_snapshots (originator_id, originator_version, topic, state) "
            "SELECT originator_id, 9, topic, state FROM partnerbook_snapshots "
            "WHERE originator_version = 4"
        )
    result = verify(db)
    assert result.exit_code == 1, result.output
    assert f"TAMPERED: snapshot of {raw_id(db)} at version 9" in result.output


def test_a_moved_partner_version_is_tampering(snap_client: TestClient, db: Database) -> None:
    """`partnerAsOf(at:)` reads `partner_versions`: moving a version's time (or deleting
    or adding a row) changes which state the API says a partner was in."""
    partner = company_with_history(snap_client)
    nodes = gql(snap_client, HISTORY, {"id": partner["id"]})["partnerHistory"]["nodes"]
    at_3 = nodes[2]["occurredAt"]
    assert gql(snap_client, AS_OF, {"id": partner["id"], "at": at_3})["partnerAsOf"]["version"] == 3

    with psycopg.connect(db.conninfo()) as conn:
        conn.execute(
            "UPDATE partner_versions SET occurred_at = occurred_at + interval '1 day' "
            "WHERE version = 3"
        )
    assert gql(snap_client, AS_OF, {"id": partner["id"], "at": at_3})["partnerAsOf"]["version"] == 2

    result = verify(db)
    assert result.exit_code == 1, result.output
    assert f"TAMPERED: partner_versions: partner {raw_id(db)} version 3" in result.output


def test_a_deleted_or_added_partner_version_is_tampering(
    snap_client: TestClient, db: Database
) -> None:
    company_with_history(snap_client)
    ident = raw_id(db)
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("DELETE FROM partner_versions WHERE version = 2")
    missing = verify(db)
    assert missing.exit_code == 1
    assert f"TAMPERED: partner_versions: partner {ident} version 2" in missing.output
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute(
            "INSERT INTO partner_versions SELECT partner_id, 2, occurred_at FROM "
            "partner_versions WHERE version = 1"
        )
        conn.execute(
            "INSERT INTO partner_versions SELECT partner_id, 7, now() FROM "
            "partner_versions WHERE version = 1"
        )
    added = verify(db)
    assert added.exit_code == 1
    assert f"TAMPERED: partner_versions: partner {ident} version 2" in added.output


def test_snapshots_across_an_erasure_and_an_audit_rebuild_verify(
    snap_client: TestClient, db: Database
) -> None:
    """Legitimate: a person snapshotted before and after its erasure (its key shredded:
    both the snapshot and the events load without the personal values), then the audit
    projection rebuilt."""
    person = create(snap_client, kind="PERSON", name="Ann Example", email="ann@example.org")
    update(snap_client, id=person["id"], city="Ghent")
    update(snap_client, id=person["id"], city="Namur")
    answer = gql(snap_client, ANONYMIZE, {"input": {"id": person["id"], "reason": "GDPR art. 17"}})[
        "anonymizePartner"
    ]
    assert answer["userErrors"] == [], answer
    company_with_history(snap_client)
    with psycopg.connect(db.conninfo()) as conn:
        snapshots = conn.execute("SELECT count(*) FROM partnerbook_snapshots").fetchone()
    assert snapshots is not None and snapshots[0] == 4
    ok = verify(db)
    assert ok.exit_code == 0, ok.output
    assert "OK: 4 snapshots and 8 partner versions agree with the events" in ok.output
    rebuilt = run_cli(db, "projections", "rebuild", "audit")
    assert rebuilt.exit_code == 0, rebuilt.output
    again = verify(db)
    assert again.exit_code == 0, again.output
