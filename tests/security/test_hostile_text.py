"""Hostile text: a lone surrogate or a NUL is refused at every boundary before anything is
recorded, and whatever text the store already holds still projects (issue 15, items 1-2).

Once, `createPartner(input: {kind: COMPANY, name: "Poison Co \\ud800"})` was recorded and
the projector failed on it for ever: every later mutation waited out read-your-writes."""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from app.database import Database
from tests.conftest import event_count, gql
from tests.security.conftest import Live

ORDINARY = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id name } userErrors { code } } }"""
READ = "query($id: ID!) { partner(id: $id) { id name } }"
CREATE = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { code } } }"""


def _raw(live: Live, body: str, client: httpx.Client | None = None) -> httpx.Response:
    """`body` sent byte for byte as the JSON of a request (its escapes decoded by the
    server: "\\ud800" becomes a lone surrogate there)."""
    return (client or live.http).post(
        live.url,
        content=body.encode("ascii"),
        headers={**live.headers("editor"), "content-type": "application/json"},
    )


# Each: the raw JSON body of an attack, and the path its refusal names.
POISON = [
    # The reproduction: a lone surrogate in the literal, as the issue sent it.
    (
        r'{"query": "mutation { createPartner(input: {kind: COMPANY, name: \"Poison Co \ud800\"})'
        r' { partner { id } } }"}',
        None,  # the GraphQL lexer refuses it: a syntax error
    ),
    (
        json.dumps(
            {"query": CREATE, "variables": {"input": {"kind": "COMPANY", "name": "Poison \ud800"}}}
        ),
        "$input.name",
    ),
    (
        json.dumps(
            {
                "query": CREATE,
                "variables": {"input": {"kind": "COMPANY", "name": "ok", "notes": "a\x00b"}},
            }
        ),
        "$input.notes",
    ),
    (
        json.dumps(
            {
                "query": CREATE,
                "variables": {"input": {"kind": "COMPANY", "name": "ok", "tagIds": ["x\udfff"]}},
            }
        ),
        "$input.tagIds[0]",
    ),
    (
        json.dumps(
            {
                "query": 'mutation { createPartner(input: {kind: COMPANY, name: "a\\u0000b"}) '
                "{ partner { id } } }"
            }
        ),
        "createPartner(input.name)",
    ),
]


def _refused(response: httpx.Response, where: str | None) -> None:
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"], body
    if where is not None:
        assert body["errors"][0]["message"].startswith(where + " contains"), body


def test_poison_text_is_refused_and_ordinary_mutations_are_served_meanwhile(live: Live) -> None:
    before = event_count(live.db)
    for body, where in POISON:
        _refused(_raw(live, body), where)
    assert event_count(live.db) == before

    def ordinary(name: str) -> float:
        started = time.perf_counter()
        data = live.data(ORDINARY, {"name": name}, role="editor")
        elapsed = time.perf_counter() - started
        partner = data["createPartner"]["partner"]
        # Read-your-writes: projected by the time the mutation answered.
        assert live.data(READ, {"id": partner["id"]}, role="viewer")["partner"]["name"] == name
        return elapsed

    ordinary("First")
    per_partner = event_count(live.db) - before  # the events one ordinary mutation records
    alone = statistics.median(ordinary(f"Alone {i}") for i in range(5))
    stop = threading.Event()
    refusals: list[httpx.Response] = []

    def attack() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                for body, _ in POISON:
                    refusals.append(_raw(live, body, client))

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    try:
        during = statistics.median(ordinary(f"During {i}") for i in range(5))
    finally:
        stop.set()
        attacker.join(30)
    assert refusals
    for response in refusals:
        _refused(response, None)
    # Ordinary mutations are answered within their normal time (the machine is shared:
    # generous), never after a read-your-writes timeout.
    assert during < max(10 * alone, alone + 0.5), (alone, during)
    assert ordinary("After") < max(10 * alone, alone + 0.5)
    # Nothing recorded but the ordinary mutations' events.
    assert event_count(live.db) == before + 12 * per_partner


def test_a_nul_in_a_variable_names_where_it_is(client: TestClient, db: Database) -> None:
    before = event_count(db)
    query = """mutation($input: ImportPartnersInput!) { importPartners(input: $input) {
      created userErrors { code } } }"""
    response = client.post(
        "/graphql",
        content=json.dumps(
            {
                "query": query,
                "variables": {"input": {"rows": [{"name": "ok"}, {"tags": ["a", "b\ud800"]}]}},
            }
        ).encode(),
        headers={"content-type": "application/json"},
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["errors"][0]["message"].startswith("$input.rows[1].tags[1] contains a lone")
    assert "U+D800" in body["errors"][0]["message"]
    assert event_count(db) == before
    assert gql(client, "{ partners { totalCount } }")["partners"]["totalCount"] == 0


def _post_json(client: TestClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    return body
