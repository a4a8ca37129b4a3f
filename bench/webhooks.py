"""Webhook delivery: commit -> receiver latency with real HTTP receivers.

    python -m bench.webhooks [--endpoints 10] [--rate 100] [--seconds 10]

Starts a fresh database and a `partnerbook serve` process (webhooks to 127.0.0.1 allowed),
N receivers on 127.0.0.1 (one endpoint each, every kind), then renames partners at a fixed
rate. Each rename is timed from just before its request is sent (commit, projection,
delivery included); each receiver notes when the event reaches it.
Prints commit -> receiver p50/p99 and deliveries/s. Target: p99 <= 100 ms with 10
endpoints at 100 events/s.
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

from app.infra import api_keys, database
from bench.subscriptions import CREATE, RENAME, percentile

ENDPOINT = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) {
  endpoint { id } userErrors { message } } }"""


async def receiver(committed: dict[str, float], latencies: list[float]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = json.loads(await reader.readexactly(length))
        now = time.perf_counter()
        name = body["data"]["timeline"]["changes"].get("name")
        if name in committed:
            latencies.append(now - committed[name])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def run(base: str, auth: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    committed: dict[str, float] = {}
    latencies: list[float] = []
    servers = [await receiver(committed, latencies) for _ in range(args.endpoints)]
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=auth) as http:
        for server in servers:
            port = server.sockets[0].getsockname()[1]
            await http.post(
                "/graphql",
                json={"query": ENDPOINT, "variables": {"url": f"http://127.0.0.1:{port}/h"}},
            )
        partners = []
        for i in range(args.partners):
            answer = await http.post(
                "/graphql", json={"query": CREATE, "variables": {"name": f"Partner {i}"}}
            )
            partners.append(answer.json()["data"]["createPartner"]["partner"]["id"])
        await asyncio.sleep(2.0)  # the creations delivered before timing starts
        latencies.clear()
        writes = int(args.rate * args.seconds)
        started = time.perf_counter()
        pending = []
        for n in range(writes):
            await asyncio.sleep(max(0.0, started + n / args.rate - time.perf_counter()))
            name = f"rename-{n}-{uuid.uuid4().hex[:6]}"
            committed[name] = time.perf_counter()
            variables = {"id": partners[n % len(partners)], "name": name}
            pending.append(
                asyncio.create_task(
                    http.post("/graphql", json={"query": RENAME, "variables": variables})
                )
            )
        await asyncio.gather(*pending)
        expected = writes * args.endpoints
        for _ in range(300):
            if len(latencies) >= expected:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    for server in servers:
        server.close()
    ms = [x * 1000 for x in latencies]
    return {
        "deliveries": len(ms),
        "expected": expected,
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 0.99) if ms else float("nan"),
        "deliveries_per_s": len(ms) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        admin = database.resolve(os.environ.get("PARTNERBOOK_DATABASE_URL"), Path(tmp) / "data")
        name = f"pb_bench_{uuid.uuid4().hex[:8]}"
        db = database.create_database(admin, name)
        database.prepare(db, 5)
        auth = {"Authorization": "Bearer " + api_keys.create_key(db.conninfo(), "bench", "admin")}
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(args.port)],
            env={
                **os.environ,
                "PARTNERBOOK_DATABASE_URL": db.dsn,
                "PARTNERBOOK_WEBHOOKS_ALLOW_PRIVATE": "true",
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
            result = asyncio.run(run(base, auth, args))
        finally:
            process.terminate()
            process.wait(timeout=20)
            database.drop_database(admin, name)
    verdict = "pass" if result["p99_ms"] <= 100 else "FAIL"
    print(
        f"endpoints {args.endpoints}, {args.rate:g} events/s for {args.seconds:g} s: "
        f"delivered {result['deliveries']}/{result['expected']}, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"{result['deliveries_per_s']:.0f} deliveries/s  (target p99 <= 100 ms: {verdict})"
    )


if __name__ == "__main__":
    main()
