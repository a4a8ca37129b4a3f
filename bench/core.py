"""What every benchmark shares: sizes, results and their targets, statistics, progress,
fresh databases (empty, or cloned from a seeded template) and server processes."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console

from app.infra import database
from app.infra.database import Database

console = Console(highlight=False)
if not console.is_terminal:
    console.width = 150  # a log file or a pipe: room for the whole table
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does; `--quick` shrinks all of them."""

    requests: int = 2000
    """P1: createPartner requests over HTTP (in `rounds` rounds)."""
    clients: int = 8
    """P1: concurrent HTTP clients."""
    raw_inserts: int = 1000
    """P1: raw one-row INSERT transactions per round."""
    partners: int = 100_000
    """P2: partners created through `Partnerbook.save`."""
    batch: int = 500
    """P2/P3: partners per save, notifications per projection batch."""
    rebuild_batch: int = 2000
    """P3: notifications per transaction, as `partnerbook projections rebuild` does by
    default (the raw side reads in batches of the same size)."""
    events: int = 200_000
    """P3: events in the store before the rebuild; half of them seed P4/P5/P7/P9 as
    partners (one registration and one update each)."""
    pages: int = 400
    """P4: filtered pages requested (and as many raw queries)."""
    reads: int = 2000
    """P5: partner(id) requests per round (and as many plain-endpoint requests)."""
    read_clients: int = 4
    """P5: concurrent HTTP clients."""
    loads: int = 300
    """P6: loads per aggregate size."""
    updates: int = 300
    """P7: update -> read round trips."""
    serve_seconds: float = 10.0
    """P9: seconds of mixed load while RSS is sampled."""
    rounds: int = 3
    """Throughput figures are the median of this many rounds."""
    attack_reads: int = 500
    """A1: partner(id) requests of the ordinary client alone (under attack it reads for
    as long as the attack lasts)."""
    attack_requests: int = 340
    """A1: the attacking client sends at most this many requests..."""
    attack_seconds: float = 90.0
    """A1: ...for at most this many seconds."""
    topology: str = "one"
    """P1's server: `one` API process running its projector (the default), `projector`
    (the API without it, `partnerbook projections run` in a process of its own) or
    `workers2` (`serve --workers 2`; one worker's projector wins the lock)."""

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            requests=60,
            clients=4,
            raw_inserts=100,
            partners=2000,
            batch=500,
            events=4000,
            pages=30,
            reads=100,
            read_clients=2,
            loads=30,
            updates=20,
            serve_seconds=2.0,
            rounds=2,
            attack_reads=40,
            attack_requests=17,
            attack_seconds=8.0,
        )


@dataclass
class Result:
    """One row of the table. `median` and `raw` are in `unit`; `p99` is in `p99_unit`
    (for rates, the latency of one request, or of one batch: see `p99_of`)."""

    id: str
    name: str
    unit: str
    target: str
    median: float | None = None
    p99: float | None = None
    p99_unit: str = "ms"
    p99_of: str = "request"
    raw: float | None = None
    raw_name: str = ""
    ratio: float | None = None
    delta_ms: float | None = None
    status: str = "info"
    """pass | FAIL | info (no target) | skipped | error"""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def judge(self, ok: bool) -> Result:
        self.status = "pass" if ok else "FAIL"
        return self

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


