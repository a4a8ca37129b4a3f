"""`partnerbook import partners`: an Odoo contacts export in, idempotent, precise about
bad rows, parents defined later, countries by name/ISO/base.xx, tags created, dry run."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from bench import odoo_csv
from tests.conftest import event_count

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(tmp_path / "data"))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):  # the report in English (LANG=C)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C")
    return db


def run(*args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    print(result.output)
    return result


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def query(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.conninfo()) as conn:
        return conn.execute(sql, params).fetchall()


def summary(output: str) -> dict[str, int]:
    """The numbers of the summary table's data row."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
        if len(cells) == 6 and all(c.replace(",", "").isdigit() for c in cells):
            keys = ["rows", "created", "updated", "unchanged", "rejected", "warnings"]
            return {k: int(cells[i].replace(",", "")) for i, k in enumerate(keys)}
    raise AssertionError(f"no summary in {output}")


def test_a_generated_file_imports_and_a_second_run_changes_nothing(
    env: Database, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    odoo_csv.write(path, 60)
    first = summary(run("import", "partners", str(path)).output)
    assert first == {
        "rows": 60,
        "created": 60,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "warnings": first["warnings"],
    }
    assert "x_studio_note" in run("import", "partners", str(path), "--dry-run").output
    events = event_count(env)
    second = summary(run("import", "partners", str(path)).output)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 60)
    assert event_count(env) == events
    companies = query(env, "SELECT count(*) FROM partners WHERE kind = 'COMPANY'")[0][0]
    contacts = query(env, "SELECT count(*) FROM partners WHERE parent_id IS NOT NULL")[0][0]
    assert (companies, contacts) == (15, 45)
    # Odoo copies the company's address onto its contacts: the contact inherits it.
    rows = query(
        env,
        "SELECT c.own_street, c.street = p.street FROM partners c JOIN partners p "
        "ON p.id = c.parent_id AND c.type = 'CONTACT'",
    )
    assert rows and all(own is None and same for own, same in rows)


HEADER = ["id", "name", "is_company", "parent_id/id", "email", "phone", "country_id"]


def test_bad_rows_are_reported_precisely_and_good_rows_import(
    env: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER,
        [
            ["x.acme", "Acme", "True", "", "info@acme.example.com", "+32 2 511 22 33", "BE"],
            ["x.ann", "Ann", "False", "x.acme", "not-an-email", "", ""],
            ["x.bob", "Bob", "False", "x.nowhere", "bob@example.com", "", ""],
            ["x.nameless", "", "False", "", "", "", ""],
            ["x.cid", "Cid", "False", "x.acme", "cid@example.com", "call me maybe 12", ""],
        ],
    )
    report = tmp_path / "report.csv"
    result = run("import", "partners", str(path), "--report", str(report))
    counts = summary(result.output)
    assert (counts["created"], counts["rejected"], counts["warnings"]) == (2, 3, 1)
    with report.open() as handle:
        problems = list(csv.DictReader(handle))
    rejected = {(p["row"], p["column"]) for p in problems if p["severity"] == "REJECTED"}
    assert rejected == {("3", "email"), ("4", "parent_id/id"), ("5", "name")}
    assert any("x.nowhere" in p["message"] for p in problems)
    warning = next(p for p in problems if p["severity"] == "WARNING")
    assert (warning["row"], warning["column"]) == ("6", "phone")
    names = {r[0] for r in query(env, "SELECT name FROM partners")}
    assert names == {"Acme", "Cid"}
    phone = query(env, "SELECT phone FROM partners WHERE own_name = 'Cid'")[0][0]
    assert phone == "call me maybe 12"


