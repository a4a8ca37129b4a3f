"""Finding partners at scale: GraphQL over HTTP next to the same SQL run raw.

    python -m bench.search [--partners 1000000] [--runs 50]

1. Starts its own database (the embedded server under a temporary directory, or a fresh
   database on PARTNERBOOK_DATABASE_URL's server).
2. Generates the partners through the application (`bench/generate.py`): a few tags and
   catalog entries by command, then `Partner.register` aggregates saved with
   `app.save(*aggregates)`, ~1,000 per transaction (the path an import takes).
3. Projects them with the registry projector's `catch_up()`; then gives a share of the
   commercial partners invoices on payment terms, payments, sale orders and credit
   limits (`bench/commerce.py`; at most `--trading-partners` of them, 20,000 by default:
   what 100,000 partners give, so that a run at 1,000,000 does not spend ten minutes
   projecting documents that no row of issue 19 reads) and projects those (the live path: each batch refreshes
   the partners' overdue and credit columns); the audit projection; VACUUM ANALYZE.
   The application is opened as the server opens it (`open_application`), so that the
   server's projector finds the positions tracked here under its own name.
4. Starts `python -m app.cli serve` on that database and times, after a warm-up, each
   query over HTTP (a keep-alive `http.client` connection, bench.http.SyncClient: httpx
   cost ~0.3 ms of client time a request); next to it, in this process, the very
   statements the app sends for that query (captured by running the app's own query
   code on a recording connection) executed raw with psycopg, planned as the app's are:
   a statement whose text holds the request's clock (captured twice, a second apart, it
   differs) is planned on each run (`run_raw`); what the app runs beside the rest on a
   connection of its own (a page's count, started with the page) runs beside it on a
   second connection here too (`Beside`).
5. Prints the table (p50/p99, difference, ratio, the server's CPU a request, target,
   pass/fail) and the machine, with the fixed cost of a request (`{ __typename }`) sent
   back to back and after pauses as long as the slower statements (`PAUSES_MS`), and
   writes bench/results/search.json.

Targets (issue 4): GraphQL p50 <= raw SQL p50 + 3 ms; 3-letter search p50 <= 10 ms;
facets p50 <= 150 ms. Issue 18 adds the filters on documents (`hasOverdueInvoices`,
`creditExceeded`) to a page and to the facets, under the same targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx2 as httpx
import psutil  # type: ignore[import-untyped]
import psycopg
from psycopg import sql

from app.application import Audit, Partnerbook
from app.infra import api_keys, database
from app.main import open_application
from app.projections.partner_counts import CUBOIDS
from app.projections.projector import (
    AuditProjection,
    Projector,
    RegistryProjection,
    construct_audit_view,
    construct_view,
)
from app.projections.registry import RegistryView
from app.queries.partners.directory import PartnerDirectory
from app.queries.partners.filters import PartnerFilter
from app.queries.partners.ordering import Order
from app.schema.ids import to_global_id
from app.settings import Settings
from bench.commerce import generate_commerce
from bench.generate import Catalog, GenerationStats, create_catalog, generate
from bench.http import SyncClient

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
PAUSES_MS = (10, 30)
"""Pauses before `{ __typename }` in the machine's line: as long as the slower statements
take in the database, during which the server waits idle (docs/performance.md, "the
machine after a pause")."""
NODE = "id name displayName email isCustomer isSupplier address { city country { code } }"
PAGE = f"edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage endCursor }}"
PARTNERS = (
    "query($f: PartnerFilter, $s: String, $o: [PartnerOrder!], $first: Int, $after: String) "
    "{ partners(filter: $f, search: $s, orderBy: $o, first: $first, after: $after) { %s } }"
)
FLAT = "nodes { id name displayName email phone isCustomer isSupplier updatedAt } " + (
    "pageInfo { hasNextPage endCursor }"
)
"""P4's page (bench/reads.py): leaf fields only, the shape its budget is set on."""
FACET = "{ value label count }"
FACETS = (
    "query($f: PartnerFilter, $s: String) { partnerFacets(filter: $f, search: $s) { "
    + " ".join(
        f"{name} {FACET}"
        for name in ("countries", "tags", "roles", "kinds", "industries", "languages")
    )
    + f" salespersons {FACET} }} }}"
)

COUNTS = (
    "query($f: PartnerFilter, $g: [PartnerCountDimension!]!) { partnerCounts(filter: $f, "
    "groupBy: $g) { groups { createdMonth countryCode count } truncated } }"
)

Statement = tuple[Any, Any]
"""A query (text or psycopg Composable) and its parameters, as the app executed it."""


# -- the statements the app sends ------------------------------------------------------


class _RecordingCursor:
    def __init__(self, cursor: Any, log: list[Statement]) -> None:
        self._cursor = cursor
        self._log = log

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> _RecordingCursor:
        self._log.append((query, params))
        await self._cursor.execute(query, params, **kwargs)
        return self

    async def fetchall(self) -> list[Any]:
        return cast(list[Any], await self._cursor.fetchall())

    async def fetchone(self) -> Any:
        return await self._cursor.fetchone()


class _RecordingConnection:
    def __init__(self, conn: psycopg.AsyncConnection[Any], log: list[Statement]) -> None:
        self._conn = conn
        self._log = log

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> _RecordingCursor:
        return await _RecordingCursor(self._conn.cursor(), self._log).execute(
            query, params, **kwargs
        )

    def cursor(self, *args: Any, **kwargs: Any) -> _RecordingCursor:
        return _RecordingCursor(self._conn.cursor(*args, **kwargs), self._log)


class RecordingPool:
    """Stands in for the read side's AsyncConnectionPool: one real connection, and a log
    of every statement the app's query code sends through it."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self.log: list[Statement] = []

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[_RecordingConnection]:
        yield _RecordingConnection(self._conn, self.log)

    def take(self) -> list[Statement]:
        taken, self.log = self.log, []
        return taken


@dataclass
class Readers:
    """The app's read-side query objects over a recording pool."""

    pool: RecordingPool
    directory: PartnerDirectory
    now: datetime


@dataclass
class Captured:
    statements: list[list[Statement]]
    """What each request of the scenario sends (one request; one per page when paging)."""
    end_cursors: list[str | None]
    """The last cursor of each page (none for facets), to check GraphQL walks the same."""
    per_request: list[list[bool]] = field(default_factory=list)
    """For each statement, whether its text is the request's own (it holds the request's
    clock: the filters on overdue invoices), found by capturing again a second later."""
    beside_from: list[int | None] = field(default_factory=list)
    """For each request, where the statements the app runs beside the others on a
    connection of its own start (a page's count, started with the page): the raw side
    runs them beside the others too."""


Capture = Callable[[Readers], Awaitable[Captured]]
"""Runs the app's query code for one scenario."""


def page_of(
    where: PartnerFilter | None,
    *,
    search: str | None = None,
    orders: Sequence[Order] = (),
    first: int = 50,
    with_count: bool = False,
) -> Capture:
    async def capture(r: Readers) -> Captured:
        page = await r.directory.page(where, orders, now=r.now, search=search, first=first)
        statements = r.pool.take()
        beside = None
        if with_count:  # as `partner_connection`: the count beside the page
            beside = len(statements)
            await r.directory.total_at(where, search, r.now)
            statements += r.pool.take()
        end = page.cursors[-1] if page.cursors else None
        return Captured([statements], [end], beside_from=[beside])

    return capture


def facets_of(where: PartnerFilter | None, search: str | None = None) -> Capture:
    """`PartnerDirectory.facet_counts`: one statement, with the labels partnerFacets
    answers (tags', industries' and salespersons' names)."""

    async def capture(r: Readers) -> Captured:
        await r.directory.facet_counts(where, search, r.now)
        return Captured([r.pool.take()], [])

    return capture


def counts_of(where: PartnerFilter | None, group_by: Sequence[str]) -> Capture:
    """`PartnerDirectory.grouped_counts` (partnerCounts), 1,000 groups at most."""

    async def capture(r: Readers) -> Captured:
        await r.directory.grouped_counts(where, group_by, r.now, 1000)
        return Captured([r.pool.take()], [])

    return capture


def pages_of(pages: int, first: int) -> Capture:
    """Keyset paging: each page starts after the last cursor of the one before."""

    async def capture(r: Readers) -> Captured:
        result = Captured([], [])
        after: str | None = None
        for _ in range(pages):
            page = await r.directory.page(None, [], now=r.now, first=first, after=after)
            result.statements.append(r.pool.take())
            after = page.cursors[-1] if page.cursors else None
            result.end_cursors.append(after)
            if not page.has_next_page:
                break
        return result

    return capture


async def capture_all(
    db: database.Database, captures: Sequence[Capture], now: datetime | None = None
) -> list[Captured]:
    conn = await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True)
    try:
        pool = RecordingPool(conn)
        as_pool = cast(Any, pool)
        readers = Readers(pool, PartnerDirectory(as_pool), now or datetime.now(UTC))
        return [await capture(readers) for capture in captures]
    finally:
        await conn.close()


