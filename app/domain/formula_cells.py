"""Spreadsheet formula injection: neutralising CSV cells on export, restoring them on import.

A spreadsheet evaluates a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab
or carriage return) as a formula: a partner named `=HYPERLINK(...)` would run for whoever
opens the export. As OWASP advises, such a cell is written with a leading `'`, which
spreadsheets show as text and hide. So that the import can tell an added `'` from one the
value had, a value whose first character after its leading `'`s is a formula character
(`'=already`) gets one more `'` too; the import removes exactly one leading `'` from such a
cell, and from no other: `restore(neutralize(v)) == v` for every text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet may read as the start of a formula (OWASP's list)."""

QUOTE = "'"


def _needs_quote(value: str) -> bool:
    return value.lstrip(QUOTE).startswith(FORMULA_STARTS)


def neutralize(value: str) -> str:
    """The cell to write for `value`: one `'` in front when a spreadsheet could read it as
    a formula (or when it already has `'`s in front of a formula character)."""
    return QUOTE + value if _needs_quote(value) else value


def restore(cell: str) -> str:
    """The value a neutralised cell stands for; any other cell as it is."""
    if cell.startswith(QUOTE) and _needs_quote(cell[1:]):
        return cell[1:]
    return cell
