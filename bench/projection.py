"""P3: projection rebuild, and the seeded database that P4, P5, P7 and P9 copy.

One database gets `events` events (partners registered, then updated once). P3 times
`Projector.catch_up()` into a fresh view (`rebuild_` tables) against reading and decoding
the same notifications. Then the rebuilt tables are renamed into place (as a rebuild's
swap does) and vacuumed, which leaves a fully projected database: the template of the
read benchmarks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from app.application import Audit, Partnerbook
from app.domain.partner import Partner
from app.infra.database import Database
from app.main import open_application
from app.projections.projector import (
    AuditProjection,
    Projector,
    RegistryProjection,
    construct_audit_view,
    construct_view,
)
from app.projections.registry import RegistryView
from app.settings import Settings
from bench import data
from bench.core import Result, Run, Sizes, median, percentile, process_cpu_seconds

PREFIX = "rebuild_"


class TimedProjection(RegistryProjection):
    """Notes when each batch has been applied, to time the catch-up batch by batch."""

    def __init__(self, view: RegistryView) -> None:
        super().__init__(view)
        self.done_at: list[float] = []
        self.sizes: list[int] = []
        self.registrations: list[int] = []

    def apply_items(
        self, curs: Cursor[DictRow], items: Sequence[tuple[DomainEventProtocol[Any], Tracking]]
    ) -> None:
        super().apply_items(curs, items)
        self.done_at.append(time.perf_counter())
        self.sizes.append(len(items))
        self.registrations.append(sum(isinstance(e, Partner.Registered) for e, _ in items))


@dataclass
class Decoded:
    events: int = 0
    seconds: float = 0.0


def read_and_decode(app: Partnerbook, batch: int, limit: int | None = None) -> Decoded:
    """The raw side of P3: every notification read in batches and decoded to an event
    (with the personal-data keys of each batch loaded in one query, as a rebuild does:
    one by one, a cold key cache would make the raw side slow, the ratio flattering)."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    out = Decoded()
    position = 0
    started = time.perf_counter()
    while limit is None or out.events < limit:
        notifications = recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            break
        app.prefetch_keys(notifications)
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        out.events += len(notifications)
        position = notifications[-1].id
    out.seconds = time.perf_counter() - started
    return out


def warm_up_projection(app: Partnerbook, db: Database, batches: int, batch: int) -> None:
    """Applies the first batches into throw-away tables, so that the timed rebuild does
    not pay for first-use costs (imports, statement preparation, cold pages)."""
    env = db.eventsourcing_env(2, 5)
    view = construct_view(env, prefix="warm_")
    try:
        projection = RegistryProjection(view)
        recorder = app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        position = 0
        for _ in range(batches):
            notifications = recorder.select_notifications(
                start=position, limit=batch, inclusive_of_start=False
            )
            if not notifications:
                break
            projection.process_batch(
                [(app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notifications]
            )
            position = notifications[-1].id
        view.drop_tables()
    finally:
        view.datastore.close()


def swap_in(db: Database, prefix: str) -> int:
    """Renames every relation named `prefix…` to its name without the prefix (tables,
    their indexes and sequences), as swapping a rebuild in does. Returns how many."""
    with psycopg.connect(db.conninfo(), autocommit=True) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'i', 'I', 'S') "
            "AND starts_with(c.relname, %s) ORDER BY c.relkind DESC",
            (prefix,),
        ).fetchall()
        kinds = {"r": "TABLE", "p": "TABLE", "i": "INDEX", "I": "INDEX", "S": "SEQUENCE"}
        for relname, relkind in rows:
            conn.execute(
                sql.SQL("ALTER {} {} RENAME TO {}").format(
                    sql.SQL(kinds[relkind]),
                    sql.Identifier(relname),
                    sql.Identifier(relname[len(prefix) :]),
                )
            )
        return len(rows)


