"""A cursor is the client's to send back, so it is input like any other: whatever it
decodes to (JSON nested past the decoder's recursion limit, text PostgreSQL cannot
hold, values of the wrong type, far more than any list issues), every keyset list
answers BAD_REQUEST, never INTERNAL, and nothing is logged with a traceback."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import create

ZERO = "00000000-0000-0000-0000-000000000000"
PAGE = "first: 2, after: $after) { pageInfo { endCursor } }"
LISTS: dict[str, str] = {
    "partners": f"query($after: String) {{ partners({PAGE} }}",
    "tags": f"query($after: String) {{ tags({PAGE} }}",
    "industries": f"query($after: String) {{ industries({PAGE} }}",
    "segments": f"query($after: String) {{ segments({PAGE} }}",
    "activities": f"query($after: String) {{ activities({PAGE} }}",
    "documents": f"query($after: String) {{ documents({PAGE} }}",
    "notes": f"query($id: ID!, $after: String) {{ notes(partnerId: $id, {PAGE} }}",
    "timeline": f"query($id: ID!, $after: String) {{ partner(id: $id) {{ timeline({PAGE} }} }}",
    "children": f"query($id: ID!, $after: String) {{ partner(id: $id) {{ children({PAGE} }} }}",
    "partners before": "query($after: String) { partners(last: 2, before: $after) "
    "{ pageInfo { startCursor } } }",
}
SHAPES: dict[str, list[Any]] = {
    "partners": [["NAME"], ["acme"], ZERO],
    "tags": ["name", "acme", ZERO],
    "industries": ["name", "acme", ZERO],
    "segments": ["name", "acme", ZERO],
    "activities": ["2026-01-01", ZERO],
    "documents": ["2026-01-01", ZERO],
    "notes": ["2026-01-01T00:00:00+00:00", ZERO],
    "timeline": [1],
    "children": [["NAME"], ["acme"], ZERO],
    "partners before": [["NAME"], ["acme"], ZERO],
}
"""What each list's cursors hold, with values of the right type."""

POISONS: dict[str, Any] = {
    "NUL": "a\x00b",
    "lone surrogate": "a\ud800b",
    "number": 5,
    "boolean": True,
    "float": 1.5,
    "null": None,
    "list": ["a"],
    "object": {"a": 1},
    "huge number": 10**40,
    "long text": "a" * 100_000,
}


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _poisoned(shape: list[Any]) -> list[tuple[str, Any]]:
    """The shape with each of its values (inner lists' items too) replaced by each poison
    (but a number where a number belongs: a position)."""
    found: list[tuple[str, Any]] = []
    for i, value in enumerate(shape):
        slots = [(i, j) for j in range(len(value))] if isinstance(value, list) else [(i, None)]
        for slot, inner in slots:
            for name, poison in POISONS.items():
                if name == "number" and isinstance(value, int):
                    continue
                copy = json.loads(json.dumps(shape))
                if inner is None:
                    copy[slot] = poison
                else:
                    copy[slot][inner] = poison
                found.append((f"{name} at {slot}/{inner}", _cursor(copy)))
    return found


MALFORMED: dict[str, str] = {
    "nested arrays": _raw("[" * 1000 + "]" * 1000),
    "nested objects": _raw('{"a":' * 1000 + "1" + "}" * 1000),
    "nested deeper": _raw("[" * 100_000 + "]" * 100_000),
    "not base64": "not-a-cursor!",
    "not JSON": _raw("hello"),
    "not UTF-8": base64.urlsafe_b64encode(b"\xff\xfe[1]").decode(),
    "JSON string": _cursor("name"),
    "JSON object": _cursor({"name": "acme"}),
    "JSON null": _cursor(None),
    "empty list": _cursor([]),
    "too many values": _cursor(["name", "acme", ZERO, ZERO]),
    "far too long": "A" * 400_000,
}


@pytest.fixture
def partner_id(client: TestClient) -> str:
    ident: str = create(client, kind="COMPANY", name="Acme")["id"]
    return ident


def _refused(client: TestClient, query: str, variables: dict[str, Any], case: str) -> None:
    body = gql_raw(client, query, variables)
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    assert codes == ["BAD_REQUEST"], (case, body)


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert logged == [], [r.getMessage() for r in logged]


@pytest.mark.parametrize("field", LISTS)
def test_a_malformed_cursor_is_a_bad_request(
    client: TestClient, partner_id: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    for case, cursor in MALFORMED.items():
        _refused(client, LISTS[field], {"id": partner_id, "after": cursor}, case)
    _no_traceback(caplog)


@pytest.mark.parametrize("field", LISTS)
def test_a_cursor_of_the_right_shape_with_a_poisoned_value_is_a_bad_request(
    client: TestClient, partner_id: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    for case, cursor in _poisoned(SHAPES[field]):
        _refused(client, LISTS[field], {"id": partner_id, "after": cursor}, case)
    _no_traceback(caplog)


def test_a_notes_cursor_with_a_number_for_its_id_is_a_bad_request(
    client: TestClient, partner_id: str
) -> None:
    cursor = _cursor(["2026-01-01T00:00:00+00:00", 5])
    _refused(client, LISTS["notes"], {"id": partner_id, "after": cursor}, "number id")


@pytest.mark.parametrize("field", LISTS)
def test_the_well_formed_shape_reads_a_page(
    client: TestClient, partner_id: str, field: str
) -> None:
    """The shapes the attacks poison are cursors the lists accept: a refusal above is
    the poison's, not the shape's."""
    body = gql_raw(client, LISTS[field], {"id": partner_id, "after": _cursor(SHAPES[field])})
    assert "errors" not in body, body


def test_the_longest_cursors_the_lists_issue_are_still_read(client: TestClient) -> None:
    """Names of the most characters, each outside the BMP (CJK: unaccent() keeps them), in
    cursors written as now (orjson) and as an earlier release wrote them (json.dumps, every
    one escaped)."""
    for name in ("\U00020000" * 100, "\U00020001" * 100):
        made = gql(
            client,
            "mutation($n: String!) { createTag(input: {name: $n}) { userErrors { code } } }",
            {"n": name},
        )
        assert made["createTag"]["userErrors"] == [], made
    company = create(client, kind="COMPANY", name="\U00020000" * 500)
    create(client, kind="PERSON", name="\U00020001" * 500, parentId=company["id"])
    create(client, kind="PERSON", name="\U00020002" * 500, parentId=company["id"])
    tags = "query($after: String) { tags(first: 1, after: $after) { pageInfo { endCursor } } }"
    people = (
        "query($after: String) { partners(first: 1, after: $after, filter: {kind: PERSON}, "
        "orderBy: [{field: DISPLAY_NAME}, {field: NAME}]) { pageInfo { endCursor } } }"
    )
    for query, field in ((tags, "tags"), (people, "partners")):
        body = gql_raw(client, query)
        cursor = body["data"][field]["pageInfo"]["endCursor"]
        earlier = _cursor(json.loads(base64.urlsafe_b64decode(cursor)))
        assert len(earlier) > (20_000 if field == "partners" else 1_600)
        for after in (cursor, earlier):
            page = gql_raw(client, query, {"after": after})
            assert "errors" not in page, page
            assert page["data"][field]["pageInfo"]["endCursor"] is not None, page
