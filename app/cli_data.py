"""`partnerbook import partners` and `partnerbook export partners`: partners in and out in
the column layout of an Odoo contacts export (issue 10)."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.application import Partnerbook
from app.application.importing.known import ImportLookups
from app.application.importing.lookups import read_lookups
from app.application.importing.report import ImportReport
from app.application.importing.saving import MAX_BATCH
from app.cli_report import print_summary
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.formula_cells import neutralize
from app.domain.text import storable
from app.infra import database
from app.projections.projector import (
    EventNotApplied,
    Projector,
    RegistryProjection,
    construct_view,
)
from app.queries.exports import (
    EXPORT_COLUMNS,
    export_condition,
    export_rows,
    segment_definition,
)
from app.queries.import_lookups import ImportLookupQueries
from app.settings import Settings

import_app = typer.Typer(help="Bring partners in (Odoo contacts CSV layout).", no_args_is_help=True)
export_app = typer.Typer(
    help="Write partners out (Odoo contacts CSV layout).", no_args_is_help=True
)
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"partnerbook: {message}", markup=False)
    raise typer.Exit(code=code)


@contextmanager
def registry(settings: Settings) -> Iterator[tuple[database.Database, Partnerbook, Projector]]:
    """The event store and the read model, caught up with every event before use."""
    from app.main import open_application

    try:
        db = database.resolve(settings.database_url, settings.data_dir)
        database.prepare(db, settings.connect_timeout)
    except database.DatabaseUnavailable as error:
        _fail(str(error))
    app = open_application(db, settings)
    view = construct_view(db.eventsourcing_env(2, settings.connect_timeout))
    projector = Projector(app, RegistryProjection(view), db)
    try:
        catch_up(projector)
        yield db, app, projector
    finally:
        app.close()
        view.datastore.close()


def catch_up(projector: Projector, timeout: float = 120.0) -> None:
    """Projects what is not yet projected: here when no server holds the projector's
    lock, else by waiting for the server's projector."""
    try:
        if projector.catch_up_unless_running():
            return
    except EventNotApplied as error:
        _fail(f"the read models cannot catch up: {error} (docs/operations.md)")
    head = projector.app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while projector.position < head:
        if time.monotonic() > deadline:
            _fail("the projector of the running server did not catch up in time")
        time.sleep(0.2)


def read_csv(path: Path) -> tuple[list[str], list[oc.OdooRow]]:
    """The header and the rows; row numbers as a spreadsheet shows them (header = 1).
    A byte that is not UTF-8 reads as a lone surrogate (surrogateescape): its row is
    rejected with the column (app/domain/odoo_columns.py), the others are imported."""
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        # A header cell that is not text names no known column: shown as U+FFFD.
        header = [storable(h.strip()) for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [oc.read_row(number, record) for number, record in enumerate(reader, start=2)]
    return header, rows


@import_app.command("partners")
def import_partners(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV file.")],
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count; write nothing."),
    batch: int = typer.Option(
        MAX_BATCH, "--batch", min=1, max=MAX_BATCH, help="Partners saved per transaction."
    ),
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write every rejection and warning to this CSV file."),
    ] = None,
    workers: int = typer.Option(
        max(1, (os.cpu_count() or 2) - 1),
        "--workers",
        min=0,
        help="Processes checking emails and phones ahead (big files; default: one per CPU "
        "but one, which saves); 0: none.",
    ),
) -> None:
    """Creates or updates partners from an Odoo contacts export ("import-compatible").

    A partner is found by external id (`id`), then `ref`, then VAT, then email; rows that
    break a rule are rejected with row, column and reason, the others are imported."""
    settings = Settings()
    with registry(settings) as (db, app, projector):
        started = time.monotonic()  # the rate counts reading, planning and saving
        header, rows = _read_contacts(file)
        unknown = oc.unknown_columns(header)
        lookups = asyncio.run(_lookups(db, rows))
        audit = Audit(actor="cli:import", request_id=uuid.uuid4().hex, reason=f"import {file.name}")
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as progress:
            task = progress.add_task(
                "dry run" if dry_run else "importing", total=len(rows), rate="-"
            )

            def advance(count: int) -> None:
                done = progress.tasks[task].completed + count
                elapsed = max(time.monotonic() - started, 1e-6)
                progress.update(task, advance=count, rate=f"{done / elapsed:,.0f}")

            result = app.import_partners(
                rows,
                lookups,
                audit,
                dry_run=dry_run,
                batch_size=batch,
                progress=advance,
                workers=workers,
            )
        elapsed = time.monotonic() - started
        if not dry_run:
            catch_up(projector)
    print_summary(result, len(rows), elapsed, unknown, dry_run)
    if report is not None:
        _write_report(report, result, unknown)
        err.print(f"report written to {report}", markup=False)


