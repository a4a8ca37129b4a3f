"""Documents take the commercial terms in force (issue 18), through HTTP: a document
recorded for a partner keeps the terms its commercial partner had at that moment, unless
the caller gave its own, which are checked as on partners."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.schema.ids import from_global_id
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import (
    ACCOUNT,
    DELIVERY_METHOD,
    FISCAL_POSITION,
    PAYMENT_TERM,
    create_entry,
    create_partner,
    create_payment_term,
    create_pricelist,
    create_salesperson,
    run,
    set_terms,
)

TERMS = """terms { source explicitTerms takenFrom { id name }
  paymentTerm { name } pricelist { name } salesperson { name } account { code }
  fiscalPosition { name } deliveryMethod { name } }"""
RECORD = f"""mutation($input: RecordDocumentInput!) {{ recordDocument(input: $input) {{
  document {{ id kind direction {TERMS} }}
  userErrors {{ field code message }} }} }}"""
DOCUMENT = f"query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {TERMS} }} }} }}"
TIMELINE = """query($id: ID!) { partner(id: $id) {
  timeline(kinds: [DOCUMENT_RECORDED]) { nodes { changes } } } }"""


@pytest.fixture
def catalog(client: TestClient) -> dict[str, dict[str, Any]]:
    return {
        "term30": create_payment_term(client, "30 Days", 30),
        "term60": create_payment_term(client, "60 Days", 60),
        "public": create_pricelist(client, "Public"),
        "export": create_pricelist(client, "Export"),
        "express": create_entry(client, DELIVERY_METHOD, name="Express"),
        "mitchell": create_salesperson(client, "Mitchell Admin"),
        "receivable": create_entry(
            client, ACCOUNT, code="400000", name="Customers", accountType="RECEIVABLE"
        ),
        "payable": create_entry(
            client, ACCOUNT, code="440000", name="Suppliers", accountType="PAYABLE"
        ),
        "domestic": create_entry(client, FISCAL_POSITION, name="Domestic", countryCode="BE"),
    }


@pytest.fixture
def azure(client: TestClient, catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A company with every term set."""
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    c = catalog
    result = set_terms(
        client,
        id=company["id"],
        customerPaymentTermId=c["term30"]["id"],
        vendorPaymentTermId=c["term60"]["id"],
        pricelistId=c["public"]["id"],
        deliveryMethodId=c["express"]["id"],
        salespersonId=c["mitchell"]["id"],
        receivableAccountId=c["receivable"]["id"],
        payableAccountId=c["payable"]["id"],
        fiscalPositionId=c["domestic"]["id"],
    )
    assert result["userErrors"] == [], result["userErrors"]
    return company


def record(client: TestClient, partner: dict[str, Any], kind: str, **fields: Any) -> Any:
    module = {"SALE_ORDER": "SALES", "QUOTATION": "SALES", "PURCHASE_ORDER": "PURCHASE"}.get(
        kind, "HELPDESK" if kind == "TICKET" else "ACCOUNTING"
    )
    values = {
        "partnerId": partner["id"],
        "module": module,
        "kind": kind,
        "reference": fields.pop("reference", f"{kind}/1"),
        "date": "2026-11-20",
        **fields,
    }
    return gql(client, RECORD, {"input": values})["recordDocument"]


def recorded(client: TestClient, partner: dict[str, Any], kind: str, **fields: Any) -> Any:
    result = record(client, partner, kind, **fields)
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def customer_terms(source: str, taken_from: dict[str, Any], **instead: Any) -> dict[str, Any]:
    return {
        "source": source,
        "explicitTerms": [],
        "takenFrom": {"id": taken_from["id"], "name": taken_from["name"]},
        "paymentTerm": {"name": "30 Days"},
        "pricelist": {"name": "Public"},
        "salesperson": {"name": "Mitchell Admin"},
        "account": {"code": "400000"},
        "fiscalPosition": {"name": "Domestic"},
        "deliveryMethod": {"name": "Express"},
    } | instead


