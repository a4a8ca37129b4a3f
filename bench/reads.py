"""P4 (a filtered `partners` page), P5 (`partner(id)` req/s) and P9 (API process RSS),
each on its own copy of the seeded database."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg

from app.queries.partners.directory import PartnerDirectory
from app.queries.partners.filters import PartnerFilter
from app.schema.ids import to_global_id
from bench import data
from bench.core import (
    Result,
    Run,
    Sizes,
    median,
    ms,
    partnerbook_server,
    percentile,
    plain_server,
)
from bench.http import Connection, HttpError, closed_loop, for_duration

PAGE_FIELDS = "id name displayName email phone isCustomer isSupplier updatedAt"
FILTERED = (
    "query($c: String!) { partners(filter: {countryCode: $c, isCustomer: true}, first: 50) "
    f"{{ nodes {{ {PAGE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
SEARCHED = (
    "query($s: String!) { partners(search: $s, first: 50) "
    f"{{ nodes {{ {PAGE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
PARTNER = """query($id: ID!) { partner(id: $id) { id name displayName email phone vat ref
  isCustomer isSupplier archived version createdAt updatedAt address { street city zip } } }"""
UPDATE = """mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) {
  partner { id name version } userErrors { field code message } } }"""
QUERY_ARGS = '{ __type(name: "Query") { fields { name args { name } } } }'


def sample_ids(conninfo: str, n: int) -> list[Any]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT id FROM partners WHERE NOT archived ORDER BY random() LIMIT %s", (n,)
        ).fetchall()
    if not rows:
        raise RuntimeError("the seeded database has no partners")
    return [row[0] for row in rows]


class _RecordingCursor:
    """A cursor that notes every statement it runs, as text, with its parameters."""

    def __init__(self, cursor: Any, statements: list[Statement]) -> None:
        self._cursor = cursor
        self._statements = statements

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(self._cursor.connection)
        self._statements.append((text, params))
        await self._cursor.execute(query, params, **kwargs)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _RecordingPool:
    """Stands in for the app's async pool: one real connection that records."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.statements: list[Statement] = []

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[_RecordingConnection]:
        yield _RecordingConnection(self.conn, self.statements)