def text_of(statement: Statement) -> bytes:
    query = statement[0]
    return query.encode() if isinstance(query, str) else bytes(query.as_bytes(None))


def mark_per_request(captured: Captured, again: Captured) -> None:
    """Marks the statements whose text differs in a capture made with another clock."""
    captured.per_request = [
        [text_of(a) != text_of(b) for a, b in zip(first, second, strict=True)]
        for first, second in zip(captured.statements, again.statements, strict=True)
    ]


class Beside:
    """A second connection and a thread of its own: what the app runs beside a request's
    other statements (a page's count) runs beside them on the raw side too, so that the
    difference stays the app's own cost, not the overlap."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-beside")

    def start(self, statements: Sequence[Statement], per_request: Sequence[bool]) -> Future[Any]:
        return self.thread.submit(_execute, self.conn, statements, per_request)

    def close(self) -> None:
        self.thread.shutdown()
        self.conn.close()


def run_raw(
    conn: psycopg.Connection[Any],
    statements: Sequence[Statement],
    per_request: Sequence[bool] = (),
    beside_from: int | None = None,
    beside: Beside | None = None,
) -> float:
    """Seconds to execute the statements and fetch every row, as the app does. A
    statement whose text is the request's own (`Captured.per_request`) is planned each
    time, as the app's connection must: psycopg prepares a text it has run five times,
    and the server's plan of a repeated text then spared the raw side its planning
    (2.3 ms of the 39 ms of the facets of customers with overdue invoices, at 100,000
    partners on PostgreSQL 15), which the app, sending a new text each time, never is."""
    started = time.perf_counter()
    split = len(statements) if beside_from is None or beside is None else beside_from
    running = (
        beside.start(statements[split:], per_request[split:])
        if beside is not None and split < len(statements)
        else None
    )
    _execute(conn, statements[:split], per_request[:split])
    if running is not None:
        running.result()
    return time.perf_counter() - started


def _execute(
    conn: psycopg.Connection[Any], statements: Sequence[Statement], per_request: Sequence[bool]
) -> None:
    for k, (query, params) in enumerate(statements):
        own = k < len(per_request) and per_request[k]
        cur = conn.execute(query, params, prepare=False if own else None)
        if cur.description is not None:
            cur.fetchall()


# -- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    check: Callable[[float, float], bool]
    """(GraphQL p50 ms, raw p50 ms) -> met."""


OVERHEAD = Target("≤ raw + 3 ms", lambda g, r: g <= r + 3)
SEARCH = Target("≤ 10 ms", lambda g, r: g <= 10)
FACET_TIME = Target("≤ 150 ms", lambda g, r: g <= 150)
# Issue 19: counts from the partner cube (app/projections/partner_counts.py).
CUBE_FACETS = Target("≤ 50 ms", lambda g, r: g <= 50)
CUBE_TOTAL = Target("≤ 10 ms", lambda g, r: g <= 10)


@dataclass
class Scenario:
    name: str
    query: str
    variables: dict[str, Any]
    capture: Capture
    targets: tuple[Target, ...]
    pages: int = 1
    """More than one: follow `after` from page to page (deep keyset paging)."""
    captured: Captured = field(default_factory=lambda: Captured([], []))


def scenarios(
    catalog: Catalog, country: str, search: str, pages: int, page_size: int
) -> list[Scenario]:
    segment = catalog.tags["Segment"]
    chosen = {"countryCode": country, "isCustomer": True}
    chosen_filter = PartnerFilter(country_code=country, is_customer=True)
    late_or_over = [{"hasOverdueInvoices": True}, {"creditExceeded": True}]
    page = PARTNERS % PAGE
    counted = PARTNERS % f"{PAGE} totalCount totalCountIsEstimate"
    return [
        Scenario(
            f"filter page ({country} customers), first {page_size}",
            page,
            {"f": chosen, "first": page_size},
            page_of(chosen_filter, first=page_size),
            (OVERHEAD,),
        ),
        Scenario(
            f"filter page ({country} customers) + totalCount",
            counted,
            {"f": chosen, "first": page_size},
            page_of(chosen_filter, first=page_size, with_count=True),
            (OVERHEAD,),
        ),
        Scenario(
            f'3-letter search "{search}" by relevance (orderBy RELEVANCE)',
            page,
            {"s": search, "o": [{"field": "RELEVANCE", "direction": "DESC"}], "first": page_size},
            page_of(None, search=search, orders=[Order("RELEVANCE", True)], first=page_size),
            (OVERHEAD,),
        ),
        Scenario(
            f'3-letter search "{search}" (default order: by name)',
            page,
            {"s": search, "o": [{"field": "NAME"}], "first": page_size},
            page_of(None, search=search, orders=[Order("NAME")], first=page_size),
            (OVERHEAD, SEARCH),
        ),
        Scenario(
            'tag filter (parent tag "Segment")',
            page,
            {"f": {"tagIds": [to_global_id("Tag", segment)]}, "first": page_size},
            page_of(PartnerFilter(tag_ids=(segment,)), first=page_size),
            (OVERHEAD,),
        ),
        Scenario(
            f"partnerFacets ({country} customers)",
            FACETS,
            {"f": chosen},
            facets_of(chosen_filter),
            (OVERHEAD, FACET_TIME),
        ),
        Scenario(
            "partnerFacets (all customers)",
            FACETS,
            {"f": {"isCustomer": True}},
            facets_of(PartnerFilter(is_customer=True)),
            (OVERHEAD, FACET_TIME),
        ),
        # Issue 18: the filters on documents (overdue invoices, credit over the limit).
        Scenario(
            f"filter page ({country} customers without overdue invoices), first {page_size}",
            page,
            {"f": {**chosen, "hasOverdueInvoices": False}, "first": page_size},
            page_of(replace(chosen_filter, has_overdue_invoices=False), first=page_size),
            (OVERHEAD,),
        ),
        Scenario(
            f"filter page (credit exceeded), first {page_size}",
            page,
            {"f": {"creditExceeded": True}, "first": page_size},
            page_of(PartnerFilter(credit_exceeded=True), first=page_size),
            (OVERHEAD,),
        ),
        Scenario(
            "partnerFacets (customers with overdue invoices or over their credit limit)",
            FACETS,
            {"f": {"isCustomer": True, "or": late_or_over}},
            facets_of(
                PartnerFilter(
                    is_customer=True,
                    or_=(
                        PartnerFilter(has_overdue_invoices=True),
                        PartnerFilter(credit_exceeded=True),
                    ),
                )
            ),
            (OVERHEAD, FACET_TIME),
        ),
        # The same filters on P4's page (leaf fields only), next to P4's own filter.
        *(
            Scenario(
                f"P4 page ({label}), first {page_size}",
                PARTNERS % FLAT,
                {"f": variables, "first": page_size},
                page_of(where, first=page_size),
                (OVERHEAD,),
            )
            for label, variables, where in (
                (f"{country} customers", chosen, chosen_filter),
                (
                    "hasOverdueInvoices",
                    {"hasOverdueInvoices": True},
                    PartnerFilter(has_overdue_invoices=True),
                ),
                ("creditExceeded", {"creditExceeded": True}, PartnerFilter(credit_exceeded=True)),
                (
                    f"{country} customers, no overdue invoice",
                    {**chosen, "hasOverdueInvoices": False},
                    replace(chosen_filter, has_overdue_invoices=False),
                ),
            )
        ),
        # Issue 19: the counts the partner cube answers (dimension-only filters).
        Scenario(
            "partnerFacets (all partners) [cube]",
            FACETS,
            {},
            facets_of(None),
            (CUBE_FACETS,),
        ),
        Scenario(
            f"totalCount ({country} customers) [cube]",
            PARTNERS % "totalCount pageInfo { hasNextPage endCursor }",
            {"f": chosen, "first": 1},
            page_of(chosen_filter, first=1, with_count=True),
            (CUBE_TOTAL,),
        ),
        Scenario(
            'partnerFacets (tag filter "Segment") [cube]',
            FACETS,
            {"f": {"tagIds": [to_global_id("Tag", segment)]}},
            facets_of(PartnerFilter(tag_ids=(segment,))),
            (FACET_TIME,),
        ),
        Scenario(
            "partnerCounts (customers) by CREATED_MONTH x COUNTRY [cube]",
            COUNTS,
            {"f": {"isCustomer": True}, "g": ["CREATED_MONTH", "COUNTRY"]},
            counts_of(PartnerFilter(is_customer=True), ["CREATED_MONTH", "COUNTRY"]),
            (CUBE_FACETS,),
        ),
        Scenario(
            f"keyset paging, {pages} pages of {page_size} (per page)",
            page,
            {"first": page_size},
            pages_of(pages, page_size),
            (OVERHEAD,),
            pages=pages,
        ),
    ]


# -- measuring -------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def post(http: SyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    status, answer = http.post_json("/graphql", {"query": query, "variables": variables})
    body = cast(dict[str, Any], answer)
    if status != 200 or body.get("errors"):
        raise SystemExit(f"GraphQL error: {status} {body.get('errors')}")
    return body


def post_ms(http: SyncClient, query: str) -> float:
    started = time.perf_counter()
    post(http, query, {})
    return (time.perf_counter() - started) * 1000


class ServerCPU:
    """CPU seconds the API server and its children (the heavy lane) have run so far,
    from the scheduler's nanoseconds of each of their threads
    (`/proc/PID/task/TID/schedstat`, kept open and re-read with `pread`): user + system
    time come in clock ticks (10 ms), coarser than a request.

    It is read around every timed request, so reading must cost the machine little. It
    used to find the server's children and list their threads on every read: psutil
    then reads every process's `/proc/PID/stat` (150 processes here), 0.7 ms of the
    client's CPU twice a request, run between the server's requests, and the server
    answered slower for it (`{ __typename }` 1.7 ms of the server's CPU against 0.6 ms
    unobserved). Now the threads are listed once per scenario (`refresh`, outside the
    timed runs) and a read is ~50 µs."""

    def __init__(self, server: psutil.Process | None) -> None:
        self.server = server
        self._files: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self.refresh()

    def __bool__(self) -> bool:
        return self.server is not None

    def refresh(self) -> None:
        """Opens the schedstat of threads started since the last refresh."""
        if self.server is None:
            return
        processes = [self.server]
        with contextlib.suppress(psutil.Error):
            processes += self.server.children(recursive=True)
        for process in processes:
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{process.pid}/task"):
                    path = f"/proc/{process.pid}/task/{task}/schedstat"
                    if path not in self._files:
                        with contextlib.suppress(OSError):
                            self._files[path] = os.open(path, os.O_RDONLY)

    def __call__(self) -> float:
        if self.server is None:
            return 0.0
        if not self._files:  # no schedstat (not Linux): user + system, in ticks
            with contextlib.suppress(psutil.Error):
                times = self.server.cpu_times()
                return float(times.user + times.system)
            return 0.0
        total = 0
        for path, fd in self._files.items():
            with contextlib.suppress(OSError, IndexError, ValueError):  # a thread that ended
                self._last[path] = int(os.pread(fd, 128, 0).split()[0])
            total += self._last.get(path, 0)
        return total / 1e9

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


def after_pause(
    http: SyncClient, server: ServerCPU, pause_ms: float, runs: int
) -> tuple[float, float]:
    """p50 ms and the server's CPU µs of `{ __typename }` sent `pause_ms` after the
    previous answer: what a request costs on this machine once it has sat idle as long
    as the database takes for a slow statement (a machine's caches, a virtual CPU's
    core, go to others while it waits; the code that runs after the wait pays)."""
    times: list[float] = []
    cpu = 0.0
    for _ in range(runs):
        time.sleep(pause_ms / 1000)
        before = server()
        times.append(post_ms(http, "{ __typename }"))
        cpu += server() - before
    return percentile(times, 0.5), cpu / runs * 1e6


def graphql_run(http: SyncClient, s: Scenario) -> tuple[list[float], list[str | None]]:
    """Seconds per request (one per page) and the end cursor of each page."""
    times: list[float] = []
    cursors: list[str | None] = []
    after: str | None = None
    for _ in range(s.pages):
        variables = {**s.variables, **({"after": after} if after else {})}
        started = time.perf_counter()
        body = post(http, s.query, variables)
        times.append(time.perf_counter() - started)
        if "partners" not in body["data"]:
            break
        info = body["data"]["partners"]["pageInfo"]
        after = info["endCursor"]
        cursors.append(after)
        if not info["hasNextPage"]:
            break
    return times, cursors


@dataclass
class Measured:
    name: str
    graphql_ms: list[float]
    raw_ms: list[float]
    targets: tuple[Target, ...]
    rows: int
    per_page_p50: list[tuple[float, float]] = field(default_factory=list)
    server_cpu_us: float | None = None
    """The API server's CPU a request (page), averaged over the timed runs."""

    @property
    def g50(self) -> float:
        return percentile(self.graphql_ms, 0.5)

    @property
    def r50(self) -> float:
        return percentile(self.raw_ms, 0.5)

    def met(self) -> list[tuple[str, bool]]:
        return [(t.label, t.check(self.g50, self.r50)) for t in self.targets]

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.name,
            "samples": len(self.graphql_ms),
            "rows_first_page": self.rows,
            "graphql_ms": {
                "p50": round(self.g50, 3),
                "p99": round(percentile(self.graphql_ms, 0.99), 3),
            },
            "raw_sql_ms": {
                "p50": round(self.r50, 3),
                "p99": round(percentile(self.raw_ms, 0.99), 3),
            },
            "difference_p50_ms": round(self.g50 - self.r50, 3),
            **(
                {"server_cpu_us_per_request": round(self.server_cpu_us)}
                if self.server_cpu_us is not None
                else {}
            ),
            "ratio_p50": round(self.g50 / self.r50, 2) if self.r50 else None,
            "targets": [{"target": label, "pass": ok} for label, ok in self.met()],
            "pass": all(ok for _, ok in self.met()),
            **(
                {"per_page_p50_ms": [[round(g, 3), round(r, 3)] for g, r in self.per_page_p50]}
                if self.per_page_p50
                else {}
            ),
        }


