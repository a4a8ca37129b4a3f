"""P6: `repository.get` of a partner with 1, 100 and 10,000 events (snapshots on, at the
app's interval), next to reading the same rows (latest snapshot + later events) raw."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg import sql

from app.application import Partnerbook
from app.main import open_application
from app.settings import Settings
from bench import data
from bench.core import Result, Run, Sizes, median, ms, percentile

CASES = ((1, True), (100, True), (10_000, True), (10_099, False))
"""(events, judged): the last case is the worst one near 10,000 (99 events after the
last snapshot); it is shown for information."""


def build(app: Partnerbook, events: int, interval: int) -> UUID:
    """A partner with `events` events, saved in chunks that end on snapshot versions."""
    partner = data.register(events)
    app.save(partner)
    for k in range(1, events):
        partner.update({"name": f"{data.name(events)} v{k}"}, data.AUDIT)
        if partner.version % interval == 0 or k == events - 1:
            app.save(partner)
    assert partner.version == events
    return partner.id


def raw_reader(app: Partnerbook) -> tuple[sql.Composed, sql.Composed]:
    events = app.recorder
    snapshots = app.snapshots.recorder if app.snapshots else None
    assert isinstance(events, PostgresAggregateRecorder)
    assert isinstance(snapshots, PostgresAggregateRecorder)
    latest = sql.SQL(
        "SELECT originator_version, topic, state FROM {} WHERE originator_id = %s "
        "ORDER BY originator_version DESC LIMIT 1"
    ).format(sql.Identifier(snapshots.events_table_name))
    after = sql.SQL(
        "SELECT originator_version, topic, state FROM {} WHERE originator_id = %s "
        "AND originator_version > %s ORDER BY originator_version"
    ).format(sql.Identifier(events.events_table_name))
    return latest, after


def p6(run: Run, sizes: Sizes) -> list[Result]:
    settings = Settings()
    interval = settings.snapshot_interval
    db = run.fresh("p6")
    app = open_application(db, Settings(database_url=db.dsn))
    results: list[Result] = []
    try:
        run.say(f"P6: building partners with {', '.join(f'{n:,}' for n, _ in CASES)} events")
        ids = {events: build(app, events, interval) for events, _ in CASES}
        latest, after = raw_reader(app)
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:

            def raw_load(ident: UUID) -> None:
                row: Any = conn.execute(latest, (ident,), prepare=True).fetchone()
                conn.execute(after, (ident, row[0] if row else 0), prepare=True).fetchall()

            for events, judged in CASES:
                ident = ids[events]
                for _ in range(max(10, sizes.loads // 10)):
                    app.repository.get(ident)
                    raw_load(ident)
                api: list[float] = []
                raw: list[float] = []
                for _ in range(sizes.loads):
                    t0 = time.perf_counter()
                    partner: Any = app.repository.get(ident)
                    t1 = time.perf_counter()
                    raw_load(ident)
                    raw.append(time.perf_counter() - t1)
                    api.append(t1 - t0)
                assert partner.version == events
                since = (
                    f"{events % interval} after a snapshot" if events >= interval else "no snapshot"
                )
                result = Result(
                    "P6",
                    f"repository.get, {events:,} event{'s' if events > 1 else ''} ({since})",
                    "ms",
                    "p50 ≤ 1 ms" if judged else "— (information)",
                    median=median(ms(api)),
                    p99=percentile(ms(api), 0.99),
                    raw=median(ms(raw)),
                    raw_name="latest snapshot + later events, psycopg",
                )
                result.delta_ms = (
                    result.median - result.raw if result.median and result.raw else None
                )
                result.extra = {"events": events, "snapshot_interval": interval}
                results.append(result.judge(median(ms(api)) <= 1) if judged else result)
    finally:
        app.close()
        run.drop(db)
    return results
