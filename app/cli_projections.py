"""`partnerbook projections run|rebuild|status|skip` and `partnerbook audit verify|export`."""

from __future__ import annotations

import base64
import getpass
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO
from uuid import UUID

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.application import Partnerbook
from app.cli_database import fail, reach_database
from app.domain.text import unstorable_reason
from app.infra import database
from app.observability import configure_logging
from app.projections import audit, audit_replay, stuck
from app.projections.projector import (
    PROJECTION_NAMES,
    Projector,
    RegistryProjection,
    construct_projection,
)
from app.projections.rebuild import rebuild
from app.projections.status import status
from app.settings import Settings

projections = typer.Typer(help="Run, rebuild and inspect the projections.", no_args_is_help=True)
audit_cli = typer.Typer(
    help="Tamper evidence: verify the chain hash, export the chained events.", no_args_is_help=True
)
console = Console()
log = logging.getLogger(__name__)


@contextmanager
def _application(settings: Settings) -> Iterator[tuple[database.Database, Partnerbook, Any]]:
    from app.main import open_application

    db = reach_database(settings, prepare=True)
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
            fail(f"no projection named {each!r}; known: {', '.join(PROJECTION_NAMES)}")
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
    db = reach_database(settings, prepare=True)
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
        fail(f"only the {RegistryProjection.name} projection can skip an event")
    if not reason.strip() or unstorable_reason(reason) is not None:
        fail("--reason must say why, in text")
    db = reach_database(settings, prepare=True)
    current = next(s for s in status(db) if s.name == name)
    if current.stuck is None or current.stuck.position != position:
        where = "it is not stuck" if current.stuck is None else current.stuck.describe()
        fail(f"{name} is not stuck on event {position}: {where}")
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


def _noted_head(text: str) -> tuple[int, bytes]:
    """POSITION:HASH, as `auditHead(position: …)` answers them (hash in hex)."""
    position, _, digest = text.partition(":")
    try:
        value = int(position), bytes.fromhex(digest.strip())
    except ValueError:
        value = 0, b""
    if value[0] < 1 or len(value[1]) != 32:
        raise typer.BadParameter(f"{text!r} is not POSITION:HASH (a 64-digit hex SHA-256)")
    return value


def _exported_heads(path: Path) -> dict[int, bytes]:
    heads = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                heads[int(event["position"])] = bytes.fromhex(event["chain"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail(f"{path} is not an `audit export` file: {error!r}")
    return heads


@audit_cli.command("verify")
def verify(
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="POSITION:HASH",
            help="A head noted earlier (auditHead { position chainHash }); may be repeated. "
            "The event table alone must still hash to it up to that position.",
        ),
    ] = None,
    expect_export: Annotated[
        Path | None,
        typer.Option(
            "--expect-export",
            exists=True,
            dir_okay=False,
            help="An earlier `audit export` file: each event's chain hash in it is a noted "
            "head, so a full one names the very notification that changed.",
        ),
    ] = None,
) -> None:
    """Recomputes the chain hash from the event table; prints OK and the head, or names
    the first notification whose stored bytes no longer match (exit code 1). With
    --expect, also checks the recomputed chain against heads noted earlier, which catches
    a rewrite of both the events and `audit_chain`."""
    noted = dict(_noted_head(e) for e in expect or ())
    if expect_export is not None:
        noted.update(_exported_heads(expect_export))
    settings = Settings()
    db = reach_database(settings, prepare=True)
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
    else:
        typer.echo(
            f"TAMPERED: notification {verdict.broken_at}: {verdict.problem} "
            f"(chain intact up to notification {verdict.position})",
            err=True,
        )
    heads_ok = _noted_heads_hold(db.conninfo(), noted) if noted else True
    replay_ok = _replay_agrees(db, settings)
    if not (verdict.ok and heads_ok and replay_ok):
        raise typer.Exit(code=1)


def _replay_agrees(db: database.Database, settings: Settings) -> bool:
    """Whether the snapshots and `partner_versions` (read by history, not chained) agree
    with the events; says where they do not."""
    from app.main import open_application

    app = open_application(db, settings)
    try:
        check = audit_replay.check(app, db.conninfo())
    finally:
        app.close()
    if check.ok:
        typer.echo(
            f"OK: {check.snapshots} snapshots and {check.versions} partner versions "
            "agree with the events"
        )
    else:
        typer.echo(f"TAMPERED: {check.problem}", err=True)
    return check.ok


def _noted_heads_hold(conninfo: str, noted: dict[int, bytes]) -> bool:
    """Whether the event table still hashes to each noted head; says which one differs."""
    check = audit.check_heads(conninfo, noted)
    if check.ok:
        typer.echo(f"OK: the event table still hashes to the {check.checked} noted head(s)")
    else:
        position = check.differs_at
        since = (
            f"after notification {check.matches_up_to}, whose noted head still matches"
            if check.matches_up_to
            else "from the first notification"
        )
        found = (
            f"it hashes to {check.found.hex()}"
            if check.found
            else f"the log ends at notification {check.last_position}"
        )
        typer.echo(
            f"TAMPERED: notification {position}: the event table up to it no longer "
            f"hashes to the noted head {noted[position or 0].hex()} ({found}); an event "
            f"up to it, {since}, was changed, removed or inserted",
            err=True,
        )
    return check.ok


@audit_cli.command("export")
def export(
    partner: str | None = typer.Option(
        None,
        "--partner",
        help="Only this partner's events (the ones it originated), each with the chain hash "
        "before it, so each link can be checked.",
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Writes the chained events as stored (encrypted fields stay encrypted), one JSON
    object a line: position, topic, originator_id, version, state (base64 of the stored
    bytes), previous and chain (hex). docs/audit.md has a verifier for it."""
    from app.schema.ids import BadId, expect_id

    partner_id: UUID | None = None
    if partner is not None:  # "" too: a partner named, but not one of ours (not every one)
        try:
            partner_id = UUID(partner)
        except ValueError:
            try:
                partner_id = expect_id(partner, "Partner")
            except BadId as error:
                fail(f"--partner: {error}")
    settings = Settings()
    db = reach_database(settings, prepare=True)
    handle: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        for event in audit.chained_events(db.conninfo(), partner_id):
            line = {
                "position": event.position,
                "topic": event.topic,
                "originator_id": str(event.originator_id),
                "version": event.version,
                "state": base64.b64encode(event.state).decode(),
                "previous": event.previous.hex(),
                "chain": event.chain.hex(),
            }
            handle.write(json.dumps(line) + "\n")
            count += 1
    finally:
        if output:
            handle.close()
    typer.echo(f"exported {count} chained events", err=True)
