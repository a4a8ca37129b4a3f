"""A1: an ordinary client's `partner(id)` latency alone, then while a second client loops
the most expensive requests each role may send. Target: p99 under attack ≤ 3x alone.

    python -m bench.attacks [--quick] [--events N] [--attack-seconds S] [...]
    # the same as: python -m bench --only A1 [...]

One `partnerbook serve` on a copy of the seeded database (P3's). The ordinary client (a
viewer key, one keep-alive connection) reads random partners one after the other:
`attack_reads` requests alone, then for as long as the attacker runs. The attacker
(another connection; a viewer key or an editor key per request) sends the requests of
`attacks()` round-robin, each waiting for its answer, until it has sent
`attack_requests` requests or `attack_seconds` have passed; a request unanswered after
`ATTACK_TIMEOUT` seconds is given up (its connection closed).

The attack list is meant to grow: an `Attack` is a name, the role whose key sends it and
a function from the iteration number to the raw HTTP body (malformed bodies too). Keep the
requests that today's limits refuse: a refusal must stay cheap, and the figures show it.
Per attack the run prints how often it was sent, its median time and what it got (HTTP
status and the first error code).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.infra.api_keys import create_key
from app.schema.ids import to_global_id
from bench.core import Result, Run, Sizes, median, ms, partnerbook_server, percentile
from bench.http import Connection, HttpError
from bench.reads import PARTNER, sample_ids

ATTACK_TIMEOUT = 30.0
"""Seconds an attack request may take before the attacker gives it up."""
TARGET = 3.0
"""p99 under attack at most this many times p99 alone."""


@dataclass(frozen=True)
class Attack:
    name: str
    role: str
    """"viewer" or "editor": the key that sends it."""
    body: Callable[[int], bytes]
    """The raw request body of the i-th time it is sent."""


def operation(query: str, variables: dict[str, Any] | None = None) -> Callable[[int], bytes]:
    """The operation, its text different each time (a comment naming the iteration), as
    an attacker would send it: a cache of documents by their text must not make a repeat
    look cheap (the first fragment bomb cost seconds, its identical repeats 5 ms)."""
    tail = json.dumps({"variables": variables or {}})[1:]
    return lambda i: (json.dumps({"query": f"{query} # {i}"})[:-1] + ", " + tail).encode()


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next one twice: 2^levels spreads once expanded, from a
    document of a few hundred bytes (issue 15: 19 levels took 2.5 s)."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def nested_filter(depth: int) -> dict[str, Any]:
    """and/or/not nested `depth` deep around one leaf."""
    node: dict[str, Any] = {"isCustomer": True}
    for level in range(depth):
        node = {("and", "or", "not")[level % 3]: node if level % 3 == 2 else [node]}
    return node


PAGE = """query($f: PartnerFilter, $s: String, $o: [PartnerOrder!]) {
  partners(filter: $f, search: $s, orderBy: $o, first: 100) {
    totalCount nodes { id name displayName email } } }"""
ALIASED_PAGES = (
    "query($f: PartnerFilter) { "
    + " ".join(f"p{i}: partners(filter: $f, first: 100) {{ totalCount }}" for i in range(10))
    + " }"
)
WIDE_PAGE = """query { partners(first: 100) { totalCount nodes {
  id name displayName formattedAddress address { street city zip country { name } }
  tags { id name } industry { name } salesperson { name } stats { invoiceCount }
  commercialPartner { name } parent { name }
  children(first: 10) { totalCount nodes { id name tags { name } } }
  activities(first: 10) { totalCount nodes { id summary dueDate } }
  documents(first: 10) { totalCount nodes { id } }
  timeline(first: 10) { nodes { kind occurredAt TIMELINE } } HISTORY } } }"""
HISTORY = "history(first: 10) { totalCount nodes { version eventType changes { field } } }"
MEMBER_COUNTS = "{ segments(first: 100) { totalCount nodes { id name memberCount } } }"
CREATE_SEGMENT = """mutation($i: CreateSegmentInput!) { createSegment(input: $i) {
  segment { id } userErrors { code message } } }"""
IMPORT = """mutation($i: ImportPartnersInput!) { importPartners(input: $i) {
  created updated userErrors { code message } } }"""
CREATE_PARTNER = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) {
  partner { id } userErrors { code message } } }"""


