"""Webhook delivery: commit -> receiver latency with real HTTP receivers, and what
delivering costs the API (P1, P7) in the same run.

    python -m bench.webhooks [--endpoints 10] [--rate 100] [--seconds 10] [--rounds 3]

Starts its own PostgreSQL (as `python -m bench` does), one `partnerbook serve` process
(webhooks to 127.0.0.1 allowed) and N keep-alive receivers on 127.0.0.1 in a child
process. Delivery: one endpoint per receiver (every kind), partners renamed at a fixed
rate (open loop); each rename is timed from just before its request is sent (commit,
projection and delivery included) to its arrival at each receiver. Prints p50/p99 and
deliveries/s; target p99 <= 100 ms with 10 endpoints at 100 events/s.
Then P1 (createPartner, 8 clients) and P7 (updatePartner -> seen by another client) are
measured in alternating rounds without endpoints and with the N endpoints receiving
every event, on the same server: the effect of webhooks against the rounds' spread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from app.infra.database import Database
from bench.__main__ import server_of_this_run
from bench.core import (
    ROOT,
    Progress,
    Run,
    Server,
    median,
    ms,
    percentile,
    process_cpu_seconds,
    serving,
)
from bench.freshness import round_trips
from bench.http import Connection
from bench.reads import sample_ids
from bench.subscriptions import CREATE, RENAME
from bench.webhook_receivers import Receivers, receivers
from bench.writes import create_requests

ENDPOINT = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) {
  endpoint { id } userErrors { message } } }"""
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) {
  userErrors { message } } }"""


async def create_endpoints(port: int, urls: list[str]) -> list[str]:
    async with Connection(port) as http:
        made = [
            (await http.graphql(ENDPOINT, {"url": url}))["createWebhookEndpoint"] for url in urls
        ]
    assert all(not m["userErrors"] for m in made), made
    return [m["endpoint"]["id"] for m in made]


async def delete_endpoints(port: int, ids: list[str]) -> None:
    async with Connection(port) as http:
        for ident in ids:
            await http.graphql(DELETE, {"id": ident})


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (Linux /proc)."""
    return sum(process_cpu_seconds(pid) for pid in pids)


async def renames(
    port: int, partners: list[str], rate: float, seconds: float, answered: dict[str, float]
) -> dict[str, float]:
    """Renames partners round-robin at `rate` a second (open loop: a slow answer does not
    delay the next request); returns each new name's send time (and notes its answer's)."""
    committed: dict[str, float] = {}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        idle.put_nowait(Connection(port))

    async def rename(n: int) -> None:
        conn = await idle.get()
        try:
            name = f"rename-{n}-{uuid.uuid4().hex[:6]}"
            committed[name] = time.perf_counter()
            variables = {"id": partners[n % len(partners)], "name": name}
            await conn.graphql(RENAME, variables)
            answered[name] = time.perf_counter()
        finally:
            idle.put_nowait(conn)

    started = time.perf_counter()
    pending = []
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        pending.append(asyncio.create_task(rename(n)))
    await asyncio.gather(*pending)
    while not idle.empty():
        await idle.get_nowait().close()
    return committed


def delivery(
    server: Server, pids: list[int], hooks: Receivers, args: argparse.Namespace
) -> dict[str, Any]:
    ids = asyncio.run(create_endpoints(server.port, hooks.urls))

    async def seed() -> list[str]:
        async with Connection(server.port) as http:
            made = [
                await http.graphql(CREATE, {"name": f"Partner {i}"}) for i in range(args.partners)
            ]
        return [m["createPartner"]["partner"]["id"] for m in made]

    partners = asyncio.run(seed())
    hooks.settle(expected=args.partners * args.endpoints)
    hooks.collect()
    answered: dict[str, float] = {}
    cpu = cpu_seconds(pids)
    committed = asyncio.run(renames(server.port, partners, args.rate, args.seconds, answered))
    expected = len(committed) * args.endpoints
    hooks.settle(quiet=5.0, expected=expected)
    cpu = cpu_seconds(pids) - cpu
    received, arrivals = hooks.collect()
    asyncio.run(delete_endpoints(server.port, ids))
    # The same renames without endpoints: the server's CPU for the writes alone.
    alone = cpu_seconds(pids)
    alone_answered: dict[str, float] = {}
    sent = asyncio.run(renames(server.port, partners, args.rate, args.seconds, alone_answered))
    alone = cpu_seconds(pids) - alone
    without = ms([alone_answered[n] - sent[n] for n in alone_answered])
    latencies = ms([at - committed[name] for name, at in arrivals if name in committed])
    after_answer = ms([at - answered[name] for name, at in arrivals if name in answered])
    mutation = ms([answered[n] - committed[n] for n in answered])
    window = max(at for _, at in arrivals) - min(committed.values()) if arrivals else 1.0
    return {
        "endpoints": args.endpoints,
        "events_per_s": args.rate,
        "deliveries": len(latencies),
        "expected": expected,
        "requests": received,
        "p50_ms": median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) if latencies else float("nan"),
        "deliveries_per_s": len(latencies) / window,
        "mutation_p50_ms": median(mutation),
        "mutation_p99_ms": percentile(mutation, 0.99),
        "mutation_without_endpoints_p50_ms": median(without),
        "mutation_without_endpoints_p99_ms": percentile(without, 0.99),
        "answer_to_receiver_p50_ms": median(after_answer) if after_answer else float("nan"),
        "answer_to_receiver_p99_ms": percentile(after_answer, 0.99)
        if after_answer
        else float("nan"),
        "server_cpu_s_with_endpoints": cpu,
        "server_cpu_s_without": alone,
        "cpu_us_per_delivery": (cpu - alone) / max(1, len(latencies)) * 1e6,
        "load_average": os.getloadavg()[0],
    }


