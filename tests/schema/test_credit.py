"""Credit (issue 18, part 3), through HTTP: a commercial partner's exposure against its
credit limit, the CREDIT_LIMIT warning of a sale order or invoice that takes it over
(recorded all the same), and the `creditExceeded` filter."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.catalog_ops import set_terms
from tests.schema.partner_ops import create

RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  document { id kind status amount } userErrors { field code message }
  warnings { field code message } } }"""
UPDATE = """mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) {
  document { id status amount } userErrors { field code message }
  warnings { field code message } } }"""
CREDIT = """query($id: ID!) { partner(id: $id) { credit {
  limit { amount currency } exposure { amount currency } available { amount currency }
  exceeded } } }"""
NAMES = """query($f: PartnerFilter) { partners(filter: $f, orderBy: [{field: NAME}]) {
  nodes { name } } }"""
MODULES = {"SALE_ORDER": "SALES", "QUOTATION": "SALES"}


def record(client: TestClient, partner: dict[str, Any], kind: str, ref: str, **more: Any) -> Any:
    values = {
        "partnerId": partner["id"],
        "module": MODULES.get(kind, "ACCOUNTING"),
        "kind": kind,
        "reference": ref,
        "date": "2026-11-20",
        "currency": "EUR",
        **more,
    }
    result = gql(client, RECORD, {"input": values})["recordDocument"]
    assert result["userErrors"] == [], result["userErrors"]
    assert result["document"] is not None
    return result


def update(client: TestClient, document: dict[str, Any], **changes: Any) -> Any:
    result = gql(client, UPDATE, {"input": {"id": document["id"], **changes}})["updateDocument"]
    assert result["userErrors"] == [], result["userErrors"]
    return result


def credit(client: TestClient, partner: dict[str, Any]) -> Any:
    return gql(client, CREDIT, {"id": partner["id"]})["partner"]["credit"]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def codes(result: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in result["warnings"]]


@pytest.fixture
def azure(client: TestClient) -> dict[str, Any]:
    company = create(client, kind="COMPANY", name="Azure Interior")
    limit = {"amount": "1000", "currency": "EUR"}
    assert set_terms(client, id=company["id"], creditLimit=limit)["userErrors"] == []
    return company


