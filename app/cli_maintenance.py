"""`partnerbook maintenance ...`: database upkeep an operator runs by hand or from cron."""

from __future__ import annotations

import typer

from app.cli_database import reach_database
from app.infra.maintenance import scrub as run_scrub
from app.settings import Settings

maintenance = typer.Typer(help="Database upkeep (see docs/operations.md).", no_args_is_help=True)


@maintenance.command("scrub")
def scrub() -> None:
    """After erasures: removes erased values from old row versions and the WAL.

    Rewrites every table (VACUUM FULL, ANALYZE) and pg_statistic, then moves the WAL
    past every older segment with recycling off. Locks each table while it is
    rewritten: run it in a quiet hour. Exit 2 when a step needed rights the role lacks.
    """
    db = reach_database(Settings())
    report = run_scrub(db, typer.echo)
    for step in report.done:
        typer.echo(f"done: {step}")
    for step in report.skipped:
        typer.echo(f"not done: {step}", err=True)
    if report.skipped:
        typer.echo("partnerbook: the scrub is incomplete (see above)", err=True)
        raise typer.Exit(code=2)
