"""duplicateCandidates at scale: the read-side query, timed in process.

    python -m bench.duplicates [--partners 100000] [--runs 200]

Generates partners through the application (bench/generate.py), projects them, VACUUM
ANALYZE, then times `MergeDirectory.candidates` for partners picked at random (p50/p99)
and `MergeDirectory.owned` for 5 of them (what a merge reads before it runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra import database
from app.projections.projector import Projector, RegistryProjection, construct_view
from app.queries.duplicates import MergeDirectory
from bench.generate import create_catalog, generate


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(db: database.Database, runs: int, seed: int) -> dict[str, Any]:
    with psycopg.connect(db.conninfo()) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM partners")]
    rng = random.Random(seed)
    async with AsyncConnectionPool(db.conninfo(), min_size=1, max_size=2, open=False) as pool:
        directory = MergeDirectory(pool)
        for partner in rng.sample(ids, 10):  # warm-up
            await directory.candidates(partner, 0.6)
        times, found = [], 0
        for partner in rng.sample(ids, runs):
            started = time.perf_counter()
            candidates = await directory.candidates(partner, 0.6)
            times.append((time.perf_counter() - started) * 1000)
            found += bool(candidates)
        owned = []
        for _ in range(20):
            sample = rng.sample(ids, 5)
            started = time.perf_counter()
            await directory.owned(sample)
            owned.append((time.perf_counter() - started) * 1000)
    return {
        "candidates_p50_ms": round(percentile(times, 0.5), 2),
        "candidates_p99_ms": round(percentile(times, 0.99), 2),
        "partners_with_candidates": f"{found}/{runs}",
        "owned_of_5_p50_ms": round(percentile(owned, 0.5), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pb_dups_", ignore_cleanup_errors=True) as tmp:
        admin = database.resolve(os.environ.get("PARTNERBOOK_DATABASE_URL"), Path(tmp) / "data")
        db = database.create_database(admin, f"pb_dups_{uuid.uuid4().hex[:8]}")
        database.prepare(db, 5)
        app = Partnerbook(env=db.eventsourcing_env(4, 5))
        view = construct_view(db.eventsourcing_env(2, 5))
        try:
            catalog = create_catalog(app, Audit("bench", "bench-duplicates"))
            generate(app, catalog, args.partners, batch_size=400, seed=args.seed)
            Projector(app, RegistryProjection(view), db, batch_size=1000).catch_up()
            with psycopg.connect(db.conninfo(), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            result = asyncio.run(measure(db, args.runs, args.seed))
            print({"partners": args.partners, **result})
        finally:
            app.close()
            database.drop_database(admin, db.dbname)


if __name__ == "__main__":
    main()