def test_parents_later_countries_tags_and_references_by_name(env: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "order.csv",
        [
            "id",
            "name",
            "is_company",
            "parent_id/id",
            "country_id",
            "country_id/id",
            "category_id",
            "user_id",
            "industry_id",
            "customer_rank",
            "supplier",
            "active",
        ],
        [
            ["p.1", "Zoe", "False", "c.1", "", "", "VIP", "", "", "0", "", "True"],
            [
                "c.1",
                "Uk Ltd",
                "True",
                "",
                "",
                "base.uk",
                "Region / EMEA,VIP",
                "Marc",
                "IT",
                "2",
                "",
                "",
            ],
            ["c.2", "Belge SA", "True", "", "Belgium", "", "", "", "", "", "True", ""],
            ["c.3", "Franco", "True", "", "FR", "", "", "", "", "", "", "False"],
            ["p.2", "Pia", "False", "c.3", "", "", "", "", "", "", "", "True"],
        ],
    )
    counts = summary(run("import", "partners", str(path)).output)
    # An archived company's active contact imports (the company is archived last).
    assert (counts["created"], counts["rejected"]) == (5, 0)
    got = dict(
        (r[0], r[1:])
        for r in query(
            env,
            "SELECT own_name, country_code, is_customer, is_supplier, archived FROM partners",
        )
    )
    assert got["Uk Ltd"] == ("GB", True, False, False)
    assert got["Belge SA"] == ("BE", False, True, False)
    assert got["Franco"] == ("FR", False, False, True)
    assert got["Pia"] == ("FR", False, False, False)
    parent = query(
        env,
        "SELECT p.own_name FROM partners c JOIN partners p ON p.id = c.parent_id "
        "WHERE c.own_name = 'Zoe'",
    )
    assert parent == [("Uk Ltd",)]
    tags = {r[0] for r in query(env, "SELECT name FROM tags")}
    assert tags == {"Region", "EMEA", "VIP"}
    emea_parent = query(
        env, "SELECT p.name FROM tags t JOIN tags p ON p.id = t.parent_id WHERE t.name = 'EMEA'"
    )
    assert emea_parent == [("Region",)]
    entries = {r for r in query(env, "SELECT catalog, name FROM catalog_entries")}
    assert entries == {("SALESPERSON", "Marc"), ("INDUSTRY", "IT")}
    second = summary(run("import", "partners", str(path)).output)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 5)


def test_rows_match_by_ref_vat_and_email_and_update(env: Database, tmp_path: Path) -> None:
    header = ["name", "is_company", "ref", "vat", "email", "city"]
    first = write(
        tmp_path / "a.csv",
        header,
        [
            ["By Ref", "True", "R1", "", "", "Gent"],
            ["By Vat", "True", "", "BE0477472701", "", "Gent"],
            ["By Mail", "False", "", "", "Mail@Example.com", "Gent"],
        ],
    )
    assert summary(run("import", "partners", str(first)).output)["created"] == 3
    second = write(
        tmp_path / "b.csv",
        header,
        [
            ["By Ref", "True", "R1", "", "", "Liège"],
            ["By Vat", "True", "", "BE 0477.472.701", "", "Liège"],
            ["By Mail", "False", "", "", "mail@example.com", "Gent"],
        ],
    )
    counts = summary(run("import", "partners", str(second)).output)
    # The email matched whatever its case; the new spelling is an update.
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 3, 0)
    got = set(query(env, "SELECT own_name, city, email FROM partners"))
    assert got == {
        ("By Ref", "Liège", None),
        ("By Vat", "Liège", None),
        ("By Mail", "Gent", "mail@example.com"),
    }
    third = summary(run("import", "partners", str(second)).output)
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 0, 3)


