"""GraphQL over HTTP as its draft specification asks: the answer's media type follows the
client's `Accept`, `application/graphql-response+json` gives a request that did not run a
4xx and no `data`, `application/json` keeps 200 for every GraphQL response, GET runs
queries only, and no cache may keep an answer."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.schema.http import StrictGraphQL
from app.schema.schema import build_schema
from tests.conftest import as_key, event_count, key_for

GRAPHQL_RESPONSE = "application/graphql-response+json"
COUNT = "{ partners(first: 5) { totalCount } }"
CREATE = """mutation { createPartner(input: {kind: COMPANY, name: "Gemini Furniture"}) {
  partner { id } userErrors { code } } }"""


def post(
    client: TestClient, body: dict[str, Any], accept: str | None = GRAPHQL_RESPONSE
) -> httpx.Response:
    headers = {"accept": accept} if accept is not None else {}
    return client.post("/graphql", json=body, headers=headers)


def test_a_client_that_prefers_the_graphql_media_type_gets_it(client: TestClient) -> None:
    answer = post(client, {"query": COUNT})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert answer.json() == {"data": {"partners": {"totalCount": 0}}}


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", "application/json"),
        (f"{GRAPHQL_RESPONSE}, */*", GRAPHQL_RESPONSE),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
        (None, "application/json"),  # legacy clients: the server's choice, as before
    ],
)
def test_the_accept_header_chooses_the_media_type(
    client: TestClient, accept: str | None, media: str
) -> None:
    if accept is None:
        client.headers.pop("accept", None)
    answer = post(client, {"query": "{ __typename }"}, accept)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == f"{media}; charset=utf-8"


@pytest.mark.parametrize(
    "accept", ["text/html", "text/plain", f"{GRAPHQL_RESPONSE}; charset=latin-1", "image/*"]
)
def test_an_accept_header_naming_no_type_we_serve_is_refused(
    client: TestClient, accept: str
) -> None:
    answer = post(client, {"query": "{ __typename }"}, accept)
    assert answer.status_code == 406
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "{"}, "Syntax Error"),
        ({"query": "{ noSuchField }"}, "Cannot query field"),
        ({"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": None}}, "$id"),
        (
            {
                "query": "query($n: Int) { partners(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "$n",
        ),
        ({"query": "query A { __typename } query B { __typename }"}, "operation name"),
        (
            {"query": "query A { __typename }", "operationName": "B"},
            "B",
        ),
    ],
    ids=[
        "does not parse",
        "does not validate",
        "null for ID!",
        "text for Int",
        "which one",
        "no such one",
    ],
)
def test_a_document_that_cannot_run_is_a_400_without_data(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    answer = post(client, body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    result = answer.json()
    assert "data" not in result
    assert message in result["errors"][0]["message"]
    assert result["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # application/json keeps its legacy answer: 200, `data: null`.
    legacy = post(client, body, "application/json")
    assert legacy.status_code == 200
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_refusals_get_the_status_of_their_code(client: TestClient, db: Database) -> None:
    as_key(client, None)
    unauthenticated = post(client, {"query": COUNT})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in unauthenticated.json()
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    as_key(client, key_for(db, "viewer"))
    forbidden = post(client, {"query": CREATE})
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    costly = "{ partners(first: 100) { nodes { children(first: 100) { totalCount } } } }"
    over = post(client, {"query": costly})
    assert over.status_code == 400
    assert over.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert event_count(db) == 0


def test_an_operation_that_ran_is_200_with_its_field_errors(client: TestClient) -> None:
    query = '{ partnerAsOf(id: "not-an-id", version: 1) { name } __typename }'
    answer = post(client, {"query": query})
    assert answer.status_code == 200
    result = answer.json()
    assert result["data"] == {"partnerAsOf": None, "__typename": "Query"}
    assert result["errors"][0]["path"] == ["partnerAsOf"]
    assert result["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_get_runs_queries_with_their_variables(client: TestClient) -> None:
    answer = client.get(
        "/graphql",
        params={
            "query": "query Count($n: Int) { partners(first: $n) { totalCount } }",
            "variables": '{"n": 3}',
            "operationName": "Count",
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert answer.status_code == 200
    assert answer.json() == {"data": {"partners": {"totalCount": 0}}}


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
def test_get_never_runs_a_mutation(client: TestClient, db: Database, accept: str) -> None:
    answer = client.get("/graphql", params={"query": CREATE}, headers={"accept": accept})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert event_count(db) == 0
    assert post(client, {"query": CREATE}).status_code == 200  # the same, with POST


def test_a_subscription_over_plain_http_is_told_to_use_a_websocket(client: TestClient) -> None:
    answer = post(client, {"query": "subscription { partnerChanged { eventType } }"})
    assert answer.status_code == 400
    assert "WebSocket" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_cache_may_keep_an_answer(client: TestClient, method: str) -> None:
    if method == "GET":
        answer = client.get("/graphql", params={"query": COUNT})
    else:
        answer = post(client, {"query": "{"})
    assert answer.headers["cache-control"] == "private, no-store"
    assert {v.strip() for v in answer.headers["vary"].split(",")} >= {"Authorization", "Accept"}


def test_graphiql_is_still_served_to_a_browser(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_answers_are_encoded_even_where_the_fast_encoder_refuses() -> None:
    """orjson encodes answers; what it refuses (an integer beyond 64 bits, a lone
    surrogate in a string) is still encoded, by json.dumps, rather than failing."""
    view = StrictGraphQL(build_schema())
    page = {"data": {"partners": [{"name": "Ünïcode ✓", "n": 1, "ok": True, "x": None}]}}
    assert json.loads(view.encode_json(page)) == page
    assert view.encode_json({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert json.loads(view.encode_json({"s": "a\ud800b"})) == {"s": "a\ud800b"}
