"""P7: from the start of an updatePartner call to the moment another client's
`partner(id)` query shows the new value (the server waits for the projection before it
answers, so the read goes right after the answer; were it stale, the reader would poll)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from app.schema.ids import to_global_id
from bench.core import Result, Run, Sizes, median, ms, partnerbook_server, percentile
from bench.http import Connection, HttpError
from bench.reads import UPDATE, sample_ids

READ = "query($id: ID!) { partner(id: $id) { name version } }"
PARTNERS = 20
POLL_LIMIT = 5.0


@dataclass
class Trips:
    """Seconds per round trip: until visible, the mutation alone, the raw pair."""

    visible: list[float] = field(default_factory=list)
    mutation: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    stale: int = 0
    """First reads that did not yet show the new value."""


async def round_trips(port: int, conninfo: str, ids: list[Any], n: int, warm: int) -> Trips:
    global_ids = [to_global_id("Partner", i) for i in ids]
    trips = Trips()
    async with (
        Connection(port) as writer,
        Connection(port) as reader,
        await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as raw_writer,
        await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as raw_reader,
    ):
        for i in range(warm + n):
            k = i % len(ids)
            name = f"Freshness {i}"
            t0 = time.perf_counter()
            found = await writer.graphql(UPDATE, {"i": {"id": global_ids[k], "name": name}})
            t1 = time.perf_counter()
            if found["updatePartner"]["userErrors"]:
                raise HttpError(str(found["updatePartner"]["userErrors"]))
            polls = 0
            while True:
                seen = (await reader.graphql(READ, {"id": global_ids[k]}))["partner"]
                if seen["name"] == name:
                    break
                polls += 1
                if time.perf_counter() - t0 > POLL_LIMIT:
                    raise HttpError(f"update not visible after {POLL_LIMIT} s")
            t2 = time.perf_counter()
            await raw_writer.execute(
                "UPDATE bench_fresh SET name = %s WHERE id = %s", (name, ids[k])
            )
            cur = await raw_reader.execute("SELECT name FROM bench_fresh WHERE id = %s", (ids[k],))
            row = await cur.fetchone()
            t3 = time.perf_counter()
            if row is None or row[0] != name:
                raise RuntimeError("the raw read did not see the raw update")
            if i >= warm:
                trips.visible.append(t2 - t0)
                trips.mutation.append(t1 - t0)
                trips.raw.append(t3 - t2)
                trips.stale += polls > 0
    return trips


def p7(run: Run, sizes: Sizes, template: str) -> list[Result]:
    result = Result(
        "P7",
        "updatePartner → seen by another client",
        "ms",
        "p99 ≤ 20 ms",
        raw_name="raw UPDATE, then SELECT on another connection",
    )
    db = run.fresh("p7", template)
    try:
        ids = sample_ids(db.conninfo(), PARTNERS)
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_fresh AS SELECT id, name FROM partners WHERE id = ANY(%s)",
                (ids,),
            )
            conn.execute("ALTER TABLE bench_fresh ADD PRIMARY KEY (id)")
        with partnerbook_server(run, db) as server:
            run.say(f"P7: {sizes.updates} updates, each read back by another client")
            found = asyncio.run(
                round_trips(
                    server.port, db.conninfo(), ids, sizes.updates, max(10, sizes.updates // 10)
                )
            )
    finally:
        run.drop(db)
    visible, mutation, raw = ms(found.visible), ms(found.mutation), ms(found.raw)
    result.median = median(visible)
    result.p99 = percentile(visible, 0.99)
    result.raw = median(raw)
    result.delta_ms = result.median - result.raw
    result.notes.append(
        f"updatePartner alone p50 {median(mutation):.1f} ms, p99 {percentile(mutation, 0.99):.1f} ms;"
        f" stale first reads {found.stale}"
    )
    result.extra = {
        "mutation_p50_ms": median(mutation),
        "mutation_p99_ms": percentile(mutation, 0.99),
        "raw_p99_ms": percentile(raw, 0.99),
        "stale_first_reads": found.stale,
    }
    return [result.judge(result.p99 <= 20)]
