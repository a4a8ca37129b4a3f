"""partnerCounts: partners counted by groups, from the cube or over the rows, bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import create

COUNTS = """query($groupBy: [PartnerCountDimension!]!, $filter: PartnerFilter, $limit: Int) {
  partnerCounts(groupBy: $groupBy, filter: $filter, limit: $limit) {
    groups { createdMonth countryCode kind isCustomer isSupplier lang stateCode industryId
             salespersonId count }
    truncated } }"""


def counts(client: TestClient, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = gql(client, COUNTS, variables)["partnerCounts"]
    return found


def group(**values: Any) -> dict[str, Any]:
    keys = [
        "createdMonth",
        "countryCode",
        "kind",
        "isCustomer",
        "isSupplier",
        "lang",
        "stateCode",
        "industryId",
        "salespersonId",
    ]
    return {**dict.fromkeys(keys), **values}


def test_new_customers_per_month_by_country(client: TestClient) -> None:
    for name, country, customer in (
        ("A", "BE", True),
        ("B", "BE", True),
        ("C", "FR", True),
        ("D", "FR", False),
        ("E", None, True),
    ):
        create(client, kind="COMPANY", name=name, countryCode=country, isCustomer=customer)
    month = datetime.now(UTC).strftime("%Y-%m-01")
    by = ["CREATED_MONTH", "COUNTRY"]
    expected: dict[str, Any] = {
        "groups": [
            group(createdMonth=month, countryCode="BE", count=2),
            group(createdMonth=month, countryCode="FR", count=1),
            group(createdMonth=month, count=1),
        ],
        "truncated": False,
    }
    assert counts(client, groupBy=by, filter={"isCustomer": True}) == expected
    # A filter the cube cannot answer (a date) is grouped over the rows: the same groups.
    rows = {"isCustomer": True, "createdAfter": "2000-01-01T00:00:00Z"}
    assert counts(client, groupBy=by, filter=rows) == expected
    assert counts(client, groupBy=by, filter={"isCustomer": True}, limit=2) == {
        "groups": expected["groups"][:2],
        "truncated": True,
    }
    assert counts(client, groupBy=["IS_CUSTOMER", "KIND"])["groups"] == [
        group(isCustomer=False, kind="COMPANY", count=1),
        group(isCustomer=True, kind="COMPANY", count=4),
    ]


def test_group_by_and_limit_are_bounded(client: TestClient) -> None:
    for variables, code in (
        ({"groupBy": []}, "BAD_REQUEST"),
        ({"groupBy": ["COUNTRY", "COUNTRY"]}, "BAD_REQUEST"),
        ({"groupBy": ["COUNTRY", "KIND", "LANG", "STATE", "INDUSTRY"]}, "BAD_REQUEST"),
        ({"groupBy": ["COUNTRY"], "limit": 0}, "LIMIT_EXCEEDED"),
        ({"groupBy": ["COUNTRY"], "limit": 10_001}, "LIMIT_EXCEEDED"),
    ):
        body = gql_raw(client, COUNTS, variables)
        assert body["data"] is None, variables
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], variables
