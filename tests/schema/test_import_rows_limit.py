"""importPartners takes up to 1,000 rows however they are sent (the input as a variable,
the rows as a variable inside a literal input, a variable's default, a literal), past
the 100-item limit of every other list; more is a VALIDATION user error that imports
nothing, and more than 10,000 a LIMIT_EXCEEDED error (the rows are not converted). The
lists inside the rows, and every other list, keep the general limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql_raw

SELECTION = "{ created updated unchanged rejected { row } userErrors { field code message } }"
INPUT = "mutation($i: ImportPartnersInput!) { importPartners(input: $i) " + SELECTION + " }"
ROWS = "mutation($r: [PartnerImportRow!]!) { importPartners(input: {rows: $r}) " + SELECTION + " }"


def literal(rows: list[dict[str, Any]]) -> str:
    return "[" + " ".join("{name: " + json.dumps(row["name"]) + "}" for row in rows) + "]"


def send(client: TestClient, shape: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Posts `rows` the way `shape` says; the payload (there must be no top-level error)."""
    if shape == "input variable":
        body = gql_raw(client, INPUT, {"i": {"rows": rows}})
    elif shape == "rows variable":
        body = gql_raw(client, ROWS, {"r": rows})
    elif shape == "default":
        head = "mutation($r: [PartnerImportRow!]! = " + literal(rows) + ") "
        body = gql_raw(client, head + "{ importPartners(input: {rows: $r}) " + SELECTION + " }")
    else:
        query = (
            "mutation { importPartners(input: {rows: " + literal(rows) + "}) " + SELECTION + " }"
        )
        body = gql_raw(client, query)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["importPartners"]
    return result


SHAPES = ["input variable", "rows variable", "default", "literal"]


@pytest.mark.parametrize("shape", SHAPES)
def test_101_rows_import_and_1001_are_a_validation_error(
    client: TestClient, db: Database, shape: str
) -> None:
    rows = [{"name": f"P{i}"} for i in range(101)]
    done = send(client, shape, rows)
    assert (done["created"], done["rejected"], done["userErrors"]) == (101, [], [])
    events = event_count(db)
    many = [{"name": f"Q{i}"} for i in range(1001)]
    if shape in ("default", "literal"):
        # A document is held to PARTNERBOOK_MAX_TOKENS (5,000): 1,001 literal rows do not
        # fit; the limit that answers is the token one, not the list one.
        return
    refused = send(client, shape, many)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["rows"], "VALIDATION")]
    assert (refused["created"], refused["updated"], refused["unchanged"]) == (0, 0, 0)
    assert event_count(db) == events


def test_1000_rows_sent_as_a_variable_inside_the_input_import(client: TestClient) -> None:
    rows = [{"name": f"Row {i:04}", "isCompany": True} for i in range(1000)]
    done = send(client, "rows variable", rows)
    assert (done["created"], done["rejected"], done["userErrors"]) == (1000, [], [])


def test_other_lists_keep_the_general_limit(client: TestClient) -> None:
    tags = [f"t{i}" for i in range(101)]
    body = gql_raw(client, ROWS, {"r": [{"name": "Tagged", "tags": tags}]})
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "101" in body["errors"][0]["message"]
    ids = json.dumps(["UGFydG5lcjox"] * 101)
    query = "{ nodes(ids: " + ids + ") { id } }"
    body = gql_raw(client, query)
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


@pytest.mark.parametrize("shape", ["input variable", "rows variable"])
def test_past_10000_rows_the_list_limit_answers(client: TestClient, shape: str) -> None:
    refused = send(client, shape, [{} for _ in range(10_000)])
    assert [e["code"] for e in refused["userErrors"]] == ["VALIDATION"]
    rows: list[dict[str, Any]] = [{} for _ in range(10_001)]
    if shape == "input variable":
        body = gql_raw(client, INPUT, {"i": {"rows": rows}})
    else:
        body = gql_raw(client, ROWS, {"r": rows})
    assert body["errors"] == [
        {
            "message": "`Mutation.importPartners` got a list of 10001; at most 10000",
            "extensions": {"code": "LIMIT_EXCEEDED"},
        }
    ]