def seed(run: Run, sizes: Sizes, *, report: bool) -> tuple[list[Result], str]:
    """Loads the events, times the rebuild (P3) when `report`, swaps the rebuilt tables
    in. Returns P3's results and the name of the seeded template database."""
    db = run.fresh("seed")
    app = open_application(db, Settings(database_url=db.dsn))
    results: list[Result] = []
    try:
        run.say(f"seed: storing {sizes.events:,} events (partners registered, then updated)")
        t0 = time.perf_counter()
        partners = data.load_events(
            app, sizes.events, sizes.batch, lambda n: run.say(f"seed: {n:,} events stored")
        )
        run.say(f"seed: {partners * 2:,} events stored in {time.perf_counter() - t0:.0f} s")
        if report:
            run.say("P3: warm-up")
            read_and_decode(app, sizes.rebuild_batch, limit=sizes.rebuild_batch * 2)
            warm_up_projection(app, db, 2, sizes.rebuild_batch)
            raws = [read_and_decode(app, sizes.rebuild_batch) for _ in range(sizes.rounds)]
        view = construct_view(db.eventsourcing_env(2, 5), prefix=PREFIX)
        # As `partnerbook projections rebuild` does: fresh tables without the indexes
        # only queries use, the replay, then those indexes (timed with the replay).
        view.drop_tables()
        view.create_table(query_indexes=False)
        projection = TimedProjection(view)
        projector = Projector(app, projection, db, batch_size=sizes.rebuild_batch)
        run.say(f"{'P3' if report else 'seed'}: Projector.catch_up() into fresh tables")
        started = time.perf_counter()
        applied = projector.catch_up()
        replayed = time.perf_counter()
        view.create_query_indexes()
        seconds = time.perf_counter() - started
        run.say(
            f"{'P3' if report else 'seed'}: {applied:,} events in {seconds:.0f} s "
            f"(indexes {seconds - (replayed - started):.1f} s)"
        )
        view.datastore.close()
        if report:
            result = p3_result(sizes, projection, started, applied, seconds, raws)
            result.notes.append(
                f"of which building the query indexes {time.perf_counter() - replayed:.1f} s"
            )
            results.append(result)
        # The audit projection too (chain hash, partner versions), or every server on a
        # copy of this database would spend its first seconds catching it up, and the
        # first mutations would wait for it (read-your-writes waits for both).
        audit = construct_audit_view(db.eventsourcing_env(2, 5))
        try:
            done = Projector(app, AuditProjection(audit), db, batch_size=sizes.rebuild_batch)
            run.say(f"seed: audit projection over {done.catch_up():,} events")
        finally:
            audit.datastore.close()
    finally:
        app.close()
    renamed = swap_in(db, PREFIX)
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")  # as after a rebuild; autovacuum would, later
    run.say(f"seed: {renamed} rebuilt relations swapped in; {partners:,} partners projected")
    return results, db.dbname


def p3_result(
    sizes: Sizes,
    projection: TimedProjection,
    started: float,
    applied: int,
    seconds: float,
    raws: list[Decoded],
) -> Result:
    """The rebuild is one pass (too long to repeat): its figure is its overall rate; the
    raw figure is the median of `rounds` passes."""
    result = Result(
        "P3",
        f"rebuild from {applied:,} events, {sizes.rebuild_batch} per batch",
        "events/s",
        "≥ 0.5x raw",
        p99_of=f"batch of {sizes.rebuild_batch}",
        raw_name="notification read + decode events/s (median of passes)",
    )
    ends = [started, *projection.done_at]
    per_batch = [ends[k + 1] - ends[k] for k in range(len(projection.done_at))]
    value = applied / seconds
    raw = median([r.events / r.seconds for r in raws])
    result.median, result.raw, result.ratio = value, raw, value / raw
    result.p99 = percentile([t * 1000 for t in per_batch], 0.99)
    result.notes.append(
        f"one pass of {seconds:.0f} s; batch p50 {median(per_batch) * 1000:.0f} ms, "
        f"max {max(per_batch) * 1000:.0f} ms"
    )
    by_kind = rates_by_kind(projection, per_batch)
    if by_kind:
        result.notes.append(
            "batches of registrations "
            + ", of updates ".join(f"{rate:,.0f} events/s" for rate in by_kind.values())
        )
        result.extra["rates_by_kind"] = by_kind
    result.extra = {
        "events": applied,
        "seconds": seconds,
        "batch_p50_ms": median(per_batch) * 1000,
        "raw_pass_rates": [r.events / r.seconds for r in raws],
    }
    return result.judge(result.ratio >= 0.5)


def rates_by_kind(projection: TimedProjection, per_batch: list[float]) -> dict[str, float]:
    """Events/s over the batches that hold only registrations, and only other events."""
    totals = {"registrations": [0, 0.0], "updates": [0, 0.0]}
    for size, registered, seconds in zip(
        projection.sizes, projection.registrations, per_batch, strict=True
    ):
        kind = "registrations" if registered == size else "updates" if registered == 0 else ""
        if kind:
            totals[kind][0] += size
            totals[kind][1] += seconds
    if not all(seconds for _, seconds in totals.values()):
        return {}
    return {kind: events / seconds for kind, (events, seconds) in totals.items()}


# -- the pace of a live catch-up as the tables grow (issue 19, item 5) --------------------


