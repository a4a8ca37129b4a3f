"""Bulk edit of partners' tags (`bulk_update_partners`) against raw executemany, in the
same run.

    python -m bench.bulk_edit [--partners 10000] [--rounds 3]

Starts an embedded PostgreSQL (or uses PARTNERBOOK_DATABASE_URL's server) and a fresh
database, registers the partners (500 a save), then, each round, adds one new tag to all
of them through `Partnerbook.bulk_update_partners` (load, change, one `Updated` event
each, saved 200 a transaction: the write side, without the GraphQL layer or the read
models) and, in the same round, sets the same number of rows' tags with a raw
`executemany` UPDATE of a jsonb column in transactions of 200. Prints the medians and
their ratio (the P2 figure of docs/performance.md is the reference: 0.19x)."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from app.application import Partnerbook
from app.application.bulk_edit import BATCH
from app.domain.bulk_edit import BulkChanges
from app.infra import database
from app.infra.database import Database
from bench import data
from bench.__main__ import server_of_this_run

RAW_TABLE = "CREATE TABLE bench_raw (id uuid PRIMARY KEY, name text NOT NULL, data jsonb NOT NULL)"
RAW_INSERT = "INSERT INTO bench_raw (id, name, data) VALUES (%s, %s, %s)"
RAW_UPDATE = (
    "UPDATE bench_raw SET data = jsonb_set(data, '{tag_ids}', "
    "COALESCE(data->'tag_ids', '[]'::jsonb) || to_jsonb(%s::text)) WHERE id = %s"
)


def seed(app: Partnerbook, conn: psycopg.Connection[Any], partners: int) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for start in range(0, partners, 500):
        batch = [data.register(i) for i in range(start, min(partners, start + 500))]
        app.save(*batch)
        ids += [p.id for p in batch]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            RAW_INSERT, [(i, data.name(n), json.dumps(data.values(n))) for n, i in enumerate(ids)]
        )
    return ids


def bulk_rate(app: Partnerbook, ids: list[uuid.UUID], round_no: int) -> float:
    tag = app.create_tag({"name": f"bench tag {round_no}"}, data.AUDIT).id
    started = time.perf_counter()
    result = app.bulk_update_partners(
        ids, BulkChanges(add_tag_ids=(tag,)), data.AUDIT, limit=len(ids)
    )
    seconds = time.perf_counter() - started
    assert result.outcome.changed == len(ids), result.outcome
    return len(ids) / seconds


def raw_rate(conn: psycopg.Connection[Any], ids: list[uuid.UUID], round_no: int) -> float:
    tag = str(uuid.uuid4())
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH):
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(RAW_UPDATE, [(tag, i) for i in ids[start : start + BATCH]])
    return len(ids) / (time.perf_counter() - started)


def measure(admin: Database, partners: int, rounds: int) -> tuple[list[float], list[float]]:
    name = f"pb_bench_bulk_{uuid.uuid4().hex[:8]}"
    db = database.create_database(admin, name)
    database.prepare(db, 5)
    app = Partnerbook(env=db.eventsourcing_env(4, 5))
    bulk: list[float] = []
    raw: list[float] = []
    try:
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            conn.execute(RAW_TABLE)
            ids = seed(app, conn, partners)
            print(f"seeded {len(ids):,} partners; warm-up")
            bulk_rate(app, ids[:BATCH], -1)
            raw_rate(conn, ids[:BATCH], -1)
            for r in range(rounds):
                # Alternate the order: neither side always runs on a warmer cache.
                if r % 2 == 0:
                    bulk.append(bulk_rate(app, ids, r))
                    raw.append(raw_rate(conn, ids, r))
                else:
                    raw.append(raw_rate(conn, ids, r))
                    bulk.append(bulk_rate(app, ids, r))
                print(
                    f"round {r + 1}: bulk {bulk[-1]:8.0f} partners/s, raw {raw[-1]:8.0f} rows/s,"
                    f" {bulk[-1] / raw[-1]:.2f}x"
                )
    finally:
        app.close()
        database.drop_database(admin, name)
    return bulk, raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir, server_of_this_run(Path(workdir)) as admin:
        bulk, raw = measure(admin, args.partners, args.rounds)
    value, base = statistics.median(bulk), statistics.median(raw)
    print(
        f"median: bulk tag edit {value:,.0f} partners/s, raw executemany UPDATE {base:,.0f} "
        f"rows/s: {value / base:.2f}x ({args.partners:,} partners, {args.rounds} rounds)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
