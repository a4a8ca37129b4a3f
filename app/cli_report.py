"""The import's report on the terminal, in the language of LANG (LANGUAGE, LC_ALL…):
headings, counts, dates and each row's problem, from the same catalogs as the API."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from app import locales
from app.application.importing.report import ImportReport
from app.domain.messages import Message
from app.locales import formats


def print_summary(
    result: ImportReport, total: int, elapsed: float, unknown: list[str], dry_run: bool
) -> None:
    """The report on the terminal, in the language of LANG (LANGUAGE, LC_ALL…)."""
    locale = locales.from_environment(os.environ)

    def say(text: str, **params: Any) -> str:
        return locales.translate(Message(text, **params) if params else text, locale)

    title = Message("Import (dry run: nothing written)") if dry_run else Message("Import")
    table = Table(title=say(title), caption=formats.date(dt.date.today(), locale))
    rejected_rows = sum(1 for o in result.outcomes.values() if o == "REJECTED")
    counts = (total, result.created, result.updated, result.unchanged, rejected_rows)
    for name in _COLUMNS:
        table.add_column(say(name), justify="right")
    table.add_row(*(formats.number(n, locale) for n in (*counts, len(result.warnings))))
    console = Console()
    console.print(table)
    rate = formats.number(round(total / max(elapsed, 1e-6)), locale)
    console.print(
        say(
            Message("%(rows)s rows in %(seconds)s s: %(rate)s rows/s"),
            rows=formats.number(total, locale),
            seconds=formats.number(elapsed, locale, decimals=1),
            rate=rate,
        ),
        markup=False,
    )
    if unknown:
        console.print(
            say(Message("ignored unknown columns: %(columns)s"), columns=", ".join(unknown)),
            markup=False,
        )
    for label, names in (
        (Message("new tags (%(count)s): %(names)s"), result.new_tags),
        (Message("new industries (%(count)s): %(names)s"), result.new_industries),
        (Message("new salespersons (%(count)s): %(names)s"), result.new_salespersons),
    ):
        if names:
            shown = ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
            console.print(say(label, count=len(names), names=shown), markup=False)
    _print_problems(console, result, say)


_COLUMNS = (
    Message("rows"),
    Message("created"),
    Message("updated"),
    Message("unchanged"),
    Message("rejected"),
    Message("warnings"),
)


def _print_problems(console: Console, result: ImportReport, say: Callable[..., str]) -> None:
    for (row, more), problems in (
        (_REJECTED, result.rejected),
        (_WARNED, result.warnings),
    ):
        problems = sorted(problems, key=lambda p: p.row)
        for problem in problems[:10]:
            line = say(row, row=problem.row, column=problem.column, message=problem.message)
            console.print(line, markup=False)
        if len(problems) > 10:
            console.print(say(more, count=len(problems) - 10), markup=False)


_REJECTED = (
    Message("row %(row)s rejected [%(column)s]: %(message)s"),
    Message("… %(count)s more (rejected); see --report"),
)
_WARNED = (
    Message("row %(row)s warning [%(column)s]: %(message)s"),
    Message("… %(count)s more (warning); see --report"),
)
