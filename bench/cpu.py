"""CPU time the API server spends per request, for the requests of P1, P4 and P5.

    python -m bench.cpu                       # this checkout's server
    python -m bench.cpu --base /tmp/old-copy  # and another checkout's, alternating rounds
    python -m bench.cpu --locale fr           # every request with Accept-Language: fr

Wall-clock rates on a shared machine move with the load; the server process's own CPU
time per request (user + system, from psutil, all its threads) moves much less. Seeds a
database of `--partners` partners (registered and updated once, projected), then for
each round starts a server (from this checkout, or alternately from `--base`), warms it
up and measures: createPartner (`--clients` clients, read-your-writes, the projector in
the same process), the P4 filtered page, the P4 3-letter search page and P5's
`partner(id)`; with `--only`, also bench.search's nested page (`nested`: address,
country and a cursor a row), that page and the next one by its cursor (`keyset`: two
requests a figure), P4's page with `hasOverdueInvoices: false` (`unpaid`) and
bench.search's facets (`facets`), GraphiQL's introspection query (`introspection`: the
heavy lane's deepest request) and `{ __typename }` (`tiny`: the fixed cost). Prints
the median over rounds of µs of server CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
from graphql import get_introspection_query

from app.infra.database import Database
from app.schema.ids import to_global_id
from bench import data
from bench import http as bench_http
from bench.__main__ import server_of_this_run
from bench.core import ROOT, Progress, Run, Server, Sizes, serving
from bench.http import Connection, HttpError, closed_loop
from bench.projection import seed
from bench.reads import FILTERED, PAGE_FIELDS, PARTNER, SEARCHED, sample_ids
from bench.writes import CREATE

Op = Callable[[Connection, int], Awaitable[None]]

NESTED = (
    "query($c: String!, $after: String) { partners(filter: {countryCode: $c, isCustomer: true}, "
    "first: 50, after: $after) { edges { cursor node { id name displayName email isCustomer "
    "isSupplier address { city country { code } } } } pageInfo { hasNextPage endCursor } } }"
)
"""bench.search's page: nested address and country, a cursor a row (issue 19's rows)."""
UNPAID = (
    "query($c: String!) { partners(filter: {countryCode: $c, isCustomer: true, "
    f"hasOverdueInvoices: false}}, first: 50) {{ nodes {{ {PAGE_FIELDS} }} "
    "pageInfo { hasNextPage endCursor } } }"
)
"""P4's page with a second condition (issue 18's filter on documents)."""
FACETS = (
    "query($c: String!) { partnerFacets(filter: {countryCode: $c, isCustomer: true}) { "
    + " ".join(
        f"{name} {{ value label count }}"
        for name in ("countries", "tags", "roles", "kinds", "industries", "languages")
    )
    + " salespersons { value label count } } }"
)
"""bench.search's facets (every facet of the partners filter)."""
INTROSPECTION = get_introspection_query(descriptions=True)
"""What GraphiQL and code generators send: heavy (its cost walks past `heavy_cost`), so it
runs in the lane, a child process whose CPU `server_cpu` counts."""