def test_an_invoice_for_a_contact_keeps_the_companys_terms_of_that_moment(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]]
) -> None:
    brandon = create_partner(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    invoice = recorded(client, brandon, "INVOICE", amount="100", currency="EUR")
    assert invoice["terms"] == customer_terms("COMPANY", azure)

    changed = set_terms(client, id=azure["id"], pricelistId=catalog["export"]["id"])
    assert changed["userErrors"] == []

    kept = gql(client, DOCUMENT, {"id": invoice["id"]})["node"]["terms"]
    assert kept == customer_terms("COMPANY", azure)
    later = recorded(client, brandon, "INVOICE", reference="INV/2")
    assert later["terms"]["pricelist"] == {"name": "Export"}


def test_a_document_of_the_company_itself_takes_its_own_terms(
    client: TestClient, azure: dict[str, Any]
) -> None:
    order = recorded(client, azure, "SALE_ORDER")
    assert order["terms"] == customer_terms("PARTNER", azure)


def test_supplier_documents_take_the_vendor_term_and_the_payable_account(
    client: TestClient, azure: dict[str, Any]
) -> None:
    supplier_side: dict[str, Any] = {
        "source": "PARTNER",
        "explicitTerms": [],
        "takenFrom": {"id": azure["id"], "name": azure["name"]},
        "paymentTerm": {"name": "60 Days"},
        "pricelist": None,
        "salesperson": None,
        "account": {"code": "440000"},
        "fiscalPosition": {"name": "Domestic"},
        "deliveryMethod": None,
    }
    assert recorded(client, azure, "VENDOR_BILL")["terms"] == supplier_side
    assert recorded(client, azure, "PURCHASE_ORDER")["terms"] == supplier_side
    outbound = recorded(client, azure, "PAYMENT", direction="OUTBOUND")
    assert (outbound["direction"], outbound["terms"]) == ("OUTBOUND", supplier_side)
    inbound = recorded(client, azure, "PAYMENT", reference="PAY/2")
    assert inbound["direction"] == "INBOUND"
    assert inbound["terms"] == customer_terms("PARTNER", azure)


def test_terms_given_are_the_documents_own_and_the_others_are_taken(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]]
) -> None:
    brandon = create_partner(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    quotation = recorded(
        client,
        brandon,
        "QUOTATION",
        paymentTermId=catalog["term60"]["id"],
        pricelistId=catalog["export"]["id"],
    )
    assert quotation["terms"] == customer_terms(
        "EXPLICIT",
        azure,
        explicitTerms=["PAYMENT_TERM", "PRICELIST"],
        paymentTerm={"name": "60 Days"},
        pricelist={"name": "Export"},
    )


def test_a_ticket_takes_no_terms(client: TestClient, azure: dict[str, Any]) -> None:
    assert recorded(client, azure, "TICKET")["terms"] is None


def test_an_archived_payment_term_given_is_refused(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]], db: Database
) -> None:
    archived = run(client, PAYMENT_TERM, "archive", id=catalog["term60"]["id"])
    assert archived["userErrors"] == []
    before = event_count(db)
    result = record(client, azure, "INVOICE", paymentTermId=catalog["term60"]["id"])
    assert result["document"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["paymentTermId"], "ARCHIVED")
    ]
    assert event_count(db) == before


def test_an_archived_term_of_the_partner_is_still_taken(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]]
) -> None:
    """Archiving refuses new assignments; the partner's term stays its term."""
    run(client, PAYMENT_TERM, "archive", id=catalog["term30"]["id"])
    invoice = recorded(client, azure, "INVOICE")
    assert invoice["terms"]["paymentTerm"] == {"name": "30 Days"}


def test_a_payable_account_is_no_receivable_account(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]], db: Database
) -> None:
    before = event_count(db)
    result = record(client, azure, "INVOICE", accountId=catalog["payable"]["id"])
    assert result["document"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["accountId"], "VALIDATION")
    ]
    bill = record(client, azure, "VENDOR_BILL", accountId=catalog["receivable"]["id"])
    assert [(e["field"], e["code"]) for e in bill["userErrors"]] == [(["accountId"], "VALIDATION")]
    on_partner = set_terms(
        client,
        id=azure["id"],
        receivableAccountId=catalog["payable"]["id"],
        payableAccountId=catalog["receivable"]["id"],
    )
    assert sorted((e["field"][0], e["code"]) for e in on_partner["userErrors"]) == [
        ("payableAccountId", "VALIDATION"),
        ("receivableAccountId", "VALIDATION"),
    ]
    assert event_count(db) == before
    fine = recorded(client, azure, "VENDOR_BILL", accountId=catalog["payable"]["id"])
    assert fine["terms"]["explicitTerms"] == ["ACCOUNT"]


def test_a_term_the_documents_side_does_not_take_is_refused(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]], db: Database
) -> None:
    before = event_count(db)
    order = record(client, azure, "PURCHASE_ORDER", pricelistId=catalog["public"]["id"])
    assert [(e["field"], e["code"]) for e in order["userErrors"]] == [
        (["pricelistId"], "VALIDATION")
    ]
    assert "paymentTermId" in order["userErrors"][0]["message"]
    ticket = record(client, azure, "TICKET", paymentTermId=catalog["term30"]["id"])
    assert [(e["field"], e["code"]) for e in ticket["userErrors"]] == [
        (["paymentTermId"], "VALIDATION")
    ]
    assert event_count(db) == before


def test_a_term_id_of_another_catalog_is_not_found(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]]
) -> None:
    result = record(client, azure, "INVOICE", salespersonId=catalog["term30"]["id"])
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["salespersonId"], "NOT_FOUND")
    ]


def test_the_timeline_shows_the_terms_a_document_took(
    client: TestClient, azure: dict[str, Any], catalog: dict[str, dict[str, Any]]
) -> None:
    recorded(client, azure, "INVOICE", pricelistId=catalog["export"]["id"])
    nodes = gql(client, TIMELINE, {"id": azure["id"]})["partner"]["timeline"]["nodes"]
    terms = nodes[0]["changes"]["terms"]
    assert terms["source"] == "EXPLICIT" and terms["explicit"] == ["pricelist_id"]
    assert terms["pricelist_id"] == str(from_global_id(catalog["export"]["id"])[1])
    assert terms["taken_from"] == str(from_global_id(azure["id"])[1])
