"""`partnerbook import partners` and `partnerbook export partners`: partners in and out in
the column layout of an Odoo contacts export (issue 10)."""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
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
from app.domain.odoo_csv import read_rows
from app.domain.text import storable, unstorable_reason
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
    """The header and the rows (app/domain/odoo_csv.py). A byte that is not UTF-8 reads
    as a lone surrogate (surrogateescape): its row is rejected with the column
    (app/domain/odoo_columns.py), the others are imported. csv.Error: a file whose layout
    cannot be trusted, or one in UTF-16 or UTF-32 (a byte order mark says so: read as
    UTF-8 it had no column anyone would recognise)."""
    with path.open("rb") as raw:
        start = raw.read(4)
    for mark, encoding in _WIDE_MARKS:
        if start.startswith(mark):
            raise csv.Error(f"the file is {encoding} (its first bytes say so): save it as UTF-8")
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        return read_rows(handle)


_WIDE_MARKS = (  # UTF-32's before UTF-16's: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


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
    settings = Settings()
    where = None
    search = None
    segment_id = None
    if filter:
        where = _partner_filter(filter, settings)
    if segment:
        try:
            segment_id = expect_id(segment, "Segment")
        except BadId as error:
            _fail(f"--segment: {error}")
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
        try:
            handle: TextIO = (
                output.open("w", newline="", encoding="utf-8") if output else sys.stdout
            )
        except OSError as error:  # a missing directory, a directory, no permission
            _fail(f"--output {output}: {error.strerror or error}", code=2)
        try:
            count = asyncio.run(_export(db, where, search, format, handle, raw=raw))
        except OSError as error:  # a full disk, a closed pipe
            _fail(f"cannot write {output or 'the output'}: {error.strerror or error}")
        finally:
            if output:
                handle.close()
    err.print(f"exported {count} partners", markup=False)


def _partner_filter(given: str, settings: Settings) -> Any:
    """The PartnerFilter `--filter` spells, held to what the API holds one to (its text,
    its nesting and size, its fields' types); else exits 2 saying why, before anything
    runs. Python's own errors on such JSON (a list, `null`, a number for a string,
    nesting 3,000 deep) were tracebacks."""
    from graphql import GraphQLError, GraphQLInputObjectType
    from graphql.utilities import coerce_input_value, validate_input_value

    from app.schema.limits import Limits, filter_over_limit
    from app.schema.schema import build_schema
    from app.schema.segments import filter_from_json

    try:
        data = json.loads(given)
    except ValueError as error:
        _fail(f"--filter is not JSON: {error}", code=2)
    except RecursionError:
        _fail("--filter is not a PartnerFilter: nested too deeply", code=2)
    if not isinstance(data, dict):
        _fail("--filter is not a PartnerFilter: a JSON object is expected", code=2)
    if (problem := _unstorable_in(data)) is not None:
        _fail(f"--filter: {problem}", code=2)
    limits = Limits(
        max_batch=settings.max_batch,
        max_filter_depth=settings.max_filter_depth,
        max_filter_leaves=settings.max_filter_leaves,
    )
    if (reason := filter_over_limit(data, limits)) is not None:
        _fail(f"--filter is not a PartnerFilter: {reason}", code=2)
    type_ = build_schema()._schema.get_type("PartnerFilter")
    assert isinstance(type_, GraphQLInputObjectType)
    errors: list[str] = []

    def refused(error: GraphQLError, path: list[str | int]) -> None:
        where = ".".join(str(p) for p in path)
        errors.append(f"{where}: {error.message}" if where else error.message)

    validate_input_value(data, type_, refused)
    if errors:
        _fail(f"--filter is not a PartnerFilter: {errors[0]}", code=2)
    # As the API coerces it (a single object for a list of one, dates parsed), then in
    # the spelling segments store.
    return filter_from_json(_spelled(coerce_input_value(data, type_))).to_filter()


def _unstorable_in(value: Any) -> str | None:
    """Where the JSON holds text PostgreSQL cannot store, and why (walked without
    recursion: the JSON may nest as deep as the parser allows)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            reason = unstorable_reason(item)
            if reason is not None:
                return f"`{path}` {reason}" if path else reason
        elif isinstance(item, dict):
            for key, inner in item.items():
                where = f"{path}.{storable(key)}" if path else storable(key)
                if (reason := unstorable_reason(key)) is not None:
                    return f"`{where}` (a name) {reason}"
                stack.append((inner, where))
        elif isinstance(item, list):
            stack.extend((inner, f"{path}[{at}]") for at, inner in enumerate(item))
    return None


def _spelled(value: Any) -> Any:
    """A coerced filter in the JSON the API spells (what `filter_from_json` reads)."""
    if isinstance(value, dict):
        return {k: _spelled(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_spelled(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


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
