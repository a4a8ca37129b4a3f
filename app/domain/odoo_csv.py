"""The text of an Odoo contacts export (a CSV file read as lines) into its header and
rows: the file's layout, which `odoo_columns.read_row` does not see. A file whose layout
cannot be trusted is refused whole (csv.Error, naming where): a column named twice (one
of its cells would be lost, unseen), a quote that is never closed (the rest of the file
would be one cell). A row whose cells do not fit the header is rejected on its own."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from app.domain import odoo_columns as oc
from app.domain.messages import Message
from app.domain.text import storable


def read_rows(source: Iterable[str]) -> tuple[list[str], list[oc.OdooRow]]:
    """The header and the rows; row numbers as a spreadsheet shows them (header = 1): a
    blank row counts (and is skipped), a cell over several lines is one row. A row with
    more or fewer cells than the header is rejected (its values would land in the wrong
    columns, or be missing unseen); the others are read by `odoo_columns.read_row`."""
    lines = _Lines(source)
    reader = csv.reader(lines)
    # A header cell that is not text names no known column: shown as U+FFFD.
    header = [storable(h.strip()) for h in next(reader, [])]
    _check_header(header)
    rows: list[oc.OdooRow] = []
    number, start, last = 1, 1, lines.take()
    for cells in reader:
        number, start, last = number + 1, start + len(last), lines.take()
        if not any(cell.strip() for cell in cells):
            continue  # a blank row, as a spreadsheet saves one
        if len(cells) != len(header):
            rows.append(_misfit(number, header, cells))
        else:
            rows.append(oc.read_row(number, dict(zip(header, cells, strict=True))))
    if _never_closed(last):
        # The reader takes the end of the file for the closing quote: every row after it
        # was one cell (a partner named "Quote Co,Bern\nx.q2,…", the other rows lost).
        raise csv.Error(
            f"row {number} (line {start}): a quote opens a cell that is never closed, so "
            "the rest of the file would be that one cell; nothing was imported"
        )
    return header, rows


class _Lines:
    """The lines `csv.reader` takes, keeping those of the row it reads."""

    def __init__(self, source: Iterable[str]) -> None:
        self.source: Iterator[str] = iter(source)
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.source)
        self.taken.append(line)
        return line

    def take(self) -> list[str]:
        """The lines of the row just read (the reader reads no further than its end)."""
        taken, self.taken = self.taken, []
        return taken


def _check_header(header: list[str]) -> None:
    """A column named twice refuses the file (an empty name is an ignored column, as a
    spreadsheet's trailing commas make, and may repeat)."""
    seen: dict[str, int] = {}
    for at, name in enumerate(header, start=1):
        if name and name in seen:
            raise csv.Error(
                f"the header names the column '{name}' twice (columns {seen[name]} and {at}): "
                "which one to import is unclear; nothing was imported"
            )
        seen.setdefault(name, at)


def _misfit(number: int, header: list[str], cells: list[str]) -> oc.OdooRow:
    """A row rejected for its number of cells, in the column where they stop fitting: a
    cell with an unquoted comma shifts the ones after it, a short row lacks the last."""
    counts = {"cells": len(cells), "columns": len(header)}
    if len(cells) > len(header):
        column = header[-1] if header else ""
        because = Message(
            "%(cells)s cells where the header has %(columns)s columns: "
            "a cell that holds a comma must be in double quotes",
            **counts,
        )
    else:
        column = header[len(cells)]
        because = Message(
            "%(cells)s cells where the header has %(columns)s columns: "
            "the row ends before this column",
            **counts,
        )
    return oc.OdooRow(line=number, rejected=[oc.Problem(number, column, because)])


def _never_closed(lines: list[str]) -> bool:
    """Whether the last row read ends inside a quoted cell: read again with one more line
    after it, it takes that line in instead of ending before it."""
    if not lines:
        return False
    last = lines[-1] if lines[-1].endswith(("\n", "\r")) else lines[-1] + "\n"
    return sum(1 for _ in csv.reader([*lines[:-1], last, "end\n"])) < 2