def attacks(tag_ids: list[str]) -> list[Attack]:
    """The most expensive requests a viewer and an editor may send (today's limits or
    tomorrow's: refused ones stay)."""
    five_thousand_tags = {"or": [{"tagIds": [tag_ids[i % len(tag_ids)]]} for i in range(5000)]}
    hundred_tags = {"or": [{"tagIds": tag_ids[:100]} for _ in range(100)]}
    overdue = {"or": [{"hasOverdueActivities": i % 2 == 0} for i in range(10_000)]}
    # Segments may store nesting 8 deep (app/domain/segment.py): 7 levels of 20-leaf ors.
    stored: dict[str, Any] = {"isCustomer": True}
    for _ in range(7):
        stored = {"or": [stored, *({"tagIds": [t]} for t in tag_ids[:19])]}

    def import_rows(i: int) -> bytes:
        rows = [
            {
                "externalId": f"attack_{i}_{n}",
                "name": f"Attack import {i}-{n} " + "x" * 100,
                "isCompany": n % 2 == 0,
                "street": "s" * 200,
                "city": f"City {n % 50}",
                "email": f"a{i}.{n}@example.com",
                "comment": "c" * 400,
            }
            for n in range(1000)
        ]
        return json.dumps({"query": IMPORT, "variables": {"i": {"rows": rows}}}).encode()

    def big_partner(i: int) -> bytes:
        fields = ("function", "street", "street2", "city", "zip", "ref", "companyRegistry")
        values: dict[str, Any] = {name: f"{i} " + "v" * 490 for name in fields}
        values |= {"kind": "COMPANY", "name": f"Attack {i} " + "n" * 480}
        values["notes"] = "n" * 20_000
        return json.dumps({"query": CREATE_PARTNER, "variables": {"i": values}}).encode()

    def segment(i: int) -> bytes:
        values = {"name": f"Attack segment {i}", "filter": stored, "search": "a" * 200}
        return json.dumps({"query": CREATE_SEGMENT, "variables": {"i": values}}).encode()

    return [
        # -- viewer: filters, searches, pages, fragments at (and past) the limits
        Attack(
            "10 aliases x one 5,000-leaf or of tagIds",
            "viewer",
            operation(ALIASED_PAGES, {"f": five_thousand_tags}),
        ),
        Attack(
            "10 aliases x 100-leaf or of 100 tagIds each",
            "viewer",
            operation(ALIASED_PAGES, {"f": hundred_tags}),
        ),
        Attack("10,000-leaf or of hasOverdueActivities", "viewer", operation(PAGE, {"f": overdue})),
        Attack("and/or/not nested 300 deep", "viewer", operation(PAGE, {"f": nested_filter(300)})),
        Attack("and/or/not nested 10 deep", "viewer", operation(PAGE, {"f": nested_filter(10)})),
        Attack(
            "broad search by relevance",
            "viewer",
            operation(PAGE, {"s": "a", "o": [{"field": "RELEVANCE"}]}),
        ),
        Attack("200-character search", "viewer", operation(PAGE, {"s": "e" * 200})),
        Attack("fragments 2^12 (under a limit)", "viewer", operation(fragment_bomb(12))),
        Attack("fragments 2^17 (over a limit)", "viewer", operation(fragment_bomb(17))),
        Attack(
            "100 partners with their 360° fields",
            "viewer",
            # A viewer may not read event texts (summary) nor past values (history).
            operation(WIDE_PAGE.replace("HISTORY", "").replace("TIMELINE", "")),
        ),
        Attack("memberCount of every segment", "viewer", operation(MEMBER_COUNTS)),
        Attack("body: invalid UTF-8", "viewer", lambda _: b'{"query": "{ \xff\xfe }"}'),
        Attack("body: JSON nested 1,000 deep", "viewer", lambda _: b"[" * 1000 + b"]" * 1000),
        # -- editor: the largest writes
        Attack("importPartners, 1,000 rows", "editor", import_rows),
        Attack("createPartner, every text at its maximum", "editor", big_partner),
        Attack(
            "100 partners with their 360° fields and history",
            "editor",
            operation(WIDE_PAGE.replace("HISTORY", HISTORY).replace("TIMELINE", "summary")),
        ),
        Attack("createSegment, stored filter 8 deep", "editor", segment),
    ]


