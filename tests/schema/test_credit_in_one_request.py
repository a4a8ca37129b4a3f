"""The CREDIT_LIMIT warning of a document mutation that follows another in the same request
(issue 18, part 3), through HTTP. The request's loaders keep what they read: the second
sale order was checked against the exposure before the first, and a contact reparented
earlier in the request against its former commercial partner."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.catalog_ops import set_terms
from tests.schema.partner_ops import create

TWO_ORDERS = """mutation($p: ID!) {
  a: recordDocument(input: {partnerId: $p, module: SALES, kind: SALE_ORDER, reference: "S-A",
    date: "2026-12-01", amount: "600", currency: "USD", status: CONFIRMED}) {
    userErrors { code } warnings { code message } }
  b: recordDocument(input: {partnerId: $p, module: SALES, kind: SALE_ORDER, reference: "S-B",
    date: "2026-12-01", amount: "400", currency: "USD", status: CONFIRMED}) {
    userErrors { code } warnings { code message } }
  c: recordDocument(input: {partnerId: $p, module: ACCOUNTING, kind: INVOICE, reference: "I-C",
    date: "2026-12-01", amount: "0.01", currency: "USD", status: OPEN}) {
    userErrors { code } warnings { code message } }
}"""
TWO_UPDATES = """mutation($d: ID!) {
  a: updateDocument(input: {id: $d, amount: "900"}) { userErrors { code } warnings { code } }
  b: updateDocument(input: {id: $d, amount: "1001"}) { userErrors { code } warnings { code } }
}"""
RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  document { id } userErrors { code } warnings { code } } }"""
REPARENTED = """mutation($brandon: ID!, $azure: ID!) {
  q: recordDocument(input: {partnerId: $brandon, module: SALES, kind: SALE_ORDER,
    reference: "S-Q", date: "2026-12-01", amount: "1", currency: "EUR"}) {
    userErrors { code } warnings { code } }
  moved: updatePartner(input: {id: $brandon, parentId: $azure}) { userErrors { code } }
  s: recordDocument(input: {partnerId: $brandon, module: SALES, kind: SALE_ORDER,
    reference: "S-S", date: "2026-12-01", amount: "0.01", currency: "USD", status: CONFIRMED}) {
    userErrors { code } warnings { code } }
}"""
EXPOSURE = """query($id: ID!) { partner(id: $id) { credit { exposure { amount } exceeded } } }"""


@pytest.fixture
def azure(client: TestClient) -> dict[str, Any]:
    company = create(client, kind="COMPANY", name="Azure Interior")
    limit = {"amount": "1000", "currency": "USD"}
    assert set_terms(client, id=company["id"], creditLimit=limit)["userErrors"] == []
    return company


def codes(payload: dict[str, Any]) -> list[str]:
    assert payload["userErrors"] == [], payload
    return [warning["code"] for warning in payload["warnings"]]


def test_each_document_of_a_request_is_checked_against_the_exposure_before_it(
    client: TestClient, azure: dict[str, Any]
) -> None:
    found = gql(client, TWO_ORDERS, {"p": azure["id"]})
    # 600, then 1000 (equal to the limit: fine), then 1000.01: one cent over warns.
    assert [codes(found[alias]) for alias in "abc"] == [[], [], ["CREDIT_LIMIT"]]
    assert (
        "to 1000.01 USD, over its credit limit of 1000.00 USD by 0.01 USD"
        in (found["c"]["warnings"][0]["message"])
    )
    credit = gql(client, EXPOSURE, {"id": azure["id"]})["partner"]["credit"]
    assert credit == {"exposure": {"amount": "1000.01"}, "exceeded": True}


def test_the_second_update_of_a_request_warns(client: TestClient, azure: dict[str, Any]) -> None:
    values = {
        "partnerId": azure["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "INV/1",
        "date": "2026-12-01",
        "amount": "500",
        "currency": "USD",
        "status": "OPEN",
    }
    invoice = gql(client, RECORD, {"input": values})["recordDocument"]
    assert codes(invoice) == []

    found = gql(client, TWO_UPDATES, {"d": invoice["document"]["id"]})
    assert (codes(found["a"]), codes(found["b"])) == ([], ["CREDIT_LIMIT"])


def test_a_contact_reparented_earlier_in_the_request_counts_for_its_new_company(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman")
    values = {
        "partnerId": azure["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "INV/1",
        "date": "2026-12-01",
        "amount": "1000",
        "currency": "USD",
        "status": "OPEN",
    }
    assert codes(gql(client, RECORD, {"input": values})["recordDocument"]) == []

    found = gql(client, REPARENTED, {"brandon": brandon["id"], "azure": azure["id"]})
    assert found["moved"]["userErrors"] == []
    assert (codes(found["q"]), codes(found["s"])) == ([], ["CREDIT_LIMIT"])