def measure(
    http: SyncClient,
    conn: psycopg.Connection[Any],
    s: Scenario,
    runs: int,
    warmup: int,
    beside: Beside | None = None,
    server: ServerCPU | None = None,
) -> Measured:
    _, cursors = graphql_run(http, s)
    if s.captured.end_cursors and cursors != s.captured.end_cursors:
        say(f"  warning: {s.name}: GraphQL and the captured statements return other rows")
    own = s.captured.per_request or [[] for _ in s.captured.statements]
    split = s.captured.beside_from or [None for _ in s.captured.statements]
    for _ in range(warmup):
        graphql_run(http, s)
        for k, statements in enumerate(s.captured.statements):
            run_raw(conn, statements, own[k], split[k], beside)
    pages = len(s.captured.statements)
    g_pages: list[list[float]] = [[] for _ in range(pages)]
    r_pages: list[list[float]] = [[] for _ in range(pages)]
    cpu = 0.0
    server_cpu = server or ServerCPU(None)
    server_cpu.refresh()  # threads the warm-up started
    for _ in range(runs):  # alternating, so both see the same cache state
        before = server_cpu()
        times, cursors = graphql_run(http, s)
        cpu += server_cpu() - before
        if len(times) != pages:
            raise SystemExit(f"{s.name}: {len(times)} GraphQL pages but {pages} captured")
        for k, t in enumerate(times):
            g_pages[k].append(t * 1000)
        for k, statements in enumerate(s.captured.statements):
            r_pages[k].append(run_raw(conn, statements, own[k], split[k], beside) * 1000)
    page = post(http, s.query, s.variables)["data"].get("partners", {})
    rows = len(page.get("edges", page.get("nodes", [])))
    return Measured(
        s.name,
        [t for page in g_pages for t in page],
        [t for page in r_pages for t in page],
        s.targets,
        rows,
        [(percentile(g, 0.5), percentile(r, 0.5)) for g, r in zip(g_pages, r_pages, strict=True)]
        if pages > 1
        else [],
        cpu / (runs * pages) * 1e6 if server and runs else None,
    )


