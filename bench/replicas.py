"""Read replicas on one machine: an embedded primary and a streaming standby of it
(bench/standby.py), two Partnerbook servers on the primary's URL, one of them with
PARTNERBOOK_READ_DATABASE_URLS naming the standby.

1. Read-your-writes: `--tries` times, on each server in turn, `updatePartner` then
   `partner(id)` from another connection; a read that does not show the new name is
   stale (there must be none). The added latency is the pair's time with the standby
   minus without (p50 and p99), and the standby's share of the reads is counted.
2. The standby killed mid-run: readers and a writer run for `--seconds`; the standby is
   stopped (`pg_ctl -m immediate`) a third of the way in and started again at two
   thirds. Every request must be answered; the standby must serve reads again by the end.

`python -m bench.replicas [--tries 1000] [--seconds 30]`."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from app.infra.database import Database, create_database
from app.infra.replicas import FAST_POLL_SECONDS, PRIMARY_POSITION
from bench.core import Progress, Run, Server, percentile, serving
from bench.http import Connection, HttpError
from bench.standby import Standby, primary_and_standby

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } userErrors { code } } }"""
UPDATE = """mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) {
  userErrors { code } } }"""
READ = "query($id: ID!) { partner(id: $id) { name } }"


@dataclass
class Pairs:
    seconds: list[float] = field(default_factory=list)
    stale: int = 0


async def pair(
    writer: Connection, reader: Connection, partner: str, name: str, into: Pairs
) -> None:
    """The mutation on one connection, the query at once on another."""
    started = time.perf_counter()
    found = await writer.graphql(UPDATE, {"i": {"id": partner, "name": name}})
    if found["updatePartner"]["userErrors"]:
        raise HttpError(str(found["updatePartner"]["userErrors"]))
    seen = (await reader.graphql(READ, {"id": partner}))["partner"]
    into.seconds.append(time.perf_counter() - started)
    if seen is None or seen["name"] != name:
        into.stale += 1


async def raw_replay(primary: Database, standby: Standby, tries: int) -> list[float]:
    """Seconds from a commit on the primary until the standby has replayed it, polled
    as Partnerbook polls (the floor of what a standby adds to a mutation)."""
    delays = []
    async with (
        await psycopg.AsyncConnection.connect(primary.conninfo(), autocommit=True) as p,
        await psycopg.AsyncConnection.connect(
            standby.database(primary.dbname).conninfo(), autocommit=True
        ) as s,
    ):
        await p.execute("CREATE TABLE IF NOT EXISTS bench_replay (n int)")
        for i in range(tries):
            started = time.perf_counter()
            await p.execute("INSERT INTO bench_replay VALUES (%s)", (i,))
            cur = await p.execute(PRIMARY_POSITION)
            lsn = (await cur.fetchone() or (0,))[0]
            while True:
                cur = await s.execute("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")
                if (await cur.fetchone() or (0,))[0] >= lsn:
                    break
                await asyncio.sleep(FAST_POLL_SECONDS)
            delays.append(time.perf_counter() - started)
    return delays


