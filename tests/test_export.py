"""`partnerbook export partners`: the import's column layout, filters and segments, and a
round trip into an empty registry (same partners, hierarchy and tags)."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.infra import database
from app.infra.database import Database
from bench import odoo_csv
from tests.test_import import query, run, summary, write


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(tmp_path / "data"))
    return db


@pytest.fixture
def other_db(server: Database) -> Iterator[Database]:
    """A second empty registry on the same server."""
    name = f"pb_test_{uuid.uuid4().hex[:16]}"
    fresh = database.create_database(server, name)
    database.prepare(fresh, 5)
    try:
        yield fresh
    finally:
        database.drop_database(server, name)


def picture(db: Database) -> set[tuple[Any, ...]]:
    """What must survive a round trip: each partner with its parent and tag paths."""
    rows = query(
        db,
        "SELECT c.own_name, c.kind, c.type, p.own_name, c.email, c.phone, c.own_street, "
        "c.country_code, c.state_code, c.effective_vat, c.ref, c.is_customer, c.is_supplier, "
        "c.archived, c.lang, c.external_id, "
        "ARRAY(SELECT coalesce(tp.name || ' / ', '') || t.name FROM partner_tags pt "
        "JOIN tags t ON t.id = pt.tag_id LEFT JOIN tags tp ON tp.id = t.parent_id "
        "WHERE pt.partner_id = c.id ORDER BY 1) "
        "FROM partners c LEFT JOIN partners p ON p.id = c.parent_id",
    )
    return {tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in rows}


def test_export_then_import_into_an_empty_registry_round_trips(
    env: Database, other_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "odoo.csv"
    odoo_csv.write(source, 40)
    extra = write(
        tmp_path / "extra.csv",
        ["name", "is_company", "parent_id", "country_id", "state_id", "active", "category_id"],
        [
            ["Lone Wolf", "False", "", "US", "California (US)", "False", "Region / EMEA"],
            ["Sub Office", "True", "Lone Corp", "", "", "True", ""],
            ["Lone Corp", "True", "", "FR", "", "True", "VIP"],
        ],
    )
    run("import", "partners", str(source))
    assert summary(run("import", "partners", str(extra)).output)["created"] == 3
    exported = tmp_path / "export.csv"
    result = run("export", "partners", "--output", str(exported))
    assert "exported 43 partners" in result.output
    with exported.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 43
    assert rows[0].keys() >= {"id", "parent_id/id", "category_id", "country_id/id"}
    # Partners made here get an external id of ours; imported ones keep theirs.
    assert any(r["id"].startswith("partnerbook.partner_") for r in rows)
    assert any(r["id"].startswith("__export__.") for r in rows)

    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", other_db.dsn)
    counts = summary(run("import", "partners", str(exported)).output)
    assert (counts["created"], counts["rejected"]) == (43, 0)
    assert picture(other_db) == picture(env)
    again = summary(run("import", "partners", str(exported)).output)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 43)


def test_export_a_filter_as_jsonl(env: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "few.csv",
        ["name", "is_company", "country_id"],
        [["Belgian", "True", "BE"], ["French", "True", "FR"]],
    )
    run("import", "partners", str(path))
    out = tmp_path / "be.jsonl"
    run(
        "export",
        "partners",
        "--filter",
        '{"countryCode": "BE"}',
        "--format",
        "jsonl",
        "--output",
        str(out),
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["name"], r["country_id/id"]) for r in lines] == [("Belgian", "base.be")]


def test_a_bad_filter_is_a_clear_error(env: Database) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, ["export", "partners", "--filter", '{"colour": 1}'])
    assert result.exit_code == 2
    assert "not a PartnerFilter" in result.output


def test_export_a_segment_while_a_server_projects(
    env: Database, client: Any, tmp_path: Path
) -> None:
    from tests.conftest import gql

    path = write(
        tmp_path / "few.csv",
        ["name", "is_company", "country_id", "category_id"],
        [["Belgian", "True", "BE", "VIP"], ["French", "True", "FR", "VIP"]],
    )
    run("import", "partners", str(path))
    made = gql(
        client,
        'mutation { createSegment(input: {name: "Belgians", filter: {countryCode: "BE"}}) '
        "{ segment { id } userErrors { message } } }",
    )["createSegment"]
    out = tmp_path / "segment.csv"
    run("export", "partners", "--segment", made["segment"]["id"], "--output", str(out))
    with out.open() as handle:
        assert [(r["name"], r["category_id"]) for r in csv.DictReader(handle)] == [
            ("Belgian", "VIP")
        ]


def test_export_a_segment_with_a_search(env: Database, client: Any, tmp_path: Path) -> None:
    """A segment's search reaches the export as a LIKE literal (`'%bel%'`): beside the
    page's own parameters psycopg read it as placeholders, and the export failed."""
    from tests.conftest import gql

    path = write(
        tmp_path / "few.csv",
        ["name", "is_company", "country_id"],
        [["Belgian Bikes", "True", "BE"], ["French Fries", "True", "FR"]],
    )
    run("import", "partners", str(path))
    made = gql(
        client,
        'mutation { createSegment(input: {name: "Bel", search: "bel"}) '
        "{ segment { id } userErrors { message } } }",
    )["createSegment"]
    out = tmp_path / "segment.csv"
    run("export", "partners", "--segment", made["segment"]["id"], "--output", str(out))
    with out.open() as handle:
        assert [r["name"] for r in csv.DictReader(handle)] == ["Belgian Bikes"]