def server_cpu(server: Server) -> float:
    """User + system CPU seconds of the server process and its children so far."""
    process = psutil.Process(server.pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


@contextlib.contextmanager
def server_from(run: Run, root: Path, db: Database) -> Iterator[Server]:
    """`partnerbook serve` run from the checkout at `root` (its `app` package first)."""
    import bench.core as core

    saved = core.ROOT
    core.ROOT = root
    try:
        with serving(run, "cpu", ["app.cli", "serve"], db) as server:
            core.ROOT = saved
            yield server
    finally:
        core.ROOT = saved


def measure(server: Server, clients: int, requests: int, op: Op, spy: Path | None) -> float:
    """µs of server CPU per request over `requests` requests; with `spy`, py-spy samples
    the server meanwhile (the thread holding the GIL: Python at work, not waiting;
    collapsed stacks written to `spy`)."""
    recorder = None
    if spy is not None:
        recorder = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--gil",
                "-r",
                "200",
                "-p",
                str(server.pid),
                "-f",
                "raw",
                "-o",
                str(spy),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
    before = server_cpu(server)
    asyncio.run(closed_loop(server.port, clients, requests, op))
    used = server_cpu(server) - before
    if recorder is not None:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)
    return used / requests * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="another checkout to compare with")
    parser.add_argument("--partners", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="per figure and round")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--only", default="create,page,search,partner")
    parser.add_argument("--spy", type=Path, help="a directory for py-spy's samples")
    parser.add_argument("--locale", default="", help="Accept-Language of every request (fr)")
    args = parser.parse_args(argv)
    bench_http.ACCEPT_LANGUAGE = args.locale
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    say = Progress()
    workdir = Path(tempfile.mkdtemp(prefix="partnerbook-cpu-"))
    variants: list[tuple[str, Path]] = [("this", ROOT)]
    if args.base is not None:
        variants.append(("base", args.base.resolve()))
    figures = [f.strip() for f in args.only.split(",") if f.strip()]
    found: dict[tuple[str, str], list[float]] = {}
    try:
        with server_of_this_run(workdir) as admin:
            run = Run(admin, uuid.uuid4().hex[:6], workdir, say)
            sizes = dataclasses.replace(Sizes(), events=args.partners * 2, batch=500)
            _, template = seed(run, sizes, report=False)
            numbers = itertools.count(10_000_000)
            for r in range(args.rounds):
                for name, root in variants if r % 2 == 0 else variants[::-1]:
                    db = run.fresh("cpu", template)
                    ids = sample_ids(db.conninfo(), 500)
                    gids = [to_global_id("Partner", i) for i in ids]

                    async def create(conn: Connection, i: int) -> None:
                        k = next(numbers)
                        result = await conn.graphql(CREATE, {"i": data.graphql_input(k)})
                        if result["createPartner"]["userErrors"]:
                            raise HttpError(str(result["createPartner"]["userErrors"]))

                    async def page(conn: Connection, i: int) -> None:
                        c = data.COUNTRIES[i % len(data.COUNTRIES)]
                        await conn.graphql(FILTERED, {"c": c})

                    async def search(conn: Connection, i: int) -> None:
                        await conn.graphql(SEARCHED, {"s": data.SEARCHES[i % len(data.SEARCHES)]})

                    async def partner(conn: Connection, i: int, gids: list[str] = gids) -> None:
                        found = await conn.graphql(PARTNER, {"id": gids[i % len(gids)]})
                        if found["partner"] is None:
                            raise HttpError("partner(id) found nothing")

                    async def nested(conn: Connection, i: int) -> None:
                        c = data.COUNTRIES[i % len(data.COUNTRIES)]
                        await conn.graphql(NESTED, {"c": c})

                    async def keyset(conn: Connection, i: int) -> None:
                        c = data.COUNTRIES[i % len(data.COUNTRIES)]
                        first = await conn.graphql(NESTED, {"c": c})
                        after = first["partners"]["pageInfo"]["endCursor"]
                        await conn.graphql(NESTED, {"c": c, "after": after})

                    async def unpaid(conn: Connection, i: int) -> None:
                        c = data.COUNTRIES[i % len(data.COUNTRIES)]
                        await conn.graphql(UNPAID, {"c": c})

                    async def facets(conn: Connection, i: int) -> None:
                        c = data.COUNTRIES[i % len(data.COUNTRIES)]
                        await conn.graphql(FACETS, {"c": c})

                    async def tiny(conn: Connection, i: int) -> None:
                        await conn.graphql("{ __typename }", {})

                    async def introspection(conn: Connection, i: int) -> None:
                        await conn.graphql(INTROSPECTION, {})

                    ops: dict[str, tuple[Op, int]] = {
                        "tiny": (tiny, 1),
                        "introspection": (introspection, 1),
                        "facets": (facets, 1),
                        "nested": (nested, 1),
                        "keyset": (keyset, 1),
                        "unpaid": (unpaid, 1),
                        "create": (create, 8),
                        "page": (page, 1),
                        "search": (search, 1),
                        "partner": (partner, args.clients),
                    }
                    with server_from(run, root, db) as server:
                        for figure in figures:
                            op, clients = ops[figure]
                            warm = max(20, args.requests // 5)
                            asyncio.run(closed_loop(server.port, clients, warm, op))
                            spy = args.spy / f"{name}-{figure}.txt" if args.spy else None
                            us = measure(server, clients, args.requests, op, spy)
                            found.setdefault((name, figure), []).append(us)
                            say(f"round {r + 1} {name}: {figure} {us:,.0f} µs CPU/request")
                    run.drop(db)
            run.drop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{'figure':10} " + " ".join(f"{name:>14}" for name, _ in variants))
    for figure in figures:
        cells = [f"{statistics.median(found[(name, figure)]):>11,.0f} µs" for name, _ in variants]
        print(f"{figure:10} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