def catch_up_pace(
    db: Database, partners: int, slices: int, batch: int, seed: int
) -> dict[str, Any]:
    """Generates `partners` new partners (bench/generate.py: one `Registered` event each,
    saved 400 a transaction), then times the registry projector's live `catch_up()` over
    them into tables that have every index (as a running server's are), `batch` events a
    transaction; returns the events/s of each slice of the catch-up (the table grows from
    one slice to the next) and two raw sides: reading and decoding the same events, and
    PostgreSQL alone writing the rows the catch-up wrote (`rows_ceiling`)."""
    from bench.generate import create_catalog, generate  # faker: only this bench needs it

    app = open_application(db, Settings(database_url=db.dsn))
    view = construct_view(db.eventsourcing_env(2, 5))
    try:
        catalog = create_catalog(app, Audit("bench", "bench-pace"))
        started = time.perf_counter()
        generate(app, catalog, partners, batch_size=400, seed=seed)
        print(f"generated {partners:,} partners in {time.perf_counter() - started:.0f} s")
        raw = read_and_decode(app, batch)
        projector = Projector(app, RegistryProjection(view), db, batch_size=batch)
        marks = [(0, time.perf_counter())]

        def progress(events: int) -> None:
            marks.append((marks[-1][0] + events, time.perf_counter()))

        cpu = time.process_time()
        done = projector.catch_up(progress)
        cpu = time.process_time() - cpu
        backends = backends_cpu_seconds(db)
    finally:
        view.datastore.close()
        app.close()
    seconds = marks[-1][1] - marks[0][1]
    ceiling = rows_ceiling(db, batch, slices)
    return {
        "ceiling": ceiling,
        "python_cpu_us_per_event": cpu / done * 1e6,
        "postgres_cpu_us_per_event": backends / done * 1e6 if backends else None,
        "partners": partners,
        "events": done,
        "batch": batch,
        "events_per_s": done / seconds,
        "slices": slice_rates(marks, slices),
        "raw_read_decode_events_per_s": raw.events / raw.seconds,
    }


_CEILING_TABLES = ("partners", "partner_tags", "timeline")
"""The tables a catch-up of new partners writes rows to (the cube's aside)."""


def rows_ceiling(db: Database, batch: int, slices: int) -> dict[str, Any]:
    """The raw side of the pace: PostgreSQL alone writing the rows the catch-up wrote.

    The projected partners, their tags and their timeline entries are copied out, `batch`
    events' rows at a time (by the position of the event that wrote them), and COPY'd
    into empty tables with the same columns and indexes (no triggers: the partner cube's
    counts, the events' reading and decoding, the staging and the resolution are left
    out), one transaction a batch, as the catch-up commits. Only the loading is timed, and
    the CPU of the loading connection's server process is read from /proc: what no
    projector of these tables can beat on this server. Returns events/s by slice and the
    rows written to each table."""
    with (
        psycopg.connect(db.conninfo(), autocommit=True) as reader,
        psycopg.connect(db.conninfo(), autocommit=True) as loader,
    ):
        for table in _CEILING_TABLES:
            loader.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(f"ceiling_{table}"), sql.Identifier(table)
                )
            )
        # Reading a batch's rows by the position of their event (untimed) without a
        # scan of the whole table each time.
        reader.execute("CREATE INDEX ceiling_position ON partners (position)")
        bounds = reader.execute("SELECT min(position), max(position) FROM partners").fetchone()
        assert bounds is not None and bounds[0] is not None
        low, high = bounds[0] - 1, bounds[1]
        pid = loader.info.backend_pid
        cpu_before = process_cpu_seconds(pid)
        marks: list[tuple[int, float]] = [(0, 0.0)]
        clock = 0.0
        rows = dict.fromkeys(_CEILING_TABLES, 0)
        while low < high:
            upper = low + batch
            copied = {t: _copy_out(reader, t, low, upper) for t in _CEILING_TABLES}
            started = time.perf_counter()
            with loader.transaction(), loader.cursor() as curs:
                for table, text in copied.items():
                    with curs.copy(
                        sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(f"ceiling_{table}"))
                    ) as copy:
                        copy.write(text)
                    rows[table] += curs.rowcount
            clock += time.perf_counter() - started
            marks.append((marks[-1][0] + (min(upper, high) - low), clock))
            low = upper
        cpu = process_cpu_seconds(pid) - cpu_before
        reader.execute("DROP INDEX ceiling_position")
        for table in _CEILING_TABLES:
            loader.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"ceiling_{table}")))
    events = marks[-1][0]
    return {
        "events_per_s": events / clock,
        "slices": slice_rates(marks, slices),
        "postgres_cpu_us_per_event": cpu / events * 1e6 if cpu else None,
        "rows": rows,
    }


