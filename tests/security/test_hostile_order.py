"""Who is asking is settled before anything else, and nothing one request leaves behind
grows with what it sent.

- A request without a key (or with an unknown one) was parsed, and its text kept in the
  parse cache (256 texts of up to ~1 MB), before the key was looked at: one client
  without a key sending ~1 MB documents pushed other clients' p50 from 3 ms to 500 ms.
  Too many variables without a key got LIMIT_EXCEEDED, not UNAUTHENTICATED.
- Two branches of one request awaiting the same data-loader future: when one failed
  (a bad cursor), graphql-core cancelled the other, which cancelled the shared future,
  and the first got `CancelledError`: uvicorn's plain-text 500 (the viewer's, every
  time), and over graphql-transport-ws no answer at all.
- The cost walk's memo kept integer-looking strings of the variables verbatim in its keys
  (`"<980,000 spaces>1"`): ~1 MB left in memory per request, up to ~1 GB a process.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.schema import auth
from app.schema import parsing as parsing_module
from app.schema.parsing import parse_operation
from tests.conftest import as_key, gql_raw
from tests.e2e.ws_client import websocket
from tests.security.conftest import Live

# ------------------------------------------------- 1. the key before the document


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", e) for e in body.get("errors") or []]


def big_search(size: int) -> str:
    """`{ countries(search: "N xxxx…") { code } }`, a text parsed nowhere before."""
    return '{ countries(search: "' + uuid.uuid4().hex + " " + "x" * size + '") { code } }'


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every text graphql-core's parser is given (through the shared cache,
    or strawberry's own parse)."""
    import strawberry.schema.schema as strawberry_schema

    seen: list[int] = []

    def counting(real: Any) -> Any:
        def parse(source: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(len(source if isinstance(source, str) else source.body))
            return real(source, *args, **kwargs)

        return parse

    for module in (parsing_module, strawberry_schema):
        monkeypatch.setattr(module, "parse", counting(getattr(module, "parse")))  # noqa: B009
    return seen


@pytest.mark.parametrize(
    "authorization", [None, "Bearer pb_000000000000_" + "A" * 43, "Bearer nonsense"]
)
def test_a_document_without_a_valid_key_is_not_parsed(
    client: TestClient, parses: list[int], authorization: str | None
) -> None:
    as_key(client, None)
    if authorization is not None:
        client.headers["Authorization"] = authorization
    cached = parse_operation.cache_info()
    for _ in range(3):
        body = gql_raw(client, big_search(200_000))
        assert codes(body) == ["UNAUTHENTICATED"], body
        assert body.get("data") is None
    # Nor one that does not parse, nor one naming an operation it does not have.
    assert codes(gql_raw(client, "{ countries(search: " + "x" * 50_000)) == ["UNAUTHENTICATED"]
    response = client.post("/graphql", json={"query": big_search(1000), "operationName": "Nowhere"})
    assert codes(response.json()) == ["UNAUTHENTICATED"], response.text
    assert parses == [], parses
    after = parse_operation.cache_info()
    assert (after.currsize, after.misses, after.hits) == (
        cached.currsize,
        cached.misses,
        cached.hits,
    )


def test_without_a_key_the_document_is_not_read_to_know_its_kind(
    client: TestClient, parses: list[int]
) -> None:
    """A mutation by GET (405 with a key) and a subscription over HTTP (400 with a key)
    are UNAUTHENTICATED without one: telling them apart takes parsing the document."""
    as_key(client, None)
    mutation = (
        'mutation { createPartner(input: {kind: COMPANY, name: "A"}) { userErrors { code } } }'
    )
    answer = client.get("/graphql", params={"query": mutation})
    assert codes(answer.json()) == ["UNAUTHENTICATED"], answer.text
    subscription = "subscription { partnerChanged { eventType } }"
    answer = client.post("/graphql", json={"query": subscription})
    assert codes(answer.json()) == ["UNAUTHENTICATED"], answer.text
    assert parses == []


def test_a_document_with_a_key_is_still_parsed_once(client: TestClient, parses: list[int]) -> None:
    query = '{ countries(search: "' + uuid.uuid4().hex[:8] + '") { code } }'
    for _ in range(3):
        body = gql_raw(client, query)
        assert not body.get("errors"), body
    assert parses == [len(query)]


def test_too_many_variables_without_a_key_are_unauthenticated(client: TestClient) -> None:
    page = "query($l: [PartnerFilter!]) { partners(filter: {or: $l}) { totalCount } }"
    many: dict[str, Any] = {"l": [{}] * 150_000}
    assert codes(gql_raw(client, page, many)) == ["LIMIT_EXCEEDED"]  # with the key
    as_key(client, None)
    body = gql_raw(client, page, many)
    assert codes(body) == ["UNAUTHENTICATED"], body


def test_a_websocket_reads_its_key_from_its_connection_params(live: Live) -> None:
    """Subscriptions and operations over graphql-transport-ws still run with the key of
    `connection_init` (the request that opened the socket carried no key)."""

    async def run() -> dict[str, Any]:
        async with websocket(live.base, key=live.keys["viewer"]) as sub:
            await sub.subscribe("{ partners(first: 1) { totalCount } }")
            return await sub.receive()

    assert asyncio.run(run()) == {"partners": {"totalCount": 0}}


# ---------------------------- 2. one branch's cancellation never cancels a shared load

CREATE = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { code } } }"""
SHARED = """query($x: ID!, $y: ID!) {
  a: partner(id: $x) { commercialPartner { name } timeline(first: 1, after: "junk") { totalCount } }
  b: partner(id: $y) { commercialPartner { name } }
}"""
BAD_CURSOR = """query($x: ID!) { partner(id: $x) { timeline(first: 1, after: "junk") {
  totalCount } } }"""


def two_contacts(live: Live) -> dict[str, str]:
    """Two contacts of one company: both load the same commercial partner."""
    company = live.data(CREATE, {"input": {"kind": "COMPANY", "name": "Harbour Lights"}})
    company_id = company["createPartner"]["partner"]["id"]
    ids = []
    for name in ("Mira Olsen", "Jon Berg"):
        person = {"kind": "PERSON", "name": name, "parentId": company_id}
        ids.append(live.data(CREATE, {"input": person})["createPartner"]["partner"]["id"])
    return {"x": ids[0], "y": ids[1]}


def test_a_failed_branch_does_not_cancel_a_load_another_awaits(live: Live) -> None:
    contacts = two_contacts(live)
    alone = live.post(BAD_CURSOR, {"x": contacts["x"]}, role="viewer")
    assert codes(alone.json()) == ["BAD_REQUEST"], alone.text
    for _ in range(5):
        response = live.post(SHARED, contacts, role="viewer")
        assert response.status_code == alone.status_code, response.text
        assert response.headers["content-type"].startswith("application/json"), response.text
        body = response.json()
        assert codes(body) == ["BAD_REQUEST"], body
        assert body["errors"][0]["path"][:2] == ["a", "timeline"], body
        assert body["data"]["b"] == {"commercialPartner": {"name": "Harbour Lights"}}, body


def test_over_a_websocket_the_operation_is_answered(live: Live) -> None:
    contacts = two_contacts(live)

    async def run() -> list[dict[str, Any]]:
        async with websocket(live.base, key=live.keys["viewer"]) as sub:
            op = await sub.subscribe(SHARED, contacts)
            messages: list[dict[str, Any]] = []
            while not messages or messages[-1]["type"] not in ("complete", "error"):
                async with asyncio.timeout(30):  # a bound for a lost answer
                    message = json.loads(await sub.ws.recv())
                if message.get("id") == op:
                    messages.append(message)
            return messages

    messages = asyncio.run(run())
    assert [m["type"] for m in messages] == ["next", "complete"], messages
    assert codes(messages[0]["payload"]) == ["BAD_REQUEST"], messages


# ------------------------------------------- 3. the walk's memo keeps no sent text


def memo_key_chars() -> int:
    """Characters (and bytes) held by the keys of the walk's memo."""
    total = 0
    stack: list[Any] = list(auth._WALKS._known)
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, str | bytes):
            total += len(item)
    return total


