"""Limits on one request: each refusal is a top-level LIMIT_EXCEEDED, nothing runs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse
from starlette.testclient import TestClient

from app.main import create_app
from app.schema.ids import to_global_id
from app.schema.limits import Walk, walk
from app.settings import Settings
from tests.conftest import event_count, gql, gql_raw

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } userErrors { code } } }"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


@pytest.fixture
def strict(settings: Settings, admin_key: str) -> Iterator[TestClient]:
    """A server with small limits."""
    small = settings.model_copy(
        update={"max_depth": 4, "max_aliases": 3, "max_tokens": 200, "introspection": False}
    )
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(small), headers=headers) as test_client:
        yield test_client


def test_depth(strict: TestClient) -> None:
    ok = "{ partners(first: 1) { nodes { parent { id } } } }"
    assert gql(strict, ok)["partners"]["nodes"] == []
    deep = "{ partners(first: 1) { nodes { parent { parent { parent { id } } } } } }"
    body = gql_raw(strict, deep)
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert "depth" in body["errors"][0]["message"]


def test_aliases(strict: TestClient) -> None:
    assert gql(strict, "{ a: __typename b: __typename c: __typename }")["c"] == "Query"
    body = gql_raw(strict, "{ a: __typename b: __typename c: __typename d: __typename }")
    assert codes(body) == ["LIMIT_EXCEEDED"]


def test_tokens(strict: TestClient) -> None:
    body = gql_raw(strict, "{ " + "__typename " * 300 + "}")
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert body.get("data") is None


def test_mutation_over_a_limit_records_nothing(strict: TestClient, db: Any) -> None:
    aliased = (
        "mutation { "
        + " ".join(
            f'a{i}: createPartner(input: {{kind: COMPANY, name: "P{i}"}}) {{ userErrors {{ code }} }}'
            for i in range(4)
        )
        + " }"
    )
    assert codes(gql_raw(strict, aliased)) == ["LIMIT_EXCEEDED"]
    assert event_count(db) == 0


def test_introspection_can_be_switched_off(client: TestClient, strict: TestClient) -> None:
    query = "{ __schema { queryType { name } } }"
    assert gql(client, query)["__schema"]["queryType"]["name"] == "Query"
    body = gql_raw(strict, query)
    assert body.get("errors") and body.get("data") is None
    assert set(codes(body)) == {"BAD_REQUEST"}


def test_page_size_over_100(client: TestClient) -> None:
    for arg in ("first: 101", "last: 101"):
        body = gql_raw(client, f"{{ partners({arg}) {{ totalCount }} }}")
        assert codes(body) == ["LIMIT_EXCEEDED"], arg


def test_cost_multiplies_page_sizes_along_the_path(client: TestClient) -> None:
    within = "{ partners(first: 100) { nodes { children(first: 99) { nodes { id } } } } }"
    assert gql(client, within)["partners"]["nodes"] == []
    over = "{ partners(first: 100) { nodes { children(first: 100) { nodes { id } } } } }"
    body = gql_raw(client, over)
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert "10100 nodes" in body["errors"][0]["message"]
    # Without `first` a connection counts 50; variables count as literals do.
    default = """query($n: Int) { partners(first: $n) { nodes {
      children { nodes { children { nodes { id } } } } } } }"""
    assert codes(gql_raw(client, default, {"n": 3})) == []
    assert codes(gql_raw(client, default, {"n": 4})) == ["LIMIT_EXCEEDED"]


def test_batch_sizes(client: TestClient) -> None:
    ids = [to_global_id("Partner", uuid.uuid4()) for _ in range(101)]
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert codes(gql_raw(client, nodes, {"ids": ids})) == ["LIMIT_EXCEEDED"]
    assert gql(client, nodes, {"ids": ids[:100]})["nodes"] == [None] * 100
    tags = "query($t: [ID!]) { partners(filter: {tagIds: $t}) { totalCount } }"
    tag_ids = [to_global_id("Tag", uuid.uuid4()) for _ in range(101)]
    body = gql_raw(client, tags, {"t": tag_ids})
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert "Query.partners" in body["errors"][0]["message"]


def test_request_body_size(client: TestClient) -> None:
    query = "{ __typename }" + " " * 1_000_001
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert codes(response.json()) == ["LIMIT_EXCEEDED"]
    chunked = client.post(
        "/graphql",
        content=iter([b'{"query": "{ __typename }', b" " * 1_000_001, b'"}']),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413
    assert gql(client, "{ __typename }") == {"__typename": "Query"}


def test_internal_errors_are_masked_with_the_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr("app.schema.partners.queries.partner_connection", boom)
    response = client.post(
        "/graphql",
        json={"query": "{ partners { totalCount } }"},
        headers={"x-request-id": "req-42"},
    )
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal error (request id req-42)"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "secret detail" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("req-42" in r.getMessage() and r.exc_info for r in logged)


def walked(query: str, variables: dict[str, Any] | None = None) -> Walk:
    from app.schema.schema import build_schema

    result = walk(build_schema()._schema, parse(query), None, variables, 50)
    assert result is not None
    return result


def test_a_fragment_counts_as_if_written_out_at_each_spread() -> None:
    spread = walked(
        """{ ...P ...P } fragment P on Query { a: partners(first: 2) { nodes { ...N } } }
        fragment N on Partner { b: id parent { id } }"""
    )
    written = walked(
        """{ a: partners(first: 2) { nodes { b: id parent { id } } }
        a: partners(first: 2) { nodes { b: id parent { id } } } }"""
    )
    for name in ("depth", "aliases", "selections", "cost"):
        assert getattr(spread, name) == getattr(written, name), name
    assert (spread.depth, spread.aliases, spread.cost) == (3, 4, 4)


def test_filter_leaves_and_nesting_count_literals_and_variables_alike() -> None:
    literal = walked(
        """{ partners(first: 10) { nodes { activities(filter: {states: [OPEN, DONE]}) {
        totalCount } } } o: partners(filter: {or: [{isCustomer: true}, {not: {tagIds: ["a", "b"]}}]}) {
        totalCount } }"""
    )
    assert literal.filter_nesting == (2, "Query.partners")
    assert literal.filter_leaves == (3, "Query.partners")
    assert literal.leaves == 10 * 2 + 3  # the activities filter runs once per partner
    variables = walked(
        "query($f: PartnerFilter) { partners(filter: {and: [$f, $f]}) { totalCount } }",
        {"f": {"or": [{"isCustomer": True}, {"not": {"tagIds": ["a", "b"]}}]}},
    )
    assert variables.filter_nesting == (3, "Query.partners")
    assert variables.filter_leaves == (6, "Query.partners")


def test_cyclic_and_unused_fragments_end_the_walk() -> None:
    result = walked("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A __typename }")
    assert result.selections == 1
    unused = "{ __typename } " + " ".join(
        f"fragment U{i} on Query {{ ...U{i + 1} ...U{i + 1} }}" for i in range(40)
    )
    assert walked(unused + " fragment U40 on Query { __typename }").selections == 2**40


FILTERED = (
    "query($f: PartnerFilter, $n: Int) { partners(filter: $f, first: $n) "
    "{ totalCount nodes { name } } }"
)


def test_variables_are_coerced_once_and_wrong_ones_still_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CheckVariables' coercion is the one the executor runs on (app/schema/variables.py),
    each request its own; variables that do not coerce are refused."""
    from graphql.utilities.coerce_input_value import coerce_input_value

    from tests.schema.partner_ops import create

    create(client, kind="COMPANY", name="Azure Interior", countryCode="BE")
    coercions: list[object] = []
    real = coerce_input_value

    def counted(*args: Any, **kwargs: Any) -> Any:
        coercions.append(args[0])
        return real(*args, **kwargs)

    # graphql-core coerces each variable through this, once per coercion of them all.
    monkeypatch.setattr("graphql.execution.values.coerce_input_value", counted)
    nested = {"or": [{"countryCode": "BE"}, {"countryCode": "FR", "isCustomer": True}]}
    data = gql(client, FILTERED, {"f": nested, "n": 5})
    assert data["partners"] == {"totalCount": 1, "nodes": [{"name": "Azure Interior"}]}
    assert len(coercions) == 2  # $f and $n, once

    for country, total in (("BE", 1), ("FR", 0), ("BE", 1)):
        data = gql(client, FILTERED, {"f": {"countryCode": country}, "n": 5})
        assert data["partners"]["totalCount"] == total
    assert len(coercions) == 8

    refused = gql_raw(client, FILTERED, {"f": {"countryCode": "BE"}, "n": "five"})
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["BAD_REQUEST"]
    assert "data" not in refused or refused["data"] is None
