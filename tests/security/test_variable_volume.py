"""Variables are coerced to their declared types before any limit on lists is checked,
and coercion fills every field an input object leaves out: a 1 MB body of 330,000 empty
`PartnerFilter`s in one `or` held the event loop (every request) for 5.5 s. Variables are
now counted first: past 60,000 values or 12,000 input objects, LIMIT_EXCEEDED, nothing
coerced."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.schema import variables as variables_module
from app.schema.variables import MAX_OBJECTS, MAX_VALUES, over_limit
from tests.conftest import gql_raw
from tests.security.conftest import Live

PAGE = "query($l: [PartnerFilter!]) { partners(filter: {or: $l}) { totalCount } }"
BULK = """mutation($ids: [ID!]!) { bulkUpdatePartners(input: {ids: $ids,
  changes: {isCustomer: true}}) { matched } }"""


def _codes(live: Live, query: str, variables: dict[str, Any], role: str) -> list[str]:
    response = live.post(query, variables, role=role)
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


def test_variables_past_their_volume_are_refused_before_coercion(live: Live) -> None:
    assert _codes(live, PAGE, {"l": [{}] * (MAX_OBJECTS + 1)}, "viewer") == ["LIMIT_EXCEEDED"]
    assert _codes(live, PAGE, {"l": [{}] * 100_000}, "viewer") == ["LIMIT_EXCEEDED"]
    ids = ["UGFydG5lcjox"] * (MAX_VALUES + 1)
    assert _codes(live, BULK, {"ids": ids}, "editor") == ["LIMIT_EXCEEDED"]
    # Within the volume, the limits walk still refuses a list over 100 items.
    assert _codes(live, PAGE, {"l": [{}] * 101}, "viewer") == ["LIMIT_EXCEEDED"]
    assert _codes(live, PAGE, {"l": [{}] * 2}, "viewer") == []


@pytest.mark.parametrize(
    ("variables", "over"),
    [
        ({"l": [{}] * MAX_OBJECTS}, False),
        ({"l": [{}] * (MAX_OBJECTS + 1)}, True),
        ({"l": [1] * (MAX_VALUES - 2)}, False),
        ({"l": [[1]] * MAX_VALUES}, True),
        ({"deep": {"a": {"b": {"c": [None] * 10}}}}, False),
    ],
)
def test_the_count_stops_at_the_limits(variables: dict[str, Any], over: bool) -> None:
    assert (over_limit(variables) is not None) is over


def test_nothing_is_coerced_past_the_volume(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack's cost was the coercion: it must not run at all."""
    coerced: list[int] = []
    real = variables_module.get_variable_values  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        coerced.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(variables_module, "get_variable_values", counting)
    body = gql_raw(client, PAGE, {"l": [{}] * 100_000})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert coerced == []
    assert gql_raw(client, PAGE, {"l": [{}] * 2}).get("errors") is None
    assert coerced  # an ordinary request is coerced as before