def explain(conn: psycopg.Connection[Any], s: Scenario) -> list[str]:
    """The plans of a scenario's statements (for paging: the first and the last page)."""
    requests = s.captured.statements
    chosen = requests if len(requests) <= 2 else [requests[0], requests[-1]]
    plans: list[str] = []
    for query, params in (statement for request in chosen for statement in request):
        text = query if isinstance(query, sql.Composable) else sql.SQL(query)
        if text.as_string(conn).lstrip().upper().startswith("EXPLAIN"):
            continue
        rows = conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(text), params
        ).fetchall()
        plans.append("\n".join(str(row[0]) for row in rows))
    for plan in plans:
        timing = [line for line in plan.splitlines() if line.startswith("Execution Time")]
        say(f"  explain {s.name}: {timing[0] if timing else '?'}")
    return plans


# -- the machine, the server, the run --------------------------------------------------


def machine(db: database.Database) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        row = conn.execute("SELECT version()").fetchone()
        info["postgresql"] = row[0] if row else "?"
        info["embedded"] = db.embedded
        for setting in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "max_parallel_workers_per_gather",
            "jit",
            "synchronous_commit",
        ):
            row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
            info[setting] = row[0] if row else "?"
    return info


def sizes(db: database.Database) -> dict[str, str]:
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        found: dict[str, str] = {}
        for name in ("partnerbook_events", "partners", "partner_tags", "timeline"):
            row = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(to_regclass(%s)))", (name,)
            ).fetchone()
            if row and row[0]:
                found[name] = row[0]
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        found["database"] = row[0] if row else "?"
        return found