COUNTRIES = "query($s: String, $id: ID!) { countries(search: $s) { code } node(id: $id) { id } }"


def test_the_walk_memo_keeps_no_long_text_of_the_variables(live: Live) -> None:
    auth._WALKS.clear()
    for n in range(8):
        padded = " " * (200_000 + n) + str(n)  # what int() reads
        variables = {"s": padded, "id": " " * 100_000 + "7", "k" * (50_000 + n): 1}
        response = live.post(COUNTRIES, variables, role="viewer")
        assert response.status_code == 200, response.text
        assert codes(response.json()) in ([], ["BAD_REQUEST"], ["NOT_FOUND"]), response.text
    assert len(auth._WALKS._known) >= 8  # each shape remembered…
    assert memo_key_chars() < 8 * 1000, memo_key_chars()  # …in a few bytes


def test_the_shape_keeps_what_the_walk_reads() -> None:
    """Bounded, the shape still tells apart what the walk tells apart (a search over its
    length, each variable's name) and no more."""
    shape = auth.variables_shape
    long = " " * 500_000 + "1"
    assert len(repr(shape({"s": long}))) < 200
    assert shape({"s": "x" * 201}) != shape({"s": "x" * 200})
    assert shape({"s": "1" * 201}) != shape({"s": "1" * 200})
    assert shape({"a" * 100_000: 1}) != shape({"b" * 100_000: 1})
    assert len(repr(shape({"a" * 100_000: 1}))) < 200
    assert shape({"first": "10"}) == shape({"first": "10"})


def test_the_heavy_lane_reads_no_document_without_a_valid_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lane's middleware judged a small body (parsed it, walked it: both memoised)
    before it read the key. Without a valid key the request now goes to the view, which
    refuses it unread; with one, it is judged as before."""
    import asyncio

    from app.schema.lane import HeavyLane, LanePolicy
    from app.schema.limits import Limits

    judged: list[bytes] = []
    passed: list[str] = []

    async def heavy(self: HeavyLane, scope: Any, body: bytes, query: Any) -> bool:
        judged.append(body)
        return False

    async def view(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    async def known(key: str) -> object | None:
        return object() if key == "pb_good" else None

    monkeypatch.setattr(HeavyLane, "_heavy", heavy)
    lane = HeavyLane(
        view,
        schema=lambda: None,  # type: ignore[arg-type,return-value]
        lane=type("L", (), {"socket_path": "/nowhere"})(),
        authenticate=lambda scope: known,
        policy=LanePolicy(cost=100, body_bytes=16_384, concurrency=1, per_key=1, queue=1),
        limits=Limits(),
        max_tokens=1000,
    )
    body = b'{"query": "{ __typename }"}'

    async def send_one(authorization: bytes | None) -> None:
        headers = [(b"authorization", authorization)] if authorization else []
        scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Any:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            raise AssertionError(message)

        await lane(scope, receive, send)

    for authorization in (None, b"Bearer nonsense", b"Bearer pb_bad"):
        asyncio.run(send_one(authorization))
    assert judged == [] and len(passed) == 3
    asyncio.run(send_one(b"Bearer pb_good"))
    assert judged == [body] and len(passed) == 4