def one_round(
    server: Server, db_conninfo: str, ids: list[Any], args: argparse.Namespace, r: int
) -> dict[str, float]:
    latencies, wall = create_requests(
        server.port, args.clients, args.requests, 10_000_000 + r * args.requests
    )
    trips = asyncio.run(round_trips(server.port, db_conninfo, ids, args.updates, 10))
    return {
        "p1_creates_per_s": len(latencies) / wall,
        "p1_p99_ms": percentile(ms(latencies), 0.99),
        "p7_p50_ms": median(ms(trips.visible)),
        "p7_p99_ms": percentile(ms(trips.visible), 0.99),
    }


def interference(
    server: Server,
    pids: list[int],
    conninfo: str,
    hooks: Receivers,
    args: argparse.Namespace,
    say: Progress,
) -> dict[str, list[dict[str, float]]]:
    """P1 and P7 without endpoints and with them, alternating (off-on, on-off, ...)."""
    ids = sample_ids(conninfo, 20)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_fresh AS SELECT id, name FROM partners WHERE id = ANY(%s)", (ids,)
        )
        conn.execute("ALTER TABLE bench_fresh ADD PRIMARY KEY (id)")
    one_round(server, conninfo, ids, args, 99)  # warm-up
    rounds: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for r in range(args.rounds):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            endpoints = (
                asyncio.run(create_endpoints(server.port, hooks.urls)) if mode == "on" else []
            )
            hooks.collect()
            started, cpu = time.perf_counter(), cpu_seconds(pids)
            receiving, delivering = cpu_seconds([hooks.pid]), cpu_seconds(pids[1:])
            found = one_round(server, conninfo, ids, args, 2 * r + (mode == "on"))
            busy = time.perf_counter() - started
            found["server_cpu_share"] = (cpu_seconds(pids) - cpu) / busy
            found["delivery_cpu_share"] = (cpu_seconds(pids[1:]) - delivering) / busy
            found["receivers_cpu_share"] = (cpu_seconds([hooks.pid]) - receiving) / busy
            found["load_average"] = os.getloadavg()[0]
            if endpoints:
                found["deliveries_during"] = hooks.count() / busy
                found["deliveries"] = hooks.settle(quiet=2.0)
                asyncio.run(delete_endpoints(server.port, endpoints))
            rounds[mode].append(found)
            say(
                f"round {r + 1}, webhooks {mode}: {json.dumps({k: round(v, 3) for k, v in found.items()})}"
            )
    return rounds


