"""Subscription fan-out over real WebSockets: commit -> delivery latency.

    python -m bench.subscriptions [--subscribers 100,1000] [--rate 20] [--seconds 10]

Starts a fresh database and a `partnerbook serve` process, opens N WebSocket
subscribers (graphql-transport-ws), each on `partnerChanged` of one of P partners,
then renames partners round-robin at a fixed rate. Each rename is timed from
just before its request is sent (so the figure includes the commit, the projection
and the fan-out); a subscriber notes when the event reaches it.
Prints commit -> delivery p50/p99 and deliveries/s. Target: p99 <= 50 ms at 1,000
subscribers on one process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2 as httpx
from websockets.asyncio.client import connect

from app.infra import api_keys, database

AUTH: dict[str, str] = {}
"""The Authorization header (and connection_init payload) for the server of this run."""
SUBSCRIBE = """subscription($ids: [ID!]) { partnerChanged(partnerIds: $ids) {
  cursor changes } }"""
CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } } }"""
RENAME = """mutation($id: ID!, $name: String!) { updatePartner(input: {id: $id, name: $name}) {
  userErrors { code } } }"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def subscriber(
    url: str,
    partner: str,
    ready: asyncio.Event,
    committed: dict[str, float],
    latencies: list[float],
    stop: asyncio.Event,
) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": AUTH}))
        while json.loads(await ws.recv())["type"] != "connection_ack":
            pass
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"ids": [partner]}},
                }
            )
        )
        ready.set()
        while not stop.is_set():
            try:
                async with asyncio.timeout(0.5):
                    message = json.loads(await ws.recv())
            except TimeoutError:
                continue
            if message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            if message.get("type") != "next":
                continue
            received = time.perf_counter()
            name = message["payload"]["data"]["partnerChanged"]["changes"]["name"]
            sent = committed.get(name)
            if sent is not None:
                latencies.append(received - sent)


async def run_level(
    base: str, subscribers: int, partners: list[str], rate: float, seconds: float
) -> dict[str, float]:
    url = base.replace("http://", "ws://") + "/graphql"
    committed: dict[str, float] = {}
    latencies: list[float] = []
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(subscribers)]
    tasks = [
        asyncio.create_task(
            subscriber(url, partners[i % len(partners)], readies[i], committed, latencies, stop)
        )
        for i in range(subscribers)
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(1.0)  # let every subscription register on the server
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=AUTH) as http:
        writes = int(rate * seconds)
        started = time.perf_counter()
        for n in range(writes):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            name = f"rename-{n}-{uuid.uuid4().hex[:6]}"
            # Timed from before the request: an upper bound on commit -> delivery that
            # includes the commit itself (the server may notify before it answers).
            committed[name] = time.perf_counter()
            await http.post(
                "/graphql",
                json={
                    "query": RENAME,
                    "variables": {"id": partners[n % len(partners)], "name": name},
                },
            )
        elapsed = time.perf_counter() - started
    per_partner = [
        subscribers // len(partners) + (1 if i < subscribers % len(partners) else 0)
        for i in range(len(partners))
    ]
    expected = sum(per_partner[n % len(partners)] for n in range(int(rate * seconds)))
    # Give the last deliveries up to 10 s to arrive (counted, not awaited one by one).
    for _ in range(100):
        if len(latencies) >= expected:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    ms = [x * 1000 for x in latencies]
    return {
        "subscribers": subscribers,
        "deliveries": len(ms),
        "expected": expected,
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 0.99) if ms else float("nan"),
        "deliveries_per_s": len(ms) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=8797)
    args = parser.parse_args()
    levels = [int(x) for x in args.subscribers.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        admin = database.resolve(os.environ.get("PARTNERBOOK_DATABASE_URL"), Path(tmp) / "data")
        name = f"pb_bench_{uuid.uuid4().hex[:8]}"
        db = database.create_database(admin, name)
        database.prepare(db, 5)
        AUTH["Authorization"] = "Bearer " + api_keys.create_key(db.conninfo(), "bench", "admin")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(args.port)],
            env={
                **os.environ,
                "PARTNERBOOK_DATABASE_URL": db.dsn,
                # One key opens every subscriber's connection: past the defaults (20 a key,
                # 1,000 a process) they would be refused.
                "PARTNERBOOK_MAX_CONNECTIONS_PER_KEY": str(max(levels) + 10),
                "PARTNERBOOK_MAX_CONNECTIONS": str(max(levels) + 100),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            partners = [
                httpx.post(
                    f"{base}/graphql",
                    json={"query": CREATE, "variables": {"name": f"Partner {i}"}},
                    headers=AUTH,
                    timeout=30,
                ).json()["data"]["createPartner"]["partner"]["id"]
                for i in range(args.partners)
            ]
            for level in levels:
                print(f"... {level} subscribers", flush=True)
                results.append(
                    asyncio.run(run_level(base, level, partners, args.rate, args.seconds))
                )
        finally:
            process.terminate()
            process.wait(timeout=20)
            database.drop_database(admin, name)
    print(
        f"{'subscribers':>11} {'delivered':>9} {'p50 ms':>8} {'p99 ms':>8} {'deliveries/s':>12}  target p99<=50ms"
    )
    for r in results:
        verdict = "pass" if r["p99_ms"] <= 50 else "FAIL"
        print(
            f"{r['subscribers']:>11} {r['deliveries']:>5}/{r['expected']:<4} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['deliveries_per_s']:>12.0f}  {verdict}"
        )
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/subscriptions.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
