"""What keeping the partner cube (app/projections/partner_counts.py) costs a new partner,
against the same writes without it, in the same run.

    python -m bench.cube_writes [--batches 40]

Starts an embedded PostgreSQL (or uses PARTNERBOOK_DATABASE_URL's server) and three
databases with the registry's tables: the cube as it is, the cube never compacted, and
no cube (its triggers disabled). Each batch is one transaction of 1,000 new partners as
the projector writes them: one `INSERT` into `partners`, one of their 0-3 tags (of 16)
into `partner_tags`, one `UPDATE` resolving their industry; 60 countries, 15
salespersons, 20 industries, 5 languages drawn at random, so that the two large cuboids
get about a cell a partner. Batches are interleaved across the databases (the order
reversed every other batch), so that a shared machine's load falls on all alike. Prints,
per database, the median batch, the median of its per-batch differences with no cube
(µs a partner), and the time inside the cube's trigger functions
(`pg_stat_user_functions`, with `track_functions = 'pl'`; less sensitive to load)."""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from app.infra import database
from app.infra.database import Database
from app.projections.projector import construct_view
from bench.__main__ import server_of_this_run

BATCH = 1_000
VARIANTS = ("cube", "never compacted", "no cube")

INSERT = """
INSERT INTO partners (id, kind, is_customer, is_supplier, country_code, state_code, lang,
  effective_salesperson_id, version, created_at, updated_at, position)
SELECT gen_random_uuid(), CASE WHEN random() < 0.7 THEN 'COMPANY' ELSE 'PERSON' END,
  random() < 0.5, random() < 0.2, 'C' || (random() * 59)::int,
  CASE WHEN random() < 0.3 THEN 'S' || (random() * 6)::int END,
  (ARRAY['fr_BE', 'nl_BE', 'en_US', 'de_DE', 'es_ES'])[1 + (random() * 4)::int],
  ('00000000-0000-0000-0001-' || lpad(((random() * 14)::int)::text, 12, '0'))::uuid,
  1, now(), now(), %(base)s + g
FROM generate_series(1, %(n)s) g
"""
TAGS = """
INSERT INTO partner_tags (partner_id, tag_id)
SELECT p.id, ('00000000-0000-0000-0002-' || lpad(t::text, 12, '0'))::uuid
FROM partners p CROSS JOIN LATERAL (SELECT DISTINCT (random() * 15)::int AS t
  FROM generate_series(1, (p.position %% 4)::int)) x
WHERE p.position > %(base)s
"""
RESOLVE = """
UPDATE partners SET effective_industry_id =
  ('00000000-0000-0000-0003-' || lpad(((random() * 19)::int)::text, 12, '0'))::uuid
WHERE position > %(base)s
"""


def batch(conn: psycopg.Connection[tuple[object, ...]], base: int) -> float:
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(INSERT, {"base": base, "n": BATCH})
        conn.execute(TAGS, {"base": base})
        conn.execute(RESOLVE, {"base": base})
    return time.perf_counter() - started


def prepare(admin: Database, variant: str) -> Database:
    name = f"pb_cube_writes_{uuid.uuid4().hex[:8]}"
    db = database.create_database(admin, name)
    database.prepare(db, 10)
    construct_view(db.eventsourcing_env(2, 5)).datastore.close()
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        if variant == "never compacted":
            conn.execute("UPDATE partner_cube_sizes SET compact_from = 1e15")
        if variant == "no cube":
            for table in ("partners", "partner_tags"):
                conn.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
                )
    return db


def in_triggers(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, float]:
    """Milliseconds inside each cube function so far (this session's statistics flushed
    first: a session sends them at most once a second)."""
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = conn.execute(
        "SELECT funcname, self_time FROM pg_stat_user_functions WHERE funcname LIKE 'cube_%'"
    ).fetchall()
    return {str(name): float(str(ms)) for name, ms in rows}


def measure(admin: Database, batches: int) -> None:
    dbs = {variant: prepare(admin, variant) for variant in VARIANTS}
    times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    with contextlib.ExitStack() as stack:
        conns = {
            v: stack.enter_context(psycopg.connect(db.conninfo(), autocommit=True))
            for v, db in dbs.items()
        }
        timed = True
        for conn in conns.values():
            try:
                conn.execute("SET track_functions = 'pl'")
            except psycopg.Error:
                timed = False  # not a superuser: wall times only
        for k in range(batches):
            order = VARIANTS if k % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                times[variant].append(batch(conns[variant], k * BATCH))
        partners = batches * BATCH
        for variant, conn in conns.items():
            line = f"{variant}: batch median {statistics.median(times[variant]) * 1000:.0f} ms"
            if variant != "no cube":
                paired = [t - o for t, o in zip(times[variant], times["no cube"], strict=True)]
                line += f"; cube {statistics.median(paired) / BATCH * 1e6:.0f} µs a partner"
                if timed:
                    spent = in_triggers(conn)
                    line += f" (inside its triggers {sum(spent.values()) / partners * 1000:.1f}: "
                    line += ", ".join(
                        f"{name} {ms / partners * 1000:.1f}" for name, ms in sorted(spent.items())
                    )
                    line += ")"
            print(line, flush=True)
    for db in dbs.values():
        database.drop_database(admin, db.dbname)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir, server_of_this_run(Path(workdir)) as admin:
        measure(admin, args.batches)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