@contextlib.contextmanager
def topology(
    run: Run, db: Database, deliver_from: str, profile: Path | None = None
) -> Iterator[tuple[Server, list[int]]]:
    """The API process, delivering itself (`api`) or leaving it to a second `serve`
    process that runs neither the projector nor the heavy lane (`separate`); and the
    ids of the processes whose CPU time counts. With `profile`, the delivery process
    (`separate`) runs under cProfile and writes its profile there when it stops."""
    allow = {"PARTNERBOOK_WEBHOOKS_ALLOW_PRIVATE": "true"}
    serve = ["app.cli", "serve"]
    profiled = ["cProfile", "-o", str(profile), "-m", *serve] if profile else serve
    if deliver_from == "api":
        with serving(run, "partnerbook", serve, db, env=allow) as server:
            yield server, [server.pid]
        return
    delivery = {**allow, "PARTNERBOOK_RUN_PROJECTOR": "false", "PARTNERBOOK_HEAVY_LANE": "false"}
    api = {**allow, "PARTNERBOOK_RUN_WEBHOOKS": "false"}
    with (
        serving(run, "partnerbook", serve, db, env=api) as server,
        serving(run, "delivery", profiled, db, env=delivery) as deliverer,
    ):
        yield server, [server.pid, deliverer.pid]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="P1/P7 rounds per mode (0: none)")
    parser.add_argument("--requests", type=int, default=600, help="P1 creates per round")
    parser.add_argument("--clients", type=int, default=8, help="P1 clients")
    parser.add_argument("--updates", type=int, default=150, help="P7 round trips per round")
    parser.add_argument(
        "--deliver-from",
        choices=("separate", "api"),
        default="separate",
        help="webhooks delivered by a serve process of their own (PARTNERBOOK_RUN_WEBHOOKS="
        "false on the API; the default) or by the API process itself",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the delivery process (--deliver-from separate) under cProfile and write "
        "its profile to this file when it stops",
    )
    args = parser.parse_args()
    say = Progress()
    with tempfile.TemporaryDirectory() as tmp, server_of_this_run(Path(tmp)) as admin:
        run = Run(admin, uuid.uuid4().hex[:6], Path(tmp), say)
        db = run.fresh("webhooks")
        try:
            with (
                receivers(args.endpoints) as hooks,
                topology(run, db, args.deliver_from, args.profile) as (server, pids),
            ):
                say(
                    f"delivery: {args.endpoints} endpoints, {args.rate:g} events/s for {args.seconds:g} s"
                )
                result: dict[str, Any] = {
                    "deliver_from": args.deliver_from,
                    "delivery": delivery(server, pids, hooks, args),
                }
                report_delivery(result["delivery"])
                if args.rounds:
                    result["rounds"] = interference(server, pids, db.conninfo(), hooks, args, say)
                    report_rounds(result["rounds"])
        finally:
            run.drop_all()
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "webhooks.json").write_text(json.dumps(result, indent=2))


def report_delivery(d: dict[str, Any]) -> None:
    verdict = "pass" if d["p99_ms"] <= 100 else "FAIL"
    print(
        f"endpoints {d['endpoints']}, {d['events_per_s']:g} events/s: delivered "
        f"{d['deliveries']}/{d['expected']} ({d['requests']} requests), p50 {d['p50_ms']:.1f} ms, "
        f"p99 {d['p99_ms']:.1f} ms, {d['deliveries_per_s']:.0f} deliveries/s  "
        f"(target p99 <= 100 ms: {verdict})\n"
        f"  the renames alone (commit -> answer): p50 {d['mutation_p50_ms']:.1f} ms, p99 "
        f"{d['mutation_p99_ms']:.1f} ms (the same renames without endpoints: p50 "
        f"{d['mutation_without_endpoints_p50_ms']:.1f} ms, p99 "
        f"{d['mutation_without_endpoints_p99_ms']:.1f} ms); answer -> receiver: p50 "
        f"{d['answer_to_receiver_p50_ms']:.1f} ms, p99 {d['answer_to_receiver_p99_ms']:.1f} ms\n"
        f"  server CPU {d['server_cpu_s_with_endpoints']:.1f} s with endpoints, "
        f"{d['server_cpu_s_without']:.1f} s for the same renames without: "
        f"{d['cpu_us_per_delivery']:.0f} us a delivery; load average {d['load_average']:.1f}"
    )


def report_rounds(rounds: dict[str, list[dict[str, float]]]) -> None:
    keys = ("p1_creates_per_s", "p1_p99_ms", "p7_p50_ms", "p7_p99_ms")
    for key in (*keys, "server_cpu_share", "delivery_cpu_share", "receivers_cpu_share"):
        off = [r[key] for r in rounds["off"]]
        on = [r[key] for r in rounds["on"]]
        f = ".2f" if key.endswith("share") else ".1f"
        print(
            f"{key:>19}: without webhooks median {median(off):{f}} "
            f"(rounds {min(off):{f}}-{max(off):{f}}), "
            f"with median {median(on):{f}} (rounds {min(on):{f}}-{max(on):{f}}), "
            f"ratio {median(on) / median(off) if median(off) else float('nan'):.2f}"
        )


if __name__ == "__main__":
    main()