async def standby_reads(port: int) -> float:
    async with Connection(port) as conn:
        _, body = await conn.request("GET", "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("partnerbook_replica_reads_total{") and 'server="primary"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def serving_replicas(port: int) -> int:
    async with Connection(port) as conn:
        ready = await conn.get_json("/readyz")
    return sum(1 for r in ready.get("replicas", []) if r["serving"])


async def read_your_writes(
    plain: Server,
    replicated: Server,
    servers: tuple[Database, Standby],
    tries: int,
    say: Progress,
) -> None:
    primary, standby = servers
    async with Connection(plain.port) as conn:
        made = await conn.graphql(CREATE, {"name": "Replica bench"})
    partner = made["createPartner"]["partner"]["id"]
    without, with_standby = Pairs(), Pairs()
    before = await standby_reads(replicated.port)
    async with (
        Connection(plain.port) as plain_writer,
        Connection(plain.port) as plain_reader,
        Connection(replicated.port) as writer,
        Connection(replicated.port) as reader,
    ):
        for i in range(tries + 20):  # the first 20 warm up, not counted
            a, b = (Pairs(), Pairs()) if i < 20 else (without, with_standby)
            await pair(plain_writer, plain_reader, partner, f"Plain {i}", a)
            await pair(writer, reader, partner, f"Replica {i}", b)
            if i % 200 == 0:
                say(f"  {i}/{tries + 20} pairs")
    reads = await standby_reads(replicated.port) - before
    p50 = [percentile(p.seconds, 0.5) * 1000 for p in (without, with_standby)]
    p99 = [percentile(p.seconds, 0.99) * 1000 for p in (without, with_standby)]
    print(f"read-your-writes, {tries} mutation+query pairs per server (interleaved):")
    print(
        f"  stale reads: without standby {without.stale}, through the standby {with_standby.stale}"
    )
    print(f"  reads served by the standby: {reads:.0f} (queries: {tries + 20})")
    print(f"  pair p50: {p50[0]:.2f} ms without, {p50[1]:.2f} ms with: +{p50[1] - p50[0]:.2f} ms")
    print(f"  pair p99: {p99[0]:.2f} ms without, {p99[1]:.2f} ms with: +{p99[1] - p99[0]:.2f} ms")
    raw = await raw_replay(primary, standby, tries)
    print(
        f"  raw PostgreSQL, INSERT committed on the primary until the standby replayed it: p50 "
        f"{percentile(raw, 0.5) * 1000:.2f} ms, p99 {percentile(raw, 0.99) * 1000:.2f} ms"
    )


@dataclass
class Outcome:
    answered: int = 0
    failed: list[str] = field(default_factory=list)


async def keep_asking(port: int, partner: str, until: float, writes: bool, out: Outcome) -> None:
    async with Connection(port) as conn:
        i = 0
        while time.monotonic() < until:
            i += 1
            try:
                if writes:
                    await conn.graphql(UPDATE, {"i": {"id": partner, "name": f"Kill {i}"}})
                else:
                    await conn.graphql(READ, {"id": partner})
                out.answered += 1
            except (HttpError, OSError, asyncio.IncompleteReadError) as error:
                out.failed.append(str(error)[:200])
                await conn.close()


async def kill_standby(replicated: Server, standby: Standby, seconds: float, say: Progress) -> None:
    async with Connection(replicated.port) as conn:
        made = await conn.graphql(CREATE, {"name": "Kill bench"})
    partner = made["createPartner"]["partner"]["id"]
    start = time.monotonic()
    until = start + seconds
    outcomes = [Outcome() for _ in range(5)]
    tasks = [
        asyncio.create_task(keep_asking(replicated.port, partner, until, i == 0, outcomes[i]))
        for i in range(5)
    ]
    await asyncio.sleep(seconds / 3)
    before = await standby_reads(replicated.port)
    say("  stopping the standby (immediate)")
    await asyncio.to_thread(standby.stop, "immediate")
    await asyncio.sleep(seconds / 3)
    say("  starting the standby again")
    await asyncio.to_thread(standby.start)
    await asyncio.gather(*tasks)
    back = 0
    for _ in range(600):
        back = await serving_replicas(replicated.port)
        if back:
            break
        await asyncio.sleep(0.1)
    after = await standby_reads(replicated.port)
    answered = sum(o.answered for o in outcomes)
    failed = [f for o in outcomes for f in o.failed]
    print(f"standby stopped and restarted during {seconds:.0f} s of 4 readers + 1 writer:")
    print(f"  requests answered: {answered}, failed: {len(failed)}")
    for message in failed[:5]:
        print(f"    {message}")
    print(f"  standby serving again at the end: {'yes' if back else 'NO'}")
    print(f"  reads served by the standby since it was stopped: {after - before:.0f}")


async def measure(
    plain: Server,
    replicated: Server,
    servers: tuple[Database, Standby],
    args: argparse.Namespace,
    say: Progress,
) -> None:
    db, standby = servers
    for _ in range(600):
        if await serving_replicas(replicated.port):
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the standby never served reads")
    say("read-your-writes through the standby")
    await read_your_writes(plain, replicated, (db, standby), args.tries, say)
    say("killing the standby mid-run")
    await kill_standby(replicated, standby, args.seconds, say)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    say = Progress()
    with tempfile.TemporaryDirectory(prefix="pb-bench-replicas-") as tmp:
        home = Path(tmp)
        say("starting an embedded primary and a standby (pg_basebackup -R)")
        with primary_and_standby(home) as (primary, standby):
            db = create_database(primary, f"pb_replicas_{uuid.uuid4().hex[:8]}")
            run = Run(primary, "replicas", home, say)
            env = {"PARTNERBOOK_HEAVY_LANE": "false", "PARTNERBOOK_DATA_DIR": str(home / "app")}
            replica_env = {**env, "PARTNERBOOK_READ_DATABASE_URLS": standby.url(db.dbname)}
            say(f"primary {db.url}; standby {standby.url(db.dbname)}")
            with (
                serving(run, "plain", ["app.cli", "serve"], db, env=env) as plain,
                serving(run, "replicated", ["app.cli", "serve"], db, env=replica_env) as replicated,
            ):
                asyncio.run(measure(plain, replicated, (db, standby), args, say))
    print("(a shared machine: 2 CPUs, other work running; both servers and both PostgreSQL")
    print(" servers on it)")


if __name__ == "__main__":
    main()