def cube_cells(db: database.Database) -> dict[str, int]:
    """How many cells each cuboid of the partner cube holds (issue 19): its rows summed
    by cell (a cell may have several rows until the cuboid is compacted)."""
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        found: dict[str, int] = {}
        for name, dims in CUBOIDS.items():
            table = sql.Identifier(f"partner_cube_{name}")
            cols = sql.SQL(", ").join(sql.Identifier(d) for d in dims)
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*) FROM (SELECT 1 FROM {} GROUP BY {} HAVING sum(n) <> 0) c"
                ).format(table, cols)
            ).fetchone()
            found[name] = int(row[0]) if row else 0
        return found


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited during start-up:\n" + log.read_text()[-3000:])
        try:
            response = httpx.get(f"{base}/healthz", timeout=2)
            # Once the heavy lane's process is up too: it boots a second copy of the app,
            # and the first scenarios were timed while it took a CPU (run 3 at 1M).
            if response.status_code == 200 and response.json().get("heavyLane") != "starting":
                return cast(dict[str, Any], response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start:\n" + log.read_text()[-3000:])


def say(text: str) -> None:
    print(text, flush=True)


class StallGuard:
    """Unsticks a save that hangs: psycopg 3.3.9's pipeline mode (which eventsourcing uses
    to insert events) can stop sending a large statement halfway, and client and server
    then wait for each other for ever; the server shows the backend `active` in
    `ClientRead`. The app now sends such statements whole (app/infra/pipelines.py); the
    guard stays for a machine where something else stalls a save. When no batch has
    finished for `seconds`, such backends are terminated: the save fails with
    OperationalError and eventsourcing retries it."""

    def __init__(self, db: database.Database, seconds: float) -> None:
        self.db = db
        self.seconds = seconds
        self.last = time.monotonic()
        self.unstuck = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-guard", daemon=True)

    def beat(self) -> None:
        self.last = time.monotonic()

    def __enter__(self) -> StallGuard:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(1):
            if time.monotonic() - self.last < self.seconds:
                continue
            with psycopg.connect(self.db.conninfo(), autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'active' AND wait_event = 'ClientRead'"
                ).fetchall()
            if rows:
                self.unstuck += len(rows)
                say(
                    f"  a save hung for {self.seconds:.0f} s (psycopg pipeline): terminated "
                    f"backend(s) {[r[0] for r in rows]}; eventsourcing retries the batch"
                )
            self.beat()


def generation_progress(total: int, guard: StallGuard) -> Callable[[GenerationStats], None]:
    state = {"last": time.perf_counter(), "done": 0, "batches": 0}

    def report(stats: GenerationStats) -> None:
        guard.beat()
        state["batches"] += 1
        now = time.perf_counter()
        if stats.partners < total and now - state["last"] < 10:
            return
        recent = (stats.partners - state["done"]) / (now - state["last"])
        say(
            f"  generated {stats.partners:,}/{total:,} partners: {stats.rate:,.0f} rows/s "
            f"overall, {recent:,.0f} rows/s lately (building aggregates "
            f"{stats.build_seconds:.0f} s, app.save {stats.save_seconds:.0f} s)"
        )
        state["last"], state["done"] = now, stats.partners

    return report


def watch_projection(projector: Projector, total: int, stop: threading.Event) -> None:
    started = time.perf_counter()
    start = projector.position
    while not stop.wait(15):
        done = projector.position - start
        elapsed = time.perf_counter() - started
        say(f"  projected {done:,}/{total:,} events: {done / elapsed:,.0f} events/s")


def print_table(measured: Sequence[Measured]) -> None:
    header = (
        f"{'query':<52} {'GraphQL p50/p99 ms':>19} {'raw SQL p50/p99 ms':>19} "
        f"{'diff p50':>9} {'ratio':>6} {'API CPU µs':>10}  {'target':<26} result"
    )
    say(header)
    say("-" * len(header))
    for m in measured:
        met = m.met()
        say(
            f"{m.name:<52} {m.g50:>9.2f} /{percentile(m.graphql_ms, 0.99):>8.2f} "
            f"{m.r50:>9.2f} /{percentile(m.raw_ms, 0.99):>8.2f} "
            f"{m.g50 - m.r50:>+8.2f} {m.g50 / m.r50 if m.r50 else 0:>5.1f}x "
            f"{'' if m.server_cpu_us is None else f'{m.server_cpu_us:,.0f}':>10}  "
            f"{', '.join(label for label, _ in met):<26} "
            f"{'pass' if all(ok for _, ok in met) else 'FAIL'}"
            + (
                ""
                if all(ok for _, ok in met)
                else " (" + ", ".join(label for label, ok in met if not ok) + ")"
            )
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=400,
        help="aggregates per app.save (400: an import's batch)",
    )
    parser.add_argument("--stall-seconds", type=float, default=30)
    parser.add_argument("--projection-batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each query")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pages", type=int, default=20, help="pages of the keyset walk")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--country", default="BE", help="the filter's countryCode")
    parser.add_argument("--search", default="mar", help="the 3-letter search")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--trading-partners",
        type=int,
        default=20_000,
        help="at most this many partners trade (bench/commerce.py; 100,000 partners give "
        "~16,500): at 1,000,000 the documents stay those of 100,000 partners, projected in "
        "about a minute rather than ten; 0 for no cap",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="after timing, EXPLAIN (ANALYZE, BUFFERS) each query's statements into the JSON",
    )
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "benchmark": "bench/search.py",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "partners": args.partners,
        "command": " ".join(["python -m bench.search", *(argv or sys.argv[1:])]),
    }
    with tempfile.TemporaryDirectory(prefix="pb_search_", ignore_cleanup_errors=True) as tmp:
        admin = database.resolve(os.environ.get("PARTNERBOOK_DATABASE_URL"), Path(tmp) / "data")
        name = f"pb_search_{uuid.uuid4().hex[:8]}"
        db = database.create_database(admin, name)
        database.prepare(db, 5)
        say(f"database {db.url} ({'embedded' if db.embedded else 'server'})")
        # As the server opens it: the projections' positions are tracked under the
        # application's name, and a different one would make the server's projector
        # start again from the first event while it is being measured.
        app = open_application(db, Settings(database_url=db.dsn))
        view = construct_view(db.eventsourcing_env(2, 5))
        try:
            report["machine"] = machine(db)
            say(
                f"machine: {report['machine']['nproc']} CPU, "
                f"{report['machine'].get('memory_gib', '?')} GiB, "
                f"{report['machine']['postgresql'].split(' on ')[0]}"
            )
            report.update(build(app, view, db, args))
            report["sizes"] = sizes(db)
            say(f"sizes: {report['sizes']}")
            report["cube_cells"] = cube_cells(db)
            say(f"partner cube cells: {report['cube_cells']}")
            measured = serve_and_measure(db, args, report)
        finally:
            app.close()
            view.datastore.close()
            database.drop_database(admin, name)

    say("")
    say(
        f"Finding partners over {args.partners:,} partners: {args.runs} runs each after "
        f"{args.warmup} warm-up runs; raw SQL = the same statements from this process"
    )
    print_table(measured)
    m = report["machine"]
    say(
        f"\nmachine: nproc {m['nproc']}, {m.get('memory_gib', '?')} GiB, {m.get('cpu', '?')}; "
        f"{m['postgresql'].split(',')[0]} ({'embedded' if m['embedded'] else 'server'}), "
        f"shared_buffers {m['shared_buffers']}, work_mem {m['work_mem']}, jit {m['jit']}"
    )
    g, p = report["generation"], report["projection"]
    say(
        f"generation {g['rows_per_s']:,.0f} rows/s ({g['seconds']:.0f} s), projection "
        f"{p['events_per_s']:,.0f} events/s ({p['seconds']:.0f} s), VACUUM ANALYZE "
        f"{report['vacuum_analyze_seconds']:.0f} s"
    )
    say(
        f"{{ __typename }} over HTTP p50 {report['graphql_typename_p50_ms']:.2f} ms, server CPU "
        f"{report['graphql_typename_server_cpu_us']} µs (the fixed cost of any request); "
        + "; ".join(
            f"{pause} ms after the previous answer {x['p50_ms']:.2f} ms, {x['server_cpu_us']} µs"
            for pause, x in report["graphql_typename_after_pause"].items()
        )
        + f"; load average {report['load_average_before'][0]:.2f} before, "
        f"{report['load_average_after'][0]:.2f} after the queries"
    )
    report["queries"] = [x.as_json() for x in measured]
    report.pop("catalog")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written {args.output}")