def _read_contacts(file: Path) -> tuple[list[str], list[oc.OdooRow]]:
    """The header and rows of a contacts export; exits with the reason when it is none."""
    try:
        header, rows = read_csv(file)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        _fail(f"cannot read {file}: {error}")
    if "name" not in header and "id" not in header:
        _fail(f"{file}: no 'name' or 'id' column: not a contacts export")
    return header, rows


async def _lookups(db: database.Database, rows: list[oc.OdooRow]) -> ImportLookups:
    async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
        return await read_lookups(ImportLookupQueries(conn), rows)


def _write_report(path: Path, result: ImportReport, unknown: list[str]) -> None:
    """A CSV people open in a spreadsheet: column names and messages quote the file's cells,
    so they are neutralised against formulas like an export."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "severity", "column", "message"])
        for column in unknown:
            writer.writerow([1, "WARNING", neutralize(column), "unknown column: ignored"])
        problems = [("REJECTED", p) for p in result.rejected] + [
            ("WARNING", p) for p in result.warnings
        ]
        for severity, problem in sorted(problems, key=lambda item: item[1].row):
            writer.writerow(
                [problem.row, severity, neutralize(problem.column), neutralize(problem.message)]
            )


@export_app.command("partners")
def export_partners(
    filter: str | None = typer.Option(
        None, "--filter", help='A PartnerFilter as JSON, e.g. \'{"countryCode": "BE"}\'.'
    ),
    segment: str | None = typer.Option(None, "--segment", help="A segment's id."),
    format: str = typer.Option("csv", "--format", help="csv or jsonl."),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    raw: bool = typer.Option(
        False,
        "--raw",
        help="CSV: write cells as they are, without the `'` that keeps a spreadsheet from "
        "reading `=`, `+`, `-`, `@`, tab or CR as a formula.",
    ),
) -> None:
    """Writes partners (all of them, archived included, unless filtered) in the column
    layout `import partners` reads: export, then import elsewhere, round-trips.

    A CSV cell beginning with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (formula
    injection, OWASP), which the import removes again; JSONL is written as is."""
    from app.schema.ids import BadId, expect_id
    from app.schema.segments import filter_from_json

    if format not in ("csv", "jsonl"):
        _fail("--format is csv or jsonl")
    if filter and segment:
        _fail("give --filter or --segment, not both")
    where = None
    search = None
    segment_id = None
    if filter:
        try:
            where = filter_from_json(json.loads(filter)).to_filter()
        except (ValueError, KeyError, TypeError) as error:
            _fail(f"--filter is not a PartnerFilter: {error}")
    if segment:
        try:
            segment_id = expect_id(segment, "Segment")
        except BadId as error:
            _fail(f"--segment: {error}")
    settings = Settings()
    with registry(settings) as (db, _app, _projector):
        if segment_id is not None:
            found = asyncio.run(_segment(db, segment_id))
            if found is None:
                _fail(f"no segment {segment}")
            assert found is not None
            spec, search = found
            where = filter_from_json(spec).to_filter() if spec else None
            if where is None:
                from app.queries.partners.filters import PartnerFilter

                where = PartnerFilter()
        handle: TextIO = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            count = asyncio.run(_export(db, where, search, format, handle, raw=raw))
        finally:
            if output:
                handle.close()
    err.print(f"exported {count} partners", markup=False)


async def _segment(db: database.Database, segment_id: uuid.UUID) -> Any:
    async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
        return await segment_definition(conn, segment_id)


async def _export(
    db: database.Database,
    where: Any,
    search: str | None,
    format: str,
    handle: TextIO,
    *,
    raw: bool = False,
) -> int:
    count = 0
    async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
        condition = await export_condition(conn, where, datetime.now(UTC), search)
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS) if format == "csv" else None
        if writer is not None:
            writer.writeheader()
        async for row in export_rows(conn, condition):
            if writer is not None:
                writer.writerow(row if raw else {k: neutralize(v) for k, v in row.items()})
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
