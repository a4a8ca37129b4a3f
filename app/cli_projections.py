"""`partnerbook projections run|rebuild|status|skip` and `partnerbook audit verify`."""

from __future__ import annotations

import getpass
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app import database
from app.application import Partnerbook
from app.domain.text import unstorable_reason
from app.observability import configure_logging
from app.projections import audit, stuck
from app.projections.projector import (
    PROJECTION_NAMES,
    Projector,
    RegistryProjection,
    construct_projection,
    rebuild,
    status,
)
from app.settings import Settings

projections = typer.Typer(help="Run, rebuild and inspect the projections.", no_args_is_help=True)
audit_cli = typer.Typer(help="Tamper evidence: verify the chain hash.", no_args_is_help=True)
console = Console()
log = logging.getLogger(__name__)


def _fail(message: str) -> None:
    typer.echo(f"partnerbook: {message}", err=True)
    raise typer.Exit(code=1)


def _database(settings: Settings) -> database.Database:
    try:
        db = database.resolve(settings.database_url, settings.data_dir)
        database.check_reachable(db, settings.connect_timeout)
        database.prepare(db, settings.connect_timeout)
    except database.DatabaseUnavailable as error:
        _fail(str(error))
        raise  # unreachable: _fail exits
    return db


@contextmanager
def _application(settings: Settings) -> Iterator[tuple[database.Database, Partnerbook, Any]]:
    from app.main import open_application

    db = _database(settings)
    app = open_application(db, settings)
    env = db.eventsourcing_env(2, settings.connect_timeout)
    try:
        yield db, app, env
    finally:
        app.close()


@projections.command("run")
def run_projections() -> None:
    """Runs every projection (registry, audit) until SIGTERM/SIGINT: the standalone
    projector process. Each holds its advisory lock, so a second process stands by."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with _application(settings) as (db, app, env):
        runners = [
            Projector(
                app,
                construct_projection(env, name),
                db,
                batch_size=settings.projection_batch_size,
            )
            for name in PROJECTION_NAMES
        ]
        threads = [
            threading.Thread(target=p.run, args=(stop,), name=f"projector-{p.projection.name}")
            for p in runners
        ]
        for thread in threads:
            thread.start()
        typer.echo(f"projecting {', '.join(PROJECTION_NAMES)} (database {db.url})")
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join(10)
        for runner in runners:
            runner.projection.view.datastore.close()


@projections.command("rebuild")
def rebuild_projections(
    name: str = typer.Argument(None, help="registry or audit (default: both)."),
    batch_size: int = typer.Option(2000, help="Events per transaction."),
) -> None:
    """Replays the log from the first event into fresh tables, then swaps them in
    atomically while the API keeps serving."""
    names = [name] if name else list(PROJECTION_NAMES)
    for each in names:
        if each not in PROJECTION_NAMES:
            _fail(f"no projection named {each!r}; known: {', '.join(PROJECTION_NAMES)}")
    settings = Settings()
    with _application(settings) as (db, app, env):
        total = app.recorder.max_notification_id() or 0
        for each in names:
            started = time.perf_counter()
            with Progress(
                TextColumn(f"rebuilding {each}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task(each, total=total, rate="-")

                def advance(
                    n: int, task: Any = task, progress: Progress = progress, t0: float = started
                ) -> None:
                    done = progress.tasks[0].completed + n
                    rate = done / max(time.perf_counter() - t0, 1e-9)
                    progress.update(task, advance=n, rate=f"{rate:,.0f}")

                applied = rebuild(app, db, env, each, batch_size=batch_size, progress=advance)
            seconds = time.perf_counter() - started
            typer.echo(
                f"{each}: rebuilt from {applied} events in {seconds:.1f} s "
                f"({applied / max(seconds, 1e-9):,.0f} events/s) and swapped in"
            )


@projections.command("status")
def projections_status() -> None:
    """Each projection's position, the log's last notification id, the lag, and the
    event a projection is stuck on (exit code 2 when one is)."""
    settings = Settings()
    db = _database(settings)
    table = Table("projection", "position", "log max id", "lag", "stuck on")
    statuses = status(db)
    for s in statuses:
        table.add_row(
            s.name,
            str(s.position),
            str(s.max_notification_id),
            str(s.lag),
            "-" if s.stuck is None else str(s.stuck.position),
        )
    console.print(table)
    stuck = [s.stuck for s in statuses if s.stuck is not None]
    for at in stuck:
        since = f" since {at.since:%Y-%m-%d %H:%M:%S %Z}" if at.since else ""
        typer.echo(f"STUCK: {at.describe()}{since} (see docs/operations.md)", err=True)
    if stuck:
        raise typer.Exit(code=2)


@projections.command("skip")
def skip_event(
    name: str = typer.Argument(..., help="The projection: registry."),
    position: int = typer.Argument(..., help="The event it is stuck on (projections status)."),
    reason: str = typer.Option(..., "--reason", help="Why; kept with the decision and logged."),
) -> None:
    """Lets a stuck projection pass over the one event it cannot apply: the read models
    will show nothing of that event. Only the event it is stuck on, and only the
    registry (the audit chain covers every event); recorded in `projection_skips` and
    logged, and a rebuild skips it the same way while the code still cannot apply it."""
    settings = Settings()
    if name != RegistryProjection.name:
        _fail(f"only the {RegistryProjection.name} projection can skip an event")
    if not reason.strip() or unstorable_reason(reason) is not None:
        _fail("--reason must say why, in text")
    db = _database(settings)
    current = next(s for s in status(db) if s.name == name)
    if current.stuck is None or current.stuck.position != position:
        where = "it is not stuck" if current.stuck is None else current.stuck.describe()
        _fail(f"{name} is not stuck on event {position}: {where}")
    assert current.stuck is not None
    try:
        actor = f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a name
        actor = "cli:unknown"
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        stuck.add_skip(conn, stuck.Skip(name, position, current.stuck.topic, reason.strip(), actor))
    log.warning(
        "projection %s will skip event %d (%s) on %s's decision: %s (it failed with: %s)",
        name,
        position,
        current.stuck.topic,
        actor,
        reason.strip(),
        current.stuck.error,
    )
    typer.echo(f"{name} skips event {position}; the projector passes it at its next try")


@audit_cli.command("verify")
def verify() -> None:
    """Recomputes the chain hash from the event table; prints OK and the head, or names
    the first notification whose stored bytes no longer match (exit code 1)."""
    settings = Settings()
    db = _database(settings)
    verdict = audit.verify(db.conninfo())
    if verdict.ok:
        typer.echo(
            f"OK: chain verified up to notification {verdict.position}, "
            f"head {verdict.chain_hash.hex()}"
            + (
                f" ({verdict.unprojected} newer events not chained yet)"
                if verdict.unprojected
                else ""
            )
        )
        return
    typer.echo(
        f"TAMPERED: notification {verdict.broken_at}: {verdict.problem} "
        f"(chain intact up to notification {verdict.position})",
        err=True,
    )
    raise typer.Exit(code=1)