def build(
    app: Partnerbook, view: RegistryView, db: database.Database, args: argparse.Namespace
) -> dict[str, Any]:
    """Generates, projects and vacuums; returns the rates."""
    audit = Audit("bench", "bench-search")
    catalog = create_catalog(app, audit)
    say(f"generating {args.partners:,} partners in batches of {args.batch_size:,}")
    with StallGuard(db, args.stall_seconds) as guard:
        stats = generate(
            app,
            catalog,
            args.partners,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=generation_progress(args.partners, guard),
        )
    generation = {
        **{k: v for k, v in asdict(stats).items() if not k.endswith("seconds")},
        "seconds": round(stats.seconds, 1),
        "faker_pools_seconds": round(stats.pools_seconds, 1),
        "building_aggregates_seconds": round(stats.build_seconds, 1),
        "app_save_seconds": round(stats.save_seconds, 1),
        "rows_per_s": round(stats.rate),
        "batch_size": args.batch_size,
        "hung_saves_unstuck": guard.unstuck,
    }
    say(
        f"generated {stats.partners:,} partners ({stats.companies:,} companies, "
        f"{stats.contacts:,} contacts, {stats.individuals:,} individuals) in "
        f"{stats.seconds:.0f} s: {stats.rate:,.0f} rows/s (building aggregates "
        f"{stats.build_seconds:.0f} s, app.save {stats.save_seconds:.0f} s)"
    )

    projector = Projector(app, RegistryProjection(view), db, batch_size=args.projection_batch)
    total = (app.recorder.max_notification_id() or 0) - projector.position
    say(f"projecting {total:,} events in batches of {args.projection_batch:,}")
    stop = threading.Event()
    watcher = threading.Thread(target=watch_projection, args=(projector, total, stop), daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        done = projector.catch_up()
    finally:
        stop.set()
    seconds = time.perf_counter() - started
    say(f"projected {done:,} events in {seconds:.0f} s: {done / seconds:,.0f} events/s")
    commerce = trade(app, db, projector, audit, args.seed, args.trading_partners or None)
    # The audit projection too (chain hash, partner versions): otherwise the server
    # measured below spends its first minutes catching it up from the first event, and
    # every figure pays for it (seen: a request's fixed cost 1.5 ms instead of 0.7).
    audit_view = construct_audit_view(db.eventsourcing_env(2, 5))
    try:
        audit_started = time.perf_counter()
        audited = Projector(app, AuditProjection(audit_view), db, batch_size=2000).catch_up()
        say(
            f"audit projection over {audited:,} events in {time.perf_counter() - audit_started:.0f} s"
        )
    finally:
        audit_view.datastore.close()

    started = time.perf_counter()
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    vacuum = time.perf_counter() - started
    say(f"VACUUM ANALYZE in {vacuum:.0f} s")
    return {
        "catalog": catalog,
        "generation": generation,
        "projection": {
            "events": done,
            "seconds": round(seconds, 1),
            "events_per_s": round(done / seconds),
            "batch_size": args.projection_batch,
        },
        "vacuum_analyze_seconds": round(vacuum, 1),
        "commerce": commerce,
    }


def trade(
    app: Partnerbook,
    db: database.Database,
    projector: Projector,
    audit: Audit,
    seed: int,
    max_partners: int | None = None,
) -> dict[str, Any]:
    """Documents and credit limits (bench/commerce.py), projected; what the filters on
    documents then find."""
    started = time.perf_counter()
    stats = generate_commerce(app, db, audit, seed=seed, max_partners=max_partners)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    events = projector.catch_up()
    projected = time.perf_counter() - started
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE overdue_from <= now()), "
            "count(*) FILTER (WHERE credit_exceeded), "
            "count(*) FILTER (WHERE credit_limit_amount IS NOT NULL) FROM partners"
        ).fetchone()
    assert row is not None
    found = {
        **asdict(stats),
        "generation_seconds": round(generated, 1),
        "projection_events": events,
        "projection_seconds": round(projected, 1),
        "partners_with_overdue_invoices": row[0],
        "partners_over_credit_limit": row[1],
        "partners_with_a_credit_limit": row[2],
    }
    say(f"commerce: {found}")
    return found


