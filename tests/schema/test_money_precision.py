"""Money finer than what can be paid, through HTTP: an amount below its currency's smallest
unit (0.5 JPY) wherever the currency is known, and a FIXED payment-term line with an
early-payment discount, which Odoo refuses too ("You can't mix fixed amount with early
payment percentage"). Both were accepted."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import DELIVERY_METHOD, PAYMENT_TERM, create_entry, refused, run
from tests.schema.partner_ops import create

ERRORS = "userErrors { field code message }"
RECORD = f"""mutation($input: RecordDocumentInput!) {{ recordDocument(input: $input) {{
  document {{ id amount amountPaid }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdateDocumentInput!) {{ updateDocument(input: $input) {{
  document {{ id amountPaid }} {ERRORS} }} }}"""
TERMS = f"""mutation($input: SetCommercialTermsInput!) {{ setCommercialTerms(input: $input) {{
  partner {{ id }} {ERRORS} }} }}"""
CREATE_OPPORTUNITY = f"""mutation($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{ opportunity {{ id }} {ERRORS} }} }}"""
UPDATE_OPPORTUNITY = f"""mutation($input: UpdateOpportunityInput!) {{
  updateOpportunity(input: $input) {{ opportunity {{ id }} {ERRORS} }} }}"""


def errors(payload: dict[str, Any]) -> list[tuple[list[str] | None, str, str]]:
    return [(e["field"], e["code"], e["message"]) for e in payload["userErrors"]]


def jpy(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "JPY"}


def invoice_values(partner: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "partnerId": partner["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "INV/1",
        "date": "2026-12-01",
        "amount": "100",
        "currency": "JPY",
        **more,
    }


FINER = "0.5 is finer than JPY's smallest unit, 1"


def test_an_amount_paid_finer_than_the_currency_is_refused(
    client: TestClient, db: Database
) -> None:
    company = create(client, kind="COMPANY", name="Sakura KK")
    before = event_count(db)
    values = invoice_values(company, status="PARTIALLY_PAID", amountPaid="0.5")
    result = gql(client, RECORD, {"input": values})["recordDocument"]
    assert result["document"] is None
    assert errors(result) == [(["amountPaid"], "VALIDATION", FINER)]
    assert event_count(db) == before

    whole = invoice_values(company, status="PARTIALLY_PAID", amountPaid="1.0")
    invoice = gql(client, RECORD, {"input": whole})["recordDocument"]
    assert errors(invoice) == []
    assert invoice["document"]["amountPaid"] == "1.00"
    before = event_count(db)
    changes = {"id": invoice["document"]["id"], "amountPaid": "0.5"}
    result = gql(client, UPDATE, {"input": changes})["updateDocument"]
    assert result["document"] is None
    assert errors(result) == [(["amountPaid"], "VALIDATION", FINER)]
    assert event_count(db) == before


def test_a_credit_limit_finer_than_its_currency_is_refused(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Sakura KK")
    result = gql(client, TERMS, {"input": {"id": company["id"], "creditLimit": jpy("1000.5")}})
    assert errors(result["setCommercialTerms"]) == [
        (["creditLimit"], "VALIDATION", "creditLimit 1000.5 is finer than JPY's smallest unit, 1")
    ]
    kwd = {"amount": "1000.125", "currency": "KWD"}  # three decimals: its fils
    result = gql(client, TERMS, {"input": {"id": company["id"], "creditLimit": kwd}})
    assert errors(result["setCommercialTerms"]) == []


def test_an_expected_revenue_finer_than_its_currency_is_refused(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Sakura KK")
    values = {"partnerId": company["id"], "name": "Deal", "expectedRevenue": jpy("0.5")}
    result = gql(client, CREATE_OPPORTUNITY, {"input": values})["createOpportunity"]
    assert result["opportunity"] is None
    assert errors(result) == [(["expectedRevenue"], "VALIDATION", f"expectedRevenue {FINER}")]

    values["expectedRevenue"] = jpy("18000")
    made = gql(client, CREATE_OPPORTUNITY, {"input": values})["createOpportunity"]
    assert errors(made) == []
    changes = {"id": made["opportunity"]["id"], "expectedRevenue": jpy("0.5")}
    result = gql(client, UPDATE_OPPORTUNITY, {"input": changes})["updateOpportunity"]
    assert errors(result) == [(["expectedRevenue"], "VALIDATION", f"expectedRevenue {FINER}")]


def test_a_delivery_price_finer_than_its_currency_is_refused(client: TestClient) -> None:
    result = run(client, DELIVERY_METHOD, "create", name="Courier", fixedPrice=jpy("0.5"))
    assert refused(result, "deliveryMethod") == [(["fixedPrice"], "VALIDATION")]
    assert result["userErrors"][0]["message"] == f"fixedPrice: {FINER}"

    courier = create_entry(client, DELIVERY_METHOD, name="Courier", fixedPrice=jpy("500"))
    cents = {"amount": "4.999", "currency": "EUR"}
    result = run(client, DELIVERY_METHOD, "update", id=courier["id"], fixedPrice=cents)
    assert refused(result, "deliveryMethod") == [(["fixedPrice"], "VALIDATION")]
    assert result["userErrors"][0]["message"] == (
        "fixedPrice: 4.999 is finer than EUR's smallest unit, 0.01"
    )


def test_a_fixed_line_cannot_carry_an_early_payment_discount(
    client: TestClient, db: Database
) -> None:
    discount = {"discountPercent": "2", "discountDays": 5}
    before = event_count(db)
    lines = [{"kind": "FIXED", "value": "50", **discount}, {"kind": "BALANCE", "days": 30}]
    result = run(client, PAYMENT_TERM, "create", name="x", lines=lines)
    assert refused(result, "paymentTerm") == [(["lines"], "VALIDATION")]
    assert result["userErrors"][0]["message"] == (
        "lines: line 1: a FIXED line takes no early-payment discount (discountPercent)"
    )
    assert event_count(db) == before

    # On the other lines it stays.
    lines = [
        {"kind": "PERCENT", "value": "30", **discount},
        {"kind": "FIXED", "value": "50"},
        {"kind": "BALANCE", "days": 30, **discount},
    ]
    term = create_entry(client, PAYMENT_TERM, name="y", lines=lines)
    assert [line["discountPercent"] for line in term["lines"]] == ["2.00", None, "2.00"]


def test_any_documents_amount_finer_than_the_currency_is_refused(
    client: TestClient, db: Database
) -> None:
    """Not only the documents split into due dates: a sale order's amount counts in the
    credit exposure, a quotation's and a payment's in the figures."""
    company = create(client, kind="COMPANY", name="Sakura KK")
    kinds = [("SALES", "SALE_ORDER"), ("SALES", "QUOTATION"), ("ACCOUNTING", "PAYMENT")]
    before = event_count(db)
    for module, kind in kinds:
        values = invoice_values(company, module=module, kind=kind, amount="100.5")
        result = gql(client, RECORD, {"input": values})["recordDocument"]
        assert errors(result) == [
            (["amount"], "VALIDATION", "100.5 is finer than JPY's smallest unit, 1")
        ], kind
    assert event_count(db) == before
    order = invoice_values(company, module="SALES", kind="SALE_ORDER", reference="SO/1")
    created = gql(client, RECORD, {"input": order})["recordDocument"]
    assert created["userErrors"] == []
    change = {"id": created["document"]["id"], "amount": "99.5"}
    assert errors(gql(client, UPDATE, {"input": change})["updateDocument"]) == [
        (["amount"], "VALIDATION", "99.5 is finer than JPY's smallest unit, 1")
    ]
