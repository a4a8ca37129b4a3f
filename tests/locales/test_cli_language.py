"""The import report speaks the language of LANG: headings, counts, the date and each
row's problem (from the same catalogs as the API)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from babel.dates import format_date
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database

ROWS = "name,is_company,email\nAcme,peut-être,\nBeta,1,\n"


@pytest.fixture
def contacts(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "contacts.csv"
    path.write_text(ROWS, encoding="utf-8")
    return path


def _report(path: Path, lang: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LANG", lang)
    result = CliRunner().invoke(cli, ["import", "partners", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("lang", "locale", "expected"),
    [
        (
            "fr_FR.UTF-8",
            "fr",
            [
                "Import (essai : rien n'est écrit)",
                "inchangées",
                "ligne 2 refusée [is_company] : « peut-être » n'est ni vrai ni faux",
            ],
        ),
        (
            "C.UTF-8",
            "en",
            [
                "Import (dry run: nothing written)",
                "unchanged",
                "row 2 rejected [is_company]: 'peut-être' is not true or false",
            ],
        ),
    ],
)
def test_the_import_report_is_in_the_language_of_lang(
    contacts: Path, monkeypatch: pytest.MonkeyPatch, lang: str, locale: str, expected: list[str]
) -> None:
    output = _report(contacts, lang, monkeypatch)
    for text in expected:
        assert text in output
    assert format_date(dt.date.today(), format="medium", locale=locale) in output
