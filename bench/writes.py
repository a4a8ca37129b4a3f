"""P1 (createPartner over HTTP) and P2 (batched create through `Partnerbook.save`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import psycopg

from app.main import open_application
from app.settings import Settings
from bench import data
from bench.core import Result, Run, Sizes, median, ms, partnerbook_topology, percentile
from bench.http import Connection, HttpError, closed_loop

CREATE = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) {
  partner { id version } userErrors { field code message } } }"""
RAW_TABLE = "CREATE TABLE bench_raw (id uuid PRIMARY KEY, name text NOT NULL, data jsonb NOT NULL)"
RAW_INSERT = "INSERT INTO bench_raw (id, name, data) VALUES (%s, %s, %s)"


def raw_inserts(conn: psycopg.Connection[Any], start: int, n: int) -> float:
    """One-row INSERT, one transaction each (autocommit): rows per second."""
    started = time.perf_counter()
    for i in range(start, start + n):
        conn.execute(RAW_INSERT, (uuid.uuid4(), data.name(i), json.dumps(data.values(i))))
    return n / (time.perf_counter() - started)


def create_requests(
    port: int, clients: int, requests: int, offset: int
) -> tuple[list[float], float]:
    """`requests` createPartner calls from `clients` clients: latencies (s), wall time (s)."""

    async def create(conn: Connection, i: int) -> None:
        result = await conn.graphql(CREATE, {"i": data.graphql_input(offset + i)})
        if result["createPartner"]["userErrors"]:
            raise HttpError(f"createPartner refused: {result['createPartner']['userErrors']}")

    return asyncio.run(closed_loop(port, clients, requests, create))


def p1(run: Run, sizes: Sizes) -> list[Result]:
    topology = "" if sizes.topology == "one" else f", {sizes.topology}"
    result = Result(
        "P1",
        f"createPartner, HTTP, {sizes.clients} clients, read-your-writes{topology}",
        "creates/s",
        "≥ 0.30x raw",
        raw_name="one-row INSERT tx/s, 1 connection",
    )
    db = run.fresh("p1")
    try:
        with (
            psycopg.connect(db.conninfo(), autocommit=True) as conn,
            partnerbook_topology(run, db, sizes.topology) as server,
        ):
            conn.execute(RAW_TABLE)
            run.say(f"P1: warm-up; then {sizes.rounds} rounds of HTTP creates and raw INSERTs")
            raw_inserts(conn, 10_000_000, max(20, sizes.raw_inserts // 10))
            create_requests(server.port, sizes.clients, max(16, sizes.requests // 20), 10_000_000)
            per_round = max(sizes.clients, sizes.requests // sizes.rounds)
            rates: list[float] = []
            raws: list[float] = []
            latencies: list[float] = []
            for r in range(sizes.rounds):
                raws.append(raw_inserts(conn, r * sizes.raw_inserts, sizes.raw_inserts))
                lat, wall = create_requests(server.port, sizes.clients, per_round, r * per_round)
                rates.append(len(lat) / wall)
                latencies += lat
                run.say(f"P1: round {r + 1}: {rates[-1]:.0f} creates/s, raw {raws[-1]:.0f} tx/s")
    finally:
        run.drop(db)
    result.p99 = percentile(ms(latencies), 0.99)
    result.extra = {
        "requests": len(latencies),
        "latency_p50_ms": median(ms(latencies)),
        "round_rates": rates,
        "raw_round_rates": raws,
    }
    result.notes.append(f"latency p50 {median(ms(latencies)):.1f} ms")
    value, raw = median(rates), median(raws)
    result.median, result.raw, result.ratio = value, raw, value / raw
    return [result.judge(result.ratio >= 0.30)]


def p2(run: Run, sizes: Sizes) -> list[Result]:
    result = Result(
        "P2",
        f"create {sizes.partners:,} partners, {sizes.batch} per save",
        "partners/s",
        "≥ 0.30x raw",
        p99_of=f"batch of {sizes.batch}",
        raw_name="executemany INSERT rows/s",
    )
    db = run.fresh("p2")
    app = open_application(db, Settings(database_url=db.dsn))
    try:
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            conn.execute(RAW_TABLE)

            def app_batch(start: int, n: int) -> tuple[float, float]:
                t0 = time.perf_counter()
                partners = [data.register(i) for i in range(start, start + n)]
                t1 = time.perf_counter()
                app.save(*partners)
                return t1 - t0, time.perf_counter() - t1

            def raw_batch(start: int, n: int) -> float:
                t0 = time.perf_counter()
                rows = [
                    (uuid.uuid4(), data.name(i), json.dumps(data.values(i)))
                    for i in range(start, start + n)
                ]
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(RAW_INSERT, rows)
                return time.perf_counter() - t0

            run.say("P2: warm-up")
            for k in range(2):
                app_batch(10_000_000 + k * sizes.batch, sizes.batch)
                raw_batch(10_000_000 + k * sizes.batch, sizes.batch)
            registering: list[float] = []
            saving: list[float] = []
            raws: list[float] = []
            total = raw_total = 0.0
            done = 0
            last = time.monotonic()
            while done < sizes.partners:
                n = min(sizes.batch, sizes.partners - done)
                reg, save = app_batch(done, n)
                raw_seconds = raw_batch(done, n)
                registering.append(reg / n)
                saving.append(save / n)
                raws.append(raw_seconds / n)
                total += reg + save
                raw_total += raw_seconds
                done += n
                if time.monotonic() - last > 5:
                    run.say(f"P2: {done:,}/{sizes.partners:,} partners")
                    last = time.monotonic()
    finally:
        app.close()
        run.drop(db)
    per_partner = [r + s for r, s in zip(registering, saving, strict=True)]
    value = 1 / median(per_partner)
    raw = 1 / median(raws)
    result.median, result.raw, result.ratio = value, raw, value / raw
    result.p99 = percentile([p * sizes.batch * 1000 for p in per_partner], 0.99)
    save_only = 1 / median(saving)
    result.notes.append(
        f"Partner.register {median(registering) * 1e6:.0f} µs/partner, "
        f"save {median(saving) * 1e6:.0f} µs/partner ({save_only:,.0f}/s, "
        f"{save_only / raw:.2f}x raw)"
    )
    result.extra = {
        "register_us_per_partner": median(registering) * 1e6,
        "save_us_per_partner": median(saving) * 1e6,
        "save_only_per_s": save_only,
        "overall_per_s": sizes.partners / total,
        "raw_overall_per_s": sizes.partners / raw_total,
    }
    return [result.judge(result.ratio >= 0.30)]
