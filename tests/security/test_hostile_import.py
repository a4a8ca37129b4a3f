"""Hostile text in a CSV import and on the command line: a cell with NUL or a byte that
is not UTF-8 (read as a lone surrogate) rejects its row, naming row and column, and the
other rows import; an argument that is not text is refused before any command runs."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from app import cli as cli_module
from app.cli import cli
from app.infra.database import Database
from tests.conftest import event_count

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(tmp_path / "data"))
    return db


def test_nul_and_undecodable_bytes_reject_their_row_with_row_and_column(
    env: Database, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(
        b"id,name,is_company,city,comment\n"
        b"x.good,Good Co,True,Ghent,fine\n"
        b"x.nul,Nul\x00 Co,True,Ghent,\n"
        b"x.byte,Byte Co,True,Gh\xffent,\n"
        b"x.cesu,Cesu Co,True,,\xed\xa0\x80 surrogate as bytes\n"
        b"x.after,After Co,True,Bruges,\n"
    )
    report = tmp_path / "report.csv"
    result = runner.invoke(cli, ["import", "partners", str(path), "--report", str(report)])
    assert result.exit_code == 0, result.output
    with report.open(encoding="utf-8") as handle:
        problems = list(csv.DictReader(handle))
    rejected = {(p["row"], p["column"]): p["message"] for p in problems}
    assert set(rejected) == {("3", "name"), ("4", "city"), ("5", "comment")}
    assert "NUL" in rejected[("3", "name")]
    assert "0xFF is not UTF-8" in rejected[("4", "city")]
    assert "lone surrogate" in rejected[("5", "comment")]
    with psycopg.connect(env.conninfo()) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM partners")}
    assert names == {"Good Co", "After Co"}


def test_an_argument_that_is_not_text_is_refused_before_anything_runs(
    env: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = event_count(env)
    # What Python makes of a file name with a byte that is not UTF-8 (surrogateescape):
    # it would become the import's reason, in every event.
    monkeypatch.setattr(sys, "argv", ["partnerbook", "import", "partners", "bad\udcff.csv"])
    with pytest.raises(SystemExit) as exit_:
        cli_module.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument 3 is not valid text" in err and "0xFF is not UTF-8" in err
    assert event_count(env) == before