def test_a_dry_run_writes_nothing(env: Database, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    odoo_csv.write(path, 12)
    before = event_count(env)
    counts = summary(run("import", "partners", str(path), "--dry-run").output)
    assert counts["created"] == 12
    assert event_count(env) == before


def test_unreadable_input_is_a_clear_error(env: Database, tmp_path: Path) -> None:
    path = tmp_path / "nothing.csv"
    path.write_text("a,b\n1,2\n")
    result = runner.invoke(cli, ["import", "partners", str(path)])
    assert result.exit_code == 1
    assert "not a contacts export" in result.output


def test_cycles_duplicates_ambiguity_and_kind_changes_are_rejected(
    env: Database, tmp_path: Path
) -> None:
    first = write(
        tmp_path / "first.csv",
        ["name", "is_company", "email"],
        [["Twin A", "False", "same@example.com"], ["Twin B", "False", "same@example.com"]],
    )
    assert summary(run("import", "partners", str(first)).output)["created"] == 2
    path = write(
        tmp_path / "rules.csv",
        ["id", "name", "is_company", "parent_id/id", "email", "ref"],
        [
            ["c.a", "A", "True", "c.b", "", ""],
            ["c.b", "B", "True", "c.a", "", ""],
            ["d.1", "One", "True", "", "", "R9"],
            ["d.1", "Again", "True", "", "", ""],
            ["", "Who", "False", "", "same@example.com", ""],
            ["d.2", "Company now", "True", "", "", ""],
        ],
    )
    report = tmp_path / "report.csv"
    counts = summary(run("import", "partners", str(path), "--report", str(report)).output)
    assert (counts["created"], counts["rejected"]) == (2, 4)
    with report.open() as handle:
        rejected = {
            (p["row"], p["column"]): p["message"]
            for p in csv.DictReader(handle)
            if p["severity"] == "REJECTED"
        }
    assert set(rejected) == {("2", "parent_id"), ("3", "parent_id"), ("5", "id"), ("6", "email")}
    assert "cycle" in rejected[("2", "parent_id")]
    assert "row 4" in rejected[("5", "id")]
    assert "2 partners" in rejected[("6", "email")]
    # The same external id as a person now: a partner's kind cannot change.
    person = write(tmp_path / "kind.csv", ["id", "name", "is_company"], [["d.2", "P", "False"]])
    result = run("import", "partners", str(person), "--report", str(report))
    assert summary(result.output)["rejected"] == 1
    assert "kind cannot change" in report.read_text()


def test_checking_ahead_in_worker_processes_changes_no_outcome(
    env: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big files have their emails and phones checked in worker processes: the report
    (rejections, warnings, counts) is the same as checked in process, and so is a re-run."""
    from app.application.importing import check_ahead

    monkeypatch.setattr(check_ahead, "AHEAD_MIN_ROWS", 1)
    monkeypatch.setattr(check_ahead, "AHEAD_CHUNK", 7)
    path = tmp_path / "contacts.csv"
    odoo_csv.write(path, 60)
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=odoo_csv.COLUMNS, restval="")
        writer.writerow({"id": "x.bad", "name": "Bad", "email": "not-an-email"})
        writer.writerow({"id": "x.nodigit", "name": "Nod", "phone": "none at all"})
        writer.writerow({"id": "x.typed", "name": "Ty", "phone": "ask for 12", "mobile": "+3225"})
        writer.writerow(
            {
                "id": "x.kid",
                "name": "Kid",
                "parent_id/id": "__export__.res_partner_c1",
                "type": "other",
                "phone": "01 42 68 53 00",
                "email": "Kid@Example.COM",
            }
        )
    reports = {}
    for workers in ("0", "1", "2"):
        report = tmp_path / f"report{workers}.csv"
        args = ["import", "partners", str(path), "--dry-run", "--workers", workers]
        counts = summary(run(*args, "--report", str(report)).output)
        reports[workers] = (counts, report.read_text())
    assert reports["0"] == reports["1"] == reports["2"]
    assert reports["0"][0]["rejected"] == 2
    first = summary(run("import", "partners", str(path), "--workers", "2").output)
    assert (first["created"], first["rejected"]) == (62, 2)
    assert (first["warnings"], first["rejected"]) == (reports["0"][0]["warnings"], 2)
    second = summary(run("import", "partners", str(path), "--workers", "2").output)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 62)
    kid = query(env, "SELECT email, phone FROM partners WHERE own_name = 'Kid'")[0]
    assert kid == ("Kid@example.com", "+33142685300")
