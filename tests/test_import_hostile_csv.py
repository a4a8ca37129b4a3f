"""Malformed CSV files for `partnerbook import partners`, and hostile arguments to
`partnerbook export partners`: a file whose layout cannot be trusted (a quote that never
closes, a header naming a column twice) is refused whole, naming where; a row whose
cells do not fit the header, or whose rank is no number, is rejected with row, column
and reason while the other rows import; row numbers count blank lines as a spreadsheet
shows them; and no input ends in a traceback."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from tests.conftest import event_count
from tests.domain.test_odoo_cells import ODOO_NAMES
from tests.test_import import env, query, run, summary  # noqa: F401  (env: a fixture)

runner = CliRunner()


def rejected(report: Path) -> dict[tuple[str, str], str]:
    """(row, column) -> message of every rejection in an import's --report."""
    with report.open(encoding="utf-8") as handle:
        return {
            (p["row"], p["column"]): p["message"]
            for p in csv.DictReader(handle)
            if p["severity"] == "REJECTED"
        }


def names(db: Database) -> set[str]:
    return {r[0] for r in query(db, "SELECT own_name FROM partners")}


def test_an_unbalanced_quote_refuses_the_file_naming_where_it_opened(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The quote opened on row 3 runs to the end of the file: the rows after it would be
    swallowed into one cell (they were, silently, with the partner named after them)."""
    path = tmp_path / "unbalanced.csv"
    path.write_text(
        'id,name,city\nx.q0,Fine Co,Zug\nx.q1,"Quote Co,Bern\nx.q2,Second,Basel\nx.q3,Third,Genf\n',
        encoding="utf-8",
    )
    before = event_count(env)
    result = runner.invoke(cli, ["import", "partners", str(path)])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert said.startswith("partnerbook: cannot read"), said
    assert "row 3 (line 3): a quote opens a cell that is never closed" in said
    assert event_count(env) == before and names(env) == set()


def test_a_quote_inside_a_cell_that_closes_stays_one_cell(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "multiline.csv"
    path.write_text(
        'id,name,comment\nx.m1,Multi Co,"line one\nline, two"\nx.m2,After Co,\n',
        encoding="utf-8",
    )
    counts = summary(run("import", "partners", str(path)).output)
    assert (counts["created"], counts["rejected"]) == (2, 0)
    assert query(env, "SELECT notes FROM partners WHERE own_name = 'Multi Co'") == [
        ("line one\nline, two",)
    ]


def test_a_row_with_more_or_fewer_cells_than_the_header_is_rejected(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(
        "id,name,city,comment\n"
        "x.c1,Good Co,Bern,fine\n"
        "x.c2,Acme, Inc.,Bern,first note\n"
        "x.c3,Short Row\n"
        "x.c4,Also Good,Basel,\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    result = run("import", "partners", str(path), "--report", str(report))
    counts = summary(result.output)
    assert (counts["created"], counts["rejected"]) == (2, 2)
    problems = rejected(report)
    assert set(problems) == {("3", "comment"), ("4", "city")}
    assert "5 cells where the header has 4 columns" in problems[("3", "comment")]
    assert "2 cells where the header has 4 columns" in problems[("4", "city")]
    assert names(env) == {"Good Co", "Also Good"}


@pytest.mark.parametrize("rank", ["inf", "1e999", "-inf", "nan"])
def test_a_rank_that_is_no_finite_number_rejects_its_row(
    env: Database,  # noqa: F811
    tmp_path: Path,
    rank: str,
) -> None:
    path = tmp_path / "rank.csv"
    path.write_text(f"id,name,customer_rank\nx.inf1,InfCo,{rank}\nx.inf2,Good,1\n")
    report = tmp_path / "report.csv"
    result = runner.invoke(cli, ["import", "partners", str(path), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert set(rejected(report)) == {("2", "customer_rank")}
    assert query(env, "SELECT own_name, is_customer FROM partners") == [("Good", True)]


@pytest.mark.parametrize(
    "header",
    ["id,name,email,email", "id,name, email ,email", "id,name,email,city,name"],
)
def test_a_column_named_twice_refuses_the_file(
    env: Database,  # noqa: F811
    tmp_path: Path,
    header: str,
) -> None:
    path = tmp_path / "dup.csv"
    cells = ",".join(
        ["x.dup1", "DupCo", "good@example.com", "not-an-email", "x"][: len(header.split(","))]
    )
    path.write_text(f"{header}\n{cells}\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", "partners", str(path)])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    twice = "name" if header.endswith("name") else "email"
    assert said.startswith("partnerbook: cannot read"), said
    assert f"the header names the column '{twice}' twice" in said
    assert names(env) == set()


def test_empty_header_cells_are_ignored_columns_not_duplicates(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("id,name,,\nx.t1,Trailing Co,,\n", encoding="utf-8")
    counts = summary(run("import", "partners", str(path)).output)
    assert counts["created"] == 1


def test_blank_lines_count_in_row_numbers(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(
        "id,name,email\nx.bl1,Blank1,a@example.com\n\nx.bl2,Blank2,bad-email\n\n\n"
        'x.bl3,"Multi\nLine",bad-too\n'
        "x.bl4,Blank4,worse\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    run("import", "partners", str(path), "--report", str(report))
    # A spreadsheet shows the rows 1 to 8: the blank lines are empty rows, and the cell
    # over two lines is one row.
    assert set(rejected(report)) == {("4", "email"), ("7", "email"), ("8", "email")}


def test_odoo_country_names_and_kosovo_import(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    given = dict(list(ODOO_NAMES.items())[:9])  # those the auditor's file held
    path = tmp_path / "countries.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "is_company", "country_id"])
        for i, name in enumerate(given):
            writer.writerow([f"x.ctry{i}", f"Country Co {i}", "True", name])
    by_xid = tmp_path / "xid.csv"
    by_xid.write_text(
        "id,name,is_company,country_id/id,phone\nx.xk,Prishtina Co,True,base.xk,+383 38 200 000\n"
    )
    first = summary(run("import", "partners", str(path)).output)
    second = summary(run("import", "partners", str(by_xid)).output)
    assert (first["created"], first["rejected"]) == (len(given), 0)
    assert (second["created"], second["rejected"]) == (1, 0)
    found = dict(query(env, "SELECT own_name, country_code FROM partners"))
    assert found == {
        **{f"Country Co {i}": code for i, code in enumerate(given.values())},
        "Prishtina Co": "XK",
    }


HOSTILE_FILTERS = [
    "[1,2]",
    "null",
    '"BE"',
    '{"countryCode": 5}',
    '{"isCustomer": "yes"}',
    '{"colour": 1}',
    '{"createdAfter": "yesterday"}',
    json.dumps({"countryCode": "\ud800"}),
    json.dumps({"email": "a\u0000b"}),
    json.dumps({"\ud800": "BE"}),
    '{"not": ' * 3000 + "{}" + "}" * 3000,
    '{"and": [' * 3000 + "{}" + "]}" * 3000,
    '{"tagIds": ' + "[" * 3000 + "]" * 3000 + "}",
    '{"not": ' * 20 + "{}" + "}" * 20,
    '{"colour": ' + "[" * 500 + "]" * 500 + "}",
    '{"kind": "ROBOT"}',
    "{",
]


@pytest.mark.parametrize("given", HOSTILE_FILTERS, ids=lambda f: f[:30])
def test_a_hostile_filter_is_refused_without_a_traceback(
    env: Database,  # noqa: F811
    given: str,
) -> None:
    result = runner.invoke(cli, ["export", "partners", "--filter", given])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("partnerbook: --filter"), result.output
    assert "Traceback" not in result.output


def test_an_output_that_cannot_be_written_is_refused_without_a_traceback(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    for output in (tmp_path / "missing" / "out.csv", tmp_path):
        result = runner.invoke(cli, ["export", "partners", "--output", str(output)])
        assert result.exit_code == 2, (result.output, result.exception)
        # The console wraps long lines, inside a long path too: compared without spaces.
        said = "".join(result.output.split())
        assert said.startswith("".join(f"partnerbook: --output {output}:".split())), said


def test_a_filter_is_read_as_the_api_reads_it(
    env: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A single object where a list goes is a list of one, a date is ISO 8601, an id that
    names nothing matches nothing: as the API coerces a `PartnerFilter`."""
    path = tmp_path / "few.csv"
    path.write_text("name,is_company,country_id\nBelgian,True,BE\nFrench,True,FR\n")
    run("import", "partners", str(path))
    given = {
        "and": {"countryCode": "be"},
        "createdAfter": "2000-01-01T00:00:00Z",
        "kind": "COMPANY",
    }
    out = tmp_path / "be.jsonl"
    run("export", "partners", "--filter", json.dumps(given), "--format", "jsonl", "-o", str(out))
    assert [json.loads(line)["name"] for line in out.read_text().splitlines()] == ["Belgian"]
    result = run("export", "partners", "--filter", '{"parentId": "not-an-id"}')
    assert "exported 0 partners" in result.output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_file_in_utf16_or_utf32_is_refused_saying_so(
    env: Database,  # noqa: F811
    tmp_path: Path,
    encoding: str,
) -> None:
    """A spreadsheet's "Unicode text" is UTF-16: read as UTF-8, it was "no 'name' or 'id'
    column: not a contacts export", which sent the user looking at the columns."""
    path = tmp_path / "unicode.csv"
    text = "id,name\nx.u1,Ünicode Co\n"
    path.write_bytes(
        text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode(encoding)
    )
    result = runner.invoke(cli, ["import", "partners", str(path)])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert said.startswith("partnerbook: cannot read"), said
    assert "the file is UTF-" in said and "save it as UTF-8" in said, said
    assert names(env) == set()