class _RecordingConnection:
    def __init__(self, conn: psycopg.AsyncConnection[Any], statements: list[Statement]) -> None:
        self._conn = conn
        self._statements = statements

    def cursor(self, *args: Any, **kwargs: Any) -> _RecordingCursor:
        return _RecordingCursor(self._conn.cursor(*args, **kwargs), self._statements)

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return await self.cursor().execute(query, params, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


Statement = tuple[str, Any]


async def app_statements(
    conninfo: str, where: PartnerFilter | None, search: str | None
) -> list[Statement]:
    """The statements the app's own `PartnerDirectory.page` sends for a first page of 50
    (default ordering), recorded while it runs them once."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        pool = _RecordingPool(conn)
        directory = PartnerDirectory(pool)  # type: ignore[arg-type]
        extra: dict[str, Any] = {"search": search} if search is not None else {}
        await directory.page(where, [], now=datetime.now(UTC), first=50, **extra)
        return pool.statements


async def has_search(port: int) -> bool:
    async with Connection(port) as conn:
        found = await conn.graphql(QUERY_ARGS)
    for f in found["__type"]["fields"]:
        if f["name"] == "partners":
            return any(a["name"] == "search" for a in f["args"])
    return False


async def compare_pages(
    port: int,
    conninfo: str,
    query: str,
    variables: list[dict[str, Any]],
    statements: list[list[Statement]],
    n: int,
    warm: int,
) -> tuple[list[float], list[float]]:
    """Alternates one GraphQL page and its raw SQL, `n` times each, after `warm` of each.
    Returns the latencies (s) of both."""
    api: list[float] = []
    raw: list[float] = []
    async with (
        Connection(port) as http,
        await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn,
    ):
        for i in range(warm + n):
            k = i % len(variables)
            t0 = time.perf_counter()
            page = await http.graphql(query, variables[k])
            t1 = time.perf_counter()
            rows: list[Any] = []
            for text, params in statements[k]:
                cur = await conn.execute(text, params)
                rows = await cur.fetchall()
            t2 = time.perf_counter()
            if len(page["partners"]["nodes"]) != min(50, len(rows)):
                raise HttpError(
                    f"the API page has {len(page['partners']['nodes'])} rows, SQL {len(rows)}"
                )
            if i >= warm:
                api.append(t1 - t0)
                raw.append(t2 - t1)
    return api, raw


def p4(run: Run, sizes: Sizes, template: str) -> list[Result]:
    filtered = Result(
        "P4",
        "partners page: countryCode + isCustomer, first 50",
        "ms",
        "p50 ≤ raw + 3 ms",
        raw_name="the statements the app sends, run by psycopg",
    )
    searched = Result(
        "P4",
        "partners page: 3-letter search, first 50",
        "ms",
        "p50 ≤ 10 ms",
        raw_name="the statements the app sends, run by psycopg",
    )
    db = run.fresh("p4", template)
    warm = max(10, sizes.pages // 10)
    try:
        with partnerbook_server(run, db) as server:
            run.say(f"P4: {sizes.pages} filtered pages over HTTP and as raw SQL, alternating")
            countries = list(data.COUNTRIES)
            api, raw = asyncio.run(
                compare_pages(
                    server.port,
                    db.conninfo(),
                    FILTERED,
                    [{"c": c} for c in countries],
                    [
                        asyncio.run(
                            app_statements(
                                db.conninfo(), PartnerFilter(country_code=c, is_customer=True), None
                            )
                        )
                        for c in countries
                    ],
                    sizes.pages,
                    warm,
                )
            )
            latency_result(filtered, api, raw)
            filtered.judge(filtered.median is not None and filtered.median <= raw_p50(raw) + 3)
            if asyncio.run(has_search(server.port)):
                run.say(f"P4: {sizes.pages} searched pages over HTTP and as raw SQL")
                api, raw = asyncio.run(
                    compare_pages(
                        server.port,
                        db.conninfo(),
                        SEARCHED,
                        [{"s": s} for s in data.SEARCHES],
                        [
                            asyncio.run(app_statements(db.conninfo(), None, s))
                            for s in data.SEARCHES
                        ],
                        sizes.pages,
                        warm,
                    )
                )
                latency_result(searched, api, raw)
                searched.judge(searched.median is not None and searched.median <= 10)
            else:
                searched.status = "skipped"
                searched.notes.append("search is not built yet (no `search` on `partners`)")
    finally:
        run.drop(db)
    return [filtered, searched]


def raw_p50(raw: list[float]) -> float:
    return median(ms(raw))


def latency_result(result: Result, api: list[float], raw: list[float]) -> None:
    result.median = median(ms(api))
    result.p99 = percentile(ms(api), 0.99)
    result.raw = median(ms(raw))
    result.delta_ms = result.median - result.raw
    result.extra = {"samples": len(api), "raw_p99_ms": percentile(ms(raw), 0.99)}


def p5(run: Run, sizes: Sizes, template: str) -> list[Result]:
    result = Result(
        "P5",
        f"partner(id), HTTP, {sizes.read_clients} clients",
        "req/s",
        "≥ 0.30x raw",
        raw_name="plain Starlette JSON endpoint req/s",
    )
    db = run.fresh("p5", template)
    try:
        ids = sample_ids(db.conninfo(), 1000)
        global_ids = [to_global_id("Partner", i) for i in ids]
        with partnerbook_server(run, db) as api, plain_server(run, db) as plain:

            async def graphql(conn: Connection, i: int) -> None:
                found = await conn.graphql(PARTNER, {"id": global_ids[i % len(ids)]})
                if found["partner"] is None:
                    raise HttpError("partner(id) found nothing")

            async def rest(conn: Connection, i: int) -> None:
                found = await conn.get_json(f"/partner/{ids[i % len(ids)]}")
                if found["data"]["partner"] is None:
                    raise HttpError("the plain endpoint found nothing")

            asyncio.run(check_same_row(api.port, plain.port, global_ids[0], ids[0]))
            run.say(f"P5: warm-up; then {sizes.rounds} rounds of {sizes.reads} requests each")
            warm = max(20, sizes.reads // 5)
            asyncio.run(closed_loop(api.port, sizes.read_clients, warm, graphql))
            asyncio.run(closed_loop(plain.port, sizes.read_clients, warm, rest))
            rates: list[float] = []
            raws: list[float] = []
            latencies: list[float] = []
            for r in range(sizes.rounds):
                lat, wall = asyncio.run(
                    closed_loop(api.port, sizes.read_clients, sizes.reads, graphql)
                )
                rates.append(len(lat) / wall)
                latencies += lat
                lat_raw, wall = asyncio.run(
                    closed_loop(plain.port, sizes.read_clients, sizes.reads, rest)
                )
                raws.append(len(lat_raw) / wall)
                run.say(f"P5: round {r + 1}: {rates[-1]:.0f} req/s, plain {raws[-1]:.0f} req/s")
    finally:
        run.drop(db)
    value, raw = median(rates), median(raws)
    result.median, result.raw, result.ratio = value, raw, value / raw
    result.p99 = percentile(ms(latencies), 0.99)
    result.notes.append(f"latency p50 {median(ms(latencies)):.2f} ms")
    result.extra = {"round_rates": rates, "raw_round_rates": raws}
    return [result.judge(result.ratio >= 0.30)]


async def check_same_row(api_port: int, plain_port: int, global_id: str, ident: Any) -> None:
    async with Connection(api_port) as a, Connection(plain_port) as b:
        via_api = (await a.graphql(PARTNER, {"id": global_id}))["partner"]
        via_plain = (await b.get_json(f"/partner/{ident}"))["data"]["partner"]
    if (via_api["name"], via_api["version"]) != (via_plain["name"], via_plain["version"]):
        raise HttpError(f"the endpoints disagree: {via_api} vs {via_plain}")


class RssSampler:
    """Samples a process's resident set size (MB) every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        return float(self.process.memory_info().rss) / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.now())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def p9(run: Run, sizes: Sizes, template: str, partners: int) -> list[Result]:
    result = Result(
        "P9",
        f"API process RSS, {partners:,} partners, mixed load",
        "MB",
        "peak ≤ 250 MB",
        p99_unit="MB",
        p99_of="sample",
        raw_name="plain Starlette process, peak MB",
    )
    db = run.fresh("p9", template)
    clients = max(2, sizes.read_clients)
    try:
        ids = sample_ids(db.conninfo(), 1000)
        global_ids = [to_global_id("Partner", i) for i in ids]

        async def mixed(conn: Connection, i: int) -> None:
            kind = i % 10
            if kind < 6:
                await conn.graphql(PARTNER, {"id": global_ids[i % len(ids)]})
            elif kind < 9:
                await conn.graphql(FILTERED, {"c": data.COUNTRIES[i % len(data.COUNTRIES)]})
            else:
                changes = {"id": global_ids[i % len(ids)], "name": f"Renamed {i}"}
                found = await conn.graphql(UPDATE, {"i": changes})
                if found["updatePartner"]["userErrors"]:
                    raise HttpError(str(found["updatePartner"]["userErrors"]))

        async def rest(conn: Connection, i: int) -> None:
            await conn.get_json(f"/partner/{ids[i % len(ids)]}")

        with partnerbook_server(run, db) as api:
            idle = RssSampler(api.pid).now()
            run.say(f"P9: {sizes.serve_seconds:.0f} s of mixed load, sampling RSS")
            asyncio.run(for_duration(api.port, clients, min(2.0, sizes.serve_seconds), mixed))
            with RssSampler(api.pid) as sampler:
                done = asyncio.run(for_duration(api.port, clients, sizes.serve_seconds, mixed))
        with plain_server(run, db) as plain:
            asyncio.run(for_duration(plain.port, clients, min(2.0, sizes.serve_seconds), rest))
            with RssSampler(plain.pid) as plain_sampler:
                asyncio.run(for_duration(plain.port, clients, sizes.serve_seconds, rest))
    finally:
        run.drop(db)
    peak = max(sampler.samples)
    result.median = median(sampler.samples)
    result.p99 = percentile(sampler.samples, 0.99)
    result.raw = max(plain_sampler.samples)
    result.notes.append(f"peak {peak:.0f} MB, idle after start {idle:.0f} MB, {done:,} requests")
    result.extra = {"peak_mb": peak, "idle_mb": idle, "requests": done}
    return [result.judge(peak <= 250)]