def serve_and_measure(
    db: database.Database, args: argparse.Namespace, report: dict[str, Any]
) -> list[Measured]:
    catalog: Catalog = report["catalog"]
    chosen = scenarios(catalog, args.country, args.search, args.pages, args.page_size)
    now = datetime.now(UTC)
    captured = asyncio.run(capture_all(db, [s.capture for s in chosen], now))
    again = asyncio.run(capture_all(db, [s.capture for s in chosen], now + timedelta(seconds=1)))
    for s, found, other in zip(chosen, captured, again, strict=True):
        mark_per_request(found, other)
        s.captured = found
    own = [s.name for s in chosen if any(any(flags) for flags in s.captured.per_request)]
    report["planned_each_run"] = own
    say(f"planned on each raw run too (their text holds the request's clock): {own or 'none'}")
    env = {
        **os.environ,
        "PARTNERBOOK_DATABASE_URL": db.dsn,
        "PARTNERBOOK_RUN_PROJECTOR": "true",
    }
    base = f"http://127.0.0.1:{args.port}"
    auth = {"Authorization": "Bearer " + api_keys.create_key(db.conninfo(), "bench", "admin")}
    with tempfile.NamedTemporaryFile(prefix="pb_search_server_", suffix=".log") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(args.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            health = wait_healthy(base, process, Path(log.name))
            say(f"server up: {health}")
            measured = []
            with (
                SyncClient(args.port, auth) as http,
                psycopg.connect(db.conninfo(), autocommit=True) as conn,
                contextlib.closing(Beside(db.conninfo())) as beside,
                contextlib.closing(ServerCPU(psutil.Process(process.pid))) as server,
            ):
                for _ in range(5):
                    post_ms(http, "{ __typename }")
                server.refresh()
                typename_ms, typename_cpu = after_pause(http, server, 0, args.runs)
                report["graphql_typename_p50_ms"] = round(typename_ms, 3)
                report["graphql_typename_server_cpu_us"] = round(typename_cpu)
                report["load_average_before"] = os.getloadavg()
                say(
                    f"  {{ __typename }} over HTTP (the fixed cost of a request): p50 "
                    f"{typename_ms:.2f} ms, server CPU {typename_cpu:.0f} µs; load average "
                    f"{report['load_average_before'][0]:.2f}"
                )
                paused: dict[str, dict[str, float]] = {}
                for pause in PAUSES_MS:
                    ms, cpu = after_pause(http, server, pause, min(args.runs, 50))
                    paused[str(pause)] = {"p50_ms": round(ms, 3), "server_cpu_us": round(cpu)}
                    say(
                        f"  {{ __typename }} {pause} ms after the previous answer: p50 "
                        f"{ms:.2f} ms, server CPU {cpu:.0f} µs"
                    )
                report["graphql_typename_after_pause"] = paused
                for s in chosen:
                    m = measure(http, conn, s, args.runs, args.warmup, beside, server)
                    rows = f" ({m.rows} rows on the first page)" if "Facets" not in s.query else ""
                    say(f"  {m.name}: GraphQL p50 {m.g50:.2f} ms, raw p50 {m.r50:.2f} ms{rows}")
                    measured.append(m)
                report["load_average_after"] = os.getloadavg()
                if args.explain:
                    report["explain"] = {s.name: explain(conn, s) for s in chosen}
            return measured
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
