"""What became of the rows of an import: the report it answers with, and `Outcomes`, which
writes into it as rows are rejected, warned about and counted, and tells the caller's
progress of every row done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from app.domain import odoo_columns as oc

Progress = Callable[[int], None]
"""Told the number of rows just done."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[oc.Problem] = field(default_factory=list)
    warnings: list[oc.Problem] = field(default_factory=list)
    partner_ids: dict[int, UUID] = field(default_factory=dict)
    """Line -> partner id of the rows created, updated or unchanged."""
    outcomes: dict[int, str] = field(default_factory=dict)
    """Line -> CREATED, UPDATED, UNCHANGED or REJECTED."""
    new_tags: list[str] = field(default_factory=list)
    new_industries: list[str] = field(default_factory=list)
    new_salespersons: list[str] = field(default_factory=list)
    position: int | None = None
    """Notification id of the last event recorded; None when nothing was recorded."""


class Outcomes:
    """Each row's outcome, written into `report` once it is known."""

    def __init__(self, progress: Progress | None) -> None:
        self.report = ImportReport()
        self.progress = progress

    def count(self, line: int, outcome: str, target: UUID, *, tick: bool = True) -> None:
        """A row created, updated or unchanged (`outcome`) the partner `target`."""
        self.report.outcomes[line] = outcome
        self.report.partner_ids[line] = target
        if outcome == "CREATED":
            self.report.created += 1
        elif outcome == "UPDATED":
            self.report.updated += 1
        else:
            self.report.unchanged += 1
        if tick:
            self.tick(1)

    def mark(self) -> tuple[int, int, int, int]:
        """Where the report's lists end now (`undo` forgets what comes after)."""
        r = self.report
        return len(r.warnings), len(r.new_tags), len(r.new_industries), len(r.new_salespersons)

    def undo(self, mark: tuple[int, int, int, int]) -> None:
        """Forgets the warnings and new names reported since `mark`: a row whose save
        met another writer, tried again (its new tags and entries were not saved)."""
        r = self.report
        del r.warnings[mark[0] :]
        for names, length in zip(
            (r.new_tags, r.new_industries, r.new_salespersons), mark[1:], strict=True
        ):
            del names[length:]

    def tick(self, count: int) -> None:
        if self.progress is not None:
            self.progress(count)

    def reject(self, row: oc.OdooRow, column: str, message: str) -> None:
        self.reject_row(row, [oc.Problem(row.line, column, message)])

    def reject_row(self, row: oc.OdooRow, problems: list[oc.Problem]) -> None:
        self.report.rejected += problems
        self.report.outcomes[row.line] = "REJECTED"
        self.take_warnings(row)
        self.tick(1)

    def warn(self, row: oc.OdooRow, column: str, message: str) -> None:
        self.report.warnings.append(oc.Problem(row.line, column, message))

    def take_warnings(self, row: oc.OdooRow) -> None:
        """The warnings reading the row gave, reported (once)."""
        self.report.warnings += row.warnings
        row.warnings = []