@dataclass
class Outcome:
    seconds: float
    what: str
    """"200 ok", "400 BAD_REQUEST", "timeout"…"""


def describe(status: int, payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return f"{status} (not JSON)"
    if not isinstance(body, dict):
        return f"{status}"
    errors = body.get("errors") or []
    if errors:
        code = (errors[0].get("extensions") or {}).get("code") or errors[0].get("message", "")
        return f"{status} {str(code)[:40]}"
    data = body.get("data") or {}
    for value in data.values():
        if isinstance(value, dict) and value.get("userErrors"):
            return f"{status} userErrors {value['userErrors'][0].get('code')}"
    return f"{status} ok"


async def attacker(
    port: int,
    keys: dict[str, str],
    plan: list[Attack],
    sizes: Sizes,
    stop: asyncio.Event,
    outcomes: dict[str, list[Outcome]],
) -> None:
    """Sends the plan round-robin until its count or time bound; then sets `stop`."""
    deadline = time.monotonic() + sizes.attack_seconds
    connections = {role: Connection(port, key=key) for role, key in keys.items()}
    try:
        for i in range(sizes.attack_requests):
            if time.monotonic() > deadline:
                break
            attack = plan[i % len(plan)]
            conn = connections[attack.role]
            body = attack.body(i // len(plan))
            started = time.perf_counter()
            try:
                try:
                    status, payload = await asyncio.wait_for(
                        conn.request("POST", "/graphql", body), ATTACK_TIMEOUT
                    )
                except (ConnectionResetError, asyncio.IncompleteReadError):
                    # The server closed a keep-alive connection idle for a while (5 s),
                    # or the last attack on it: once more on a new connection.
                    await conn.close()
                    started = time.perf_counter()
                    status, payload = await asyncio.wait_for(
                        conn.request("POST", "/graphql", body), ATTACK_TIMEOUT
                    )
                what = describe(status, payload)
            except TimeoutError:
                what = "timeout"
                await conn.close()
            except (OSError, asyncio.IncompleteReadError) as error:
                what = f"connection: {type(error).__name__}"
                await conn.close()
            outcomes[attack.name].append(Outcome(time.perf_counter() - started, what))
    finally:
        stop.set()
        for conn in connections.values():
            await conn.close()


async def ordinary(
    port: int, key: str, ids: list[str], count: int | None, stop: asyncio.Event | _Finished | None
) -> list[float]:
    """`partner(id)` one after the other: `count` of them, or until `stop` is set."""
    latencies: list[float] = []
    async with Connection(port, key=key) as conn:
        i = -1
        while count is None or i + 1 < count:
            i += 1
            if stop is not None and stop.is_set():
                break
            started = time.perf_counter()
            found = await conn.graphql(PARTNER, {"id": ids[i % len(ids)]})
            if found["partner"] is None:
                raise HttpError("partner(id) found nothing")
            latencies.append(time.perf_counter() - started)
    return latencies


def _attack_process(
    port: int,
    keys: dict[str, str],
    tags: list[str],
    sizes: Sizes,
    started: Any,
    finished: Any,
    results: Any,
) -> None:
    """The attacker, in a process of its own: building its bodies and reading its
    answers (megabytes) must not hold up the ordinary client's event loop, which would
    count as the server's time."""

    async def run() -> dict[str, list[Outcome]]:
        outcomes: dict[str, list[Outcome]] = defaultdict(list)
        stop = asyncio.Event()
        started.set()
        await attacker(port, keys, attacks(tags), sizes, stop, outcomes)
        return outcomes

    try:
        results.put(dict(asyncio.run(run())))
    finally:
        finished.set()


class _Finished:
    """`stop` for the ordinary client: set once the attacker's process has finished."""

    def __init__(self, event: Any) -> None:
        self.event = event

    def is_set(self) -> bool:
        return bool(self.event.is_set())


def under_attack(
    port: int, keys: dict[str, str], ids: list[str], tags: list[str], sizes: Sizes
) -> tuple[list[float], dict[str, list[Outcome]]]:
    context = multiprocessing.get_context("spawn")
    started, finished, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(
        target=_attack_process,
        args=(port, keys, tags, sizes, started, finished, results),
        name="attacker",
    )
    process.start()
    try:
        if not started.wait(120):
            raise RuntimeError("the attacker process did not start")
        stop = _Finished(finished)
        latencies = asyncio.run(ordinary(port, keys["viewer"], ids, None, stop))
        outcomes: dict[str, list[Outcome]] = results.get(timeout=ATTACK_TIMEOUT + 60)
    finally:
        process.join(ATTACK_TIMEOUT + 60)
        if process.is_alive():
            process.kill()
    return latencies, defaultdict(list, outcomes)


def a1(run: Run, sizes: Sizes, template: str) -> list[Result]:
    result = Result(
        "A1",
        "partner(id) p99 under attack",
        "ms",
        f"p99 ≤ {TARGET:.0f}x alone",
        raw_name="p99 of the same partner(id) requests alone (median column: p50 under attack)",
    )
    db = run.fresh("a1", template)
    try:
        keys = {role: create_key(db.conninfo(), f"bench-{role}", role) for role in ROLES}
        ids = [to_global_id("Partner", i) for i in sample_ids(db.conninfo(), 1000)]
        random.Random(1).shuffle(ids)
        tags = [
            to_global_id("Tag", uuid.UUID(int=random.Random(n).getrandbits(128)))
            for n in range(100)
        ]
        plan = attacks(tags)
        with partnerbook_server(run, db) as api:
            warm = max(20, sizes.attack_reads // 5)
            asyncio.run(ordinary(api.port, keys["viewer"], ids, warm, None))
            run.say(f"A1: {sizes.attack_reads} partner(id) alone")
            alone = asyncio.run(ordinary(api.port, keys["viewer"], ids, sizes.attack_reads, None))
            run.say(
                f"A1: the same under attack ({len(plan)} kinds of request, at most "
                f"{sizes.attack_requests} requests and {sizes.attack_seconds:.0f} s)"
            )
            attacked, outcomes = under_attack(api.port, keys, ids, tags, sizes)
    finally:
        run.drop(db)
    p99_alone, p99_attacked = percentile(ms(alone), 0.99), percentile(ms(attacked), 0.99)
    result.median = median(ms(attacked))
    result.p99 = p99_attacked
    result.raw = p99_alone
    result.ratio = p99_attacked / p99_alone
    result.notes.append(
        f"alone: p50 {median(ms(alone)):.2f} ms, p99 {p99_alone:.2f} ms ({len(alone)} requests); "
        f"under attack: p50 {median(ms(attacked)):.2f} ms, p99 {p99_attacked:.2f} ms "
        f"({len(attacked)} requests), max {max(ms(attacked)):.0f} ms"
    )
    table: dict[str, Any] = {}
    for attack in plan:
        sent = outcomes.get(attack.name, [])
        if not sent:
            result.notes.append(f"{attack.name} ({attack.role}): not sent")
            continue
        seconds = statistics.median(o.seconds for o in sent)
        answers = sorted({o.what for o in sent})
        result.notes.append(
            f"{attack.name} ({attack.role}): {len(sent)}x, median {seconds * 1000:,.0f} ms, "
            + "; ".join(answers)
        )
        table[attack.name] = {"role": attack.role, "sent": len(sent), "median_s": seconds}
        table[attack.name]["answers"] = answers
    result.extra = {"attacks": table, "alone_ms": ms(alone), "attacked_ms": ms(attacked)}
    return [result.judge(result.ratio <= TARGET)]


ROLES = ("viewer", "editor")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["--only", "A1", *sys.argv[1:]]))