def test_equal_to_the_limit_is_fine_one_cent_over_warns_and_is_recorded(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    invoice = record(client, azure, "INVOICE", "INV/1", amount="400", status="OPEN")
    assert invoice["warnings"] == []
    order = record(client, brandon, "SALE_ORDER", "S1", amount="600", status="CONFIRMED")
    assert order["warnings"] == []
    assert credit(client, azure) == {
        "limit": eur("1000.00"),
        "exposure": eur("1000.00"),
        "available": eur("0.00"),
        "exceeded": False,
    }

    over = record(client, brandon, "INVOICE", "INV/2", amount="0.01", status="OPEN")
    assert over["document"]["amount"] == "0.01"  # recorded: a warning, not a refusal
    assert over["userErrors"] == []
    assert over["warnings"] == [
        {
            "field": None,
            "code": "CREDIT_LIMIT",
            "message": "this invoice takes the partner's credit exposure to 1000.01 EUR, "
            "over its credit limit of 1000.00 EUR by 0.01 EUR",
        }
    ]
    assert credit(client, azure) == {
        "limit": eur("1000.00"),
        "exposure": eur("1000.01"),
        "available": eur("-0.01"),
        "exceeded": True,
    }


def test_a_draft_order_warns_of_what_confirming_it_would_do(
    client: TestClient, azure: dict[str, Any]
) -> None:
    record(client, azure, "INVOICE", "INV/1", amount="900", status="OPEN")
    at_limit = record(client, azure, "SALE_ORDER", "S1", amount="100")  # DRAFT by default
    assert (at_limit["document"]["status"], at_limit["warnings"]) == ("DRAFT", [])
    draft = record(client, azure, "SALE_ORDER", "S2", amount="100.01")
    assert codes(draft) == ["CREDIT_LIMIT"]
    assert (
        "would take the partner's credit exposure to 1000.01 EUR"
        in (draft["warnings"][0]["message"])
    )
    assert credit(client, azure)["exposure"] == eur("900.00")  # drafts do not count

    confirmed = update(client, draft["document"], status="CONFIRMED")
    assert codes(confirmed) == ["CREDIT_LIMIT"]
    assert credit(client, azure)["exposure"] == eur("1000.01")


def test_only_changes_that_raise_the_exposure_warn(
    client: TestClient, azure: dict[str, Any]
) -> None:
    invoice = record(client, azure, "INVOICE", "INV/1", amount="1200", status="OPEN")
    assert codes(invoice) == ["CREDIT_LIMIT"]
    paid = update(client, invoice["document"], status="PARTIALLY_PAID", amountPaid="100")
    assert paid["warnings"] == []  # paying lowers the exposure, even while over the limit
    raised = update(client, invoice["document"], amount="1300")
    assert codes(raised) == ["CREDIT_LIMIT"]
    assert update(client, invoice["document"], status="CANCELLED")["warnings"] == []
    # Other kinds and other currencies never warn.
    assert record(client, azure, "QUOTATION", "Q1", amount="5000")["warnings"] == []
    assert (
        record(client, azure, "SALE_ORDER", "S9", amount="5000", currency="USD")["warnings"] == []
    )


def test_exposure_nets_credit_notes_and_counts_what_is_not_yet_invoiced(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    record(client, azure, "INVOICE", "I1", amount="500", status="PARTIALLY_PAID", amountPaid="200")
    record(client, brandon, "INVOICE", "I2", amount="100", status="OPEN")
    record(client, azure, "INVOICE", "I3", amount="70", status="PAID")
    record(client, azure, "INVOICE", "I4", amount="60", status="DRAFT")
    record(client, azure, "INVOICE", "I5", amount="50", status="CANCELLED")
    record(client, azure, "CREDIT_NOTE", "R1", amount="40", status="OPEN")
    record(client, azure, "CREDIT_NOTE", "R2", amount="30", status="PAID")
    record(client, brandon, "SALE_ORDER", "S1", amount="250", status="CONFIRMED")
    record(client, azure, "SALE_ORDER", "S2", amount="900", status="DONE")
    record(client, azure, "SALE_ORDER", "S3", amount="800", status="DRAFT")
    record(client, azure, "INVOICE", "I6", amount="999", status="OPEN", currency="USD")
    # 300 + 100 - 40 + 250: the rest is paid, invoiced, a draft, cancelled, or in USD.
    assert credit(client, azure) == {
        "limit": eur("1000.00"),
        "exposure": eur("610.00"),
        "available": eur("390.00"),
        "exceeded": False,
    }


def test_only_a_commercial_partner_with_a_limit_has_a_credit(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    wood = create(client, kind="COMPANY", name="Wood Corner")
    record(client, wood, "INVOICE", "I1", amount="5000", status="OPEN")
    assert credit(client, brandon) is None  # ask its company
    assert credit(client, wood) is None
    assert credit(client, azure)["exposure"] == eur("0.00")


def test_the_credit_exceeded_filter(client: TestClient, azure: dict[str, Any]) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    wood = create(client, kind="COMPANY", name="Wood Corner")
    limit = {"amount": "10", "currency": "EUR"}
    assert set_terms(client, id=wood["id"], creditLimit=limit)["userErrors"] == []
    create(client, kind="COMPANY", name="Zeta (no limit)")
    record(client, brandon, "INVOICE", "I1", amount="1000", status="OPEN")
    record(client, wood, "INVOICE", "I2", amount="10", status="OPEN")

    def names(**f: Any) -> list[str]:
        return [node["name"] for node in gql(client, NAMES, {"f": f})["partners"]["nodes"]]

    assert names(creditExceeded=True) == []
    record(client, brandon, "SALE_ORDER", "S1", amount="0.01", status="CONFIRMED")
    assert names(creditExceeded=True) == ["Azure Interior"]
    assert names(creditExceeded=False) == ["Brandon Freeman", "Wood Corner", "Zeta (no limit)"]
    assert names(**{"or": [{"creditExceeded": True}, {"kind": "PERSON"}]}) == [
        "Azure Interior",
        "Brandon Freeman",
    ]