def _copy_out(conn: psycopg.Connection[Any], table: str, low: int, upper: int) -> bytes:
    """The rows of `table` written by the events in (low, upper], as COPY text."""
    if table == "partner_tags":
        query = sql.SQL(
            "COPY (SELECT t.* FROM partner_tags t JOIN partners p ON p.id = t.partner_id "
            "WHERE p.position > {} AND p.position <= {}) TO STDOUT"
        ).format(sql.Literal(low), sql.Literal(upper))
    else:
        query = sql.SQL(
            "COPY (SELECT * FROM {} WHERE position > {} AND position <= {}) TO STDOUT"
        ).format(sql.Identifier(table), sql.Literal(low), sql.Literal(upper))
    out = bytearray()
    with conn.cursor() as curs, curs.copy(query) as copy:
        for data in copy:
            out += data
    return bytes(out)


def backends_cpu_seconds(db: Database) -> float:
    """CPU seconds the database's server processes have used (from /proc; 0 where it
    cannot be read): on a shared machine, a steadier measure than the wall clock."""
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(process_cpu_seconds(pid) for (pid,) in pids)


def slice_rates(marks: Sequence[tuple[int, float]], slices: int) -> list[dict[str, float]]:
    """Events/s between the batches that end each `1/slices` of the events."""
    total = marks[-1][0]
    out: list[dict[str, float]] = []
    last = marks[0]
    for k in range(1, slices + 1):
        end = next(m for m in marks if m[0] >= total * k / slices)
        if end[0] > last[0]:
            rate = (end[0] - last[0]) / (end[1] - last[1])
            out.append({"from": last[0], "to": end[0], "events_per_s": rate})
            last = end
    return out


def main(argv: Sequence[str] | None = None) -> None:
    import argparse
    import tempfile
    import uuid
    from pathlib import Path

    from app.infra import database

    parser = argparse.ArgumentParser(
        description="The registry projector's live catch-up pace as its tables grow: "
        "events/s per slice of N new partners (issue 19: >= 10,000 events/s from start to end)."
    )
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--slices", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pb_pace_", ignore_cleanup_errors=True) as tmp:
        admin = database.resolve(os.environ.get("PARTNERBOOK_DATABASE_URL"), Path(tmp) / "data")
        name = f"pb_pace_{uuid.uuid4().hex[:8]}"
        db = database.create_database(admin, name)
        try:
            database.prepare(db, 5)
            found = catch_up_pace(db, args.partners, args.slices, args.batch, args.seed)
        finally:
            database.drop_database(admin, name)
    print(f"catch-up of {found['events']:,} events, {found['batch']} a transaction:")
    for s in found["slices"]:
        print(
            f"  events {s['from']:>9,.0f} to {s['to']:>9,.0f}: {s['events_per_s']:>8,.0f} events/s"
        )
    first, last = found["slices"][0], found["slices"][-1]
    raw = found["raw_read_decode_events_per_s"]
    print(
        f"overall {found['events_per_s']:,.0f} events/s; first slice "
        f"{first['events_per_s']:,.0f}, last {last['events_per_s']:,.0f} (target >= 10,000 "
        f"each: {'pass' if min(s['events_per_s'] for s in found['slices']) >= 10_000 else 'miss'}); "
        f"raw read + decode {raw:,.0f} events/s, last slice {last['events_per_s'] / raw:.2f}x raw"
    )
    ceiling = found["ceiling"]
    print(
        "raw PostgreSQL alone, COPYing the rows the catch-up wrote (partners, their tags, "
        "their timeline) into empty tables with the same indexes, a transaction a batch:"
    )
    for s in ceiling["slices"]:
        print(
            f"  events {s['from']:>9,.0f} to {s['to']:>9,.0f}: {s['events_per_s']:>8,.0f} events/s"
        )
    print(
        f"overall {ceiling['events_per_s']:,.0f} events/s; the catch-up "
        f"{found['events_per_s'] / ceiling['events_per_s']:.2f}x that"
        + (
            f"; {ceiling['postgres_cpu_us_per_event']:.0f} µs of the database's CPU an event"
            if ceiling["postgres_cpu_us_per_event"]
            else ""
        )
    )
    if found["postgres_cpu_us_per_event"]:
        print(
            f"CPU an event: the projector's process {found['python_cpu_us_per_event']:.0f} µs, "
            f"the database's {found['postgres_cpu_us_per_event']:.0f} µs (its own processes; "
            "a steadier figure than events/s on a shared machine)"
        )


if __name__ == "__main__":
    main()