class Progress:
    """Prints what the run is doing, with the time since it started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        console.print(f"[dim]{time.monotonic() - self.started:7.1f}s[/dim] {message}")


@dataclass
class Run:
    """The database server of this run and the databases it made on it."""

    admin: Database
    tag: str
    workdir: Path
    say: Progress
    created: list[str] = field(default_factory=list)

    def fresh(self, label: str, template: str | None = None) -> Database:
        """A new database of its own for one benchmark (a copy of `template` if given)."""
        name = f"pb_bench_{self.tag}_{label}_{uuid.uuid4().hex[:6]}".lower()
        with psycopg.connect(self.admin.conninfo(), autocommit=True) as conn:
            if template is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                disconnect(conn, template)
                version = conn.info.server_version
                strategy = sql.SQL(" STRATEGY FILE_COPY" if version >= 150000 else "")
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
                        sql.Identifier(name), sql.Identifier(template), strategy
                    )
                )
        self.created.append(name)
        db = self.admin.with_dbname(name)
        database.prepare(db, 5)
        return db

    def drop(self, db: Database) -> None:
        with contextlib.suppress(psycopg.Error):
            database.drop_database(self.admin, db.dbname)
        with contextlib.suppress(ValueError):
            self.created.remove(db.dbname)

    def drop_all(self) -> None:
        for name in list(self.created):
            with contextlib.suppress(psycopg.Error):
                database.drop_database(self.admin, name)
        self.created.clear()

    def server_version(self) -> str:
        with psycopg.connect(self.admin.conninfo()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"


def disconnect(conn: psycopg.Connection[Any], dbname: str) -> None:
    """Ends other sessions on `dbname` (a template must have none while it is copied)."""
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process on 127.0.0.1 (its output goes to a log file)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def serving(
    run: Run,
    name: str,
    module_args: list[str],
    db: Database,
    *,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Runs `python -m <module_args> --port P` against `db` (with `env` added to the
    environment); waits for /healthz."""
    import httpx2 as httpx

    port = free_port()
    if module_args[0] == "app.cli":  # Partnerbook wants an API key: bench.http sends it
        from app.infra.api_keys import create_key
        from bench.http import KEYS

        KEYS[port] = create_key(db.conninfo(), f"bench-{port}", "admin")
    log = run.workdir / f"{name}-{port}.log"
    environ = {
        **os.environ,
        **(env or {}),
        "PARTNERBOOK_DATABASE_URL": db.dsn,
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args, "--port", str(port)],
            env=environ,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, port, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up:\n{server.log_tail()}")
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                # Partnerbook's heavy lane (a second process) starts after the API answers.
                if health.status_code == 200 and health.json().get("heavyLane") != "starting":
                    break
            except (httpx.TransportError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start within {timeout:.0f} s")
            time.sleep(0.1)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def partnerbook_server(run: Run, db: Database) -> contextlib.AbstractContextManager[Server]:
    return serving(run, "partnerbook", ["app.cli", "serve"], db)


@contextlib.contextmanager
def partnerbook_topology(run: Run, db: Database, topology: str) -> Iterator[Server]:
    """The API as P1's `--topology` asks: `one` process with its projector, the
    `projector` in a process of its own, or `workers2`."""
    if topology == "one":
        with partnerbook_server(run, db) as server:
            yield server
    elif topology == "workers2":
        with serving(run, "partnerbook", ["app.cli", "serve", "--workers", "2"], db) as server:
            yield server
    elif topology == "projector":
        with (
            projector_process(run, db),
            serving(
                run,
                "partnerbook",
                ["app.cli", "serve"],
                db,
                env={"PARTNERBOOK_RUN_PROJECTOR": "false"},
            ) as server,
        ):
            yield server
    else:
        raise ValueError(f"unknown topology {topology!r}: one, projector or workers2")


@contextlib.contextmanager
def projector_process(run: Run, db: Database, timeout: float = 60) -> Iterator[None]:
    """`partnerbook projections run` on `db`, until the block ends."""
    log = run.workdir / f"projector-{uuid.uuid4().hex[:6]}.log"
    environ = {**os.environ, "PARTNERBOOK_DATABASE_URL": db.dsn, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "projections", "run"],
            env=environ,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while b"projecting" not in log.read_bytes():
            if process.poll() is not None:
                raise RuntimeError(f"the projector exited during start-up:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the projector did not start within {timeout:.0f} s")
            time.sleep(0.1)
        yield
    finally:
        stop(process)


def plain_server(run: Run, db: Database) -> contextlib.AbstractContextManager[Server]:
    return serving(run, "plain", ["bench.plain_api"], db)


def ratio_result(
    result: Result, value: float, raw: float, at_least: float, *, higher_is_better: bool = True
) -> Result:
    """Fills median/raw/ratio and judges `ratio >= at_least`."""
    result.median = value
    result.raw = raw
    result.ratio = value / raw if higher_is_better else raw / value
    return result.judge(result.ratio >= at_least)


Benchmark = Callable[..., list[Result]]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process of this machine has used so far (Linux /proc,
    in clock ticks); 0 for a process that has ended or cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
