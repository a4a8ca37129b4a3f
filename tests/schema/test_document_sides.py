"""Both sides of the 360° view (issue 18), through HTTP: payments to suppliers are not
the customer's, the supplier side has its figures, and the documents recorded make a
partner a customer or a supplier."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import partner_names
from tests.schema.partner_ops import create, update

RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  document { id kind status direction } userErrors { field code message } } }"""
UPDATE_DOCUMENT = """mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) {
  document { status } userErrors { field code message } } }"""
STATS = """query($id: ID!) { partner(id: $id) { stats {
  invoiceCount billCount purchaseOrderCount saleOrderCount
  totalInvoiced { amount currency } totalPaid { amount currency } amountDue { amount currency }
  totalBilled { amount currency } totalPaidToSupplier { amount currency }
  saleOrderAmount { amount currency } purchaseOrderAmount { amount currency } } } }"""
ROLES = "query($id: ID!) { partner(id: $id) { isCustomer isSupplier version } }"
TIMELINE = """query($id: ID!) { partner(id: $id) { timeline(kinds: [PARTNER_ROLE_GAINED]) {
  nodes { kind summary actor reason changes subject { id } } } } }"""
HISTORY = """query($id: ID!) { partner(id: $id) { history { nodes {
  eventType actor reason changes { field old new } } } } }"""
MODULES = {"SALE_ORDER": "SALES", "QUOTATION": "SALES", "PURCHASE_ORDER": "PURCHASE"}


def record(client: TestClient, partner: dict[str, Any], kind: str, ref: str, **more: Any) -> Any:
    values = {
        "partnerId": partner["id"],
        "module": MODULES.get(kind, "ACCOUNTING"),
        "kind": kind,
        "reference": ref,
        "date": "2026-11-20",
        **more,
    }
    return gql(client, RECORD, {"input": values})["recordDocument"]


def recorded(client: TestClient, partner: dict[str, Any], kind: str, ref: str, **more: Any) -> Any:
    result = record(client, partner, kind, ref, **more)
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def money(amount: str, currency: str = "EUR") -> list[dict[str, str]]:
    return [{"amount": amount, "currency": currency}]


def roles(client: TestClient, partner: dict[str, Any]) -> tuple[bool, bool]:
    found = gql(client, ROLES, {"id": partner["id"]})["partner"]
    return found["isCustomer"], found["isSupplier"]


def test_a_payment_to_a_supplier_is_not_paid_by_the_customer(client: TestClient) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    eur = {"amount": "300", "currency": "EUR", "status": "DONE"}
    inbound = recorded(client, wood, "PAYMENT", "BNK/1", **eur)
    outbound = recorded(client, wood, "PAYMENT", "BNK/2", direction="OUTBOUND", **eur)
    assert (inbound["direction"], outbound["direction"]) == ("INBOUND", "OUTBOUND")
    stats = gql(client, STATS, {"id": wood["id"]})["partner"]["stats"]
    assert stats["totalPaid"] == money("300.00")
    assert stats["totalPaidToSupplier"] == money("300.00")
    assert stats["amountDue"] == money("-300.00")


def test_only_a_payment_has_a_direction(client: TestClient, db: Database) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    before = event_count(db)
    result = record(client, wood, "INVOICE", "INV/1", direction="OUTBOUND")
    assert result["document"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["direction"], "VALIDATION")
    ]
    assert event_count(db) == before
    assert recorded(client, wood, "INVOICE", "INV/1")["direction"] is None


def test_the_supplier_side_has_its_figures_rolled_up_to_the_company(client: TestClient) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    willie = create(client, kind="PERSON", name="Willie Burke", parentId=wood["id"])
    usd = {"currency": "USD"}
    recorded(client, wood, "PURCHASE_ORDER", "P1", amount="1000", status="CONFIRMED", **usd)
    recorded(client, willie, "PURCHASE_ORDER", "P2", amount="50", status="DRAFT", **usd)
    recorded(client, wood, "VENDOR_BILL", "B1", amount="1000", status="PAID", **usd)
    recorded(
        client,
        willie,
        "VENDOR_BILL",
        "B2",
        amount="400",
        status="PARTIALLY_PAID",
        amountPaid="100",
        **usd,
    )
    recorded(client, willie, "VENDOR_BILL", "B3", amount="70", status="CANCELLED", **usd)
    recorded(
        client, willie, "PAYMENT", "BNK/1", amount="20", status="DONE", direction="OUTBOUND", **usd
    )
    recorded(client, wood, "SALE_ORDER", "S1", amount="250", currency="EUR", status="DONE")
    recorded(client, wood, "SALE_ORDER", "S2", amount="9", currency="EUR", status="CANCELLED")

    stats = gql(client, STATS, {"id": wood["id"]})["partner"]["stats"]
    assert stats == {
        "invoiceCount": 0,
        "billCount": 2,
        "purchaseOrderCount": 2,
        "saleOrderCount": 1,
        "totalInvoiced": [],
        "totalPaid": [],
        "amountDue": [],
        "totalBilled": money("1400.00", "USD"),
        "totalPaidToSupplier": money("1120.00", "USD"),
        "saleOrderAmount": money("250.00"),
        "purchaseOrderAmount": money("1000.00", "USD"),
    }
    own = gql(client, STATS, {"id": willie["id"]})["partner"]["stats"]
    assert own["billCount"] == 1 and own["totalPaidToSupplier"] == money("120.00", "USD")


def test_the_first_invoice_makes_its_commercial_partner_a_customer(client: TestClient) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    recorded(client, brandon, "QUOTATION", "S00001")
    recorded(client, brandon, "CREDIT_NOTE", "RINV/1")
    assert roles(client, azure) == (False, False)

    invoice = recorded(client, brandon, "INVOICE", "INV/1", amount="100", currency="EUR")
    assert roles(client, azure) == (True, False)
    assert roles(client, brandon) == (False, False)  # the company is the customer
    assert partner_names(client, isCustomer=True) == ["Azure Interior"]
    recorded(client, brandon, "INVOICE", "INV/2")

    entries = gql(client, TIMELINE, {"id": azure["id"]})["partner"]["timeline"]["nodes"]
    assert entries == [
        {
            "kind": "PARTNER_ROLE_GAINED",
            "summary": "Became a customer",
            "actor": "test-admin",
            "reason": "an invoice was recorded for it while it was not yet a customer",
            "changes": {
                "is_customer": True,
                "document_id": entries[0]["changes"]["document_id"],
            },
            "subject": {"id": azure["id"]},
        }
    ]
    document = gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": invoice["id"]})
    assert document["node"]["id"] == invoice["id"]
    history = gql(client, HISTORY, {"id": azure["id"]})["partner"]["history"]["nodes"]
    assert history[-1] == {
        "eventType": "RoleGained",
        "actor": "test-admin",
        "reason": "an invoice was recorded for it while it was not yet a customer",
        "changes": [{"field": "isCustomer", "old": "false", "new": "true"}],
    }


def test_the_first_purchase_makes_a_supplier_and_a_cancelled_one_does_not(
    client: TestClient,
) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    recorded(client, wood, "PURCHASE_ORDER", "P0", status="CANCELLED")
    recorded(client, wood, "PAYMENT", "BNK/1", direction="OUTBOUND")
    assert roles(client, wood) == (False, False)
    recorded(client, wood, "PURCHASE_ORDER", "P1")
    assert roles(client, wood) == (False, True)
    recorded(client, wood, "SALE_ORDER", "S1")
    assert roles(client, wood) == (True, True)


def test_unmarking_stays_manual(client: TestClient) -> None:
    deco = create(client, kind="COMPANY", name="Deco Addict")
    invoice = recorded(client, deco, "INVOICE", "INV/1")
    cancelled = gql(
        client, UPDATE_DOCUMENT, {"input": {"id": invoice["id"], "status": "CANCELLED"}}
    )
    assert cancelled["updateDocument"]["userErrors"] == []
    assert roles(client, deco) == (True, False)
    update(client, id=deco["id"], isCustomer=False)
    assert roles(client, deco) == (False, False)


def test_an_archived_partner_still_becomes_a_customer(client: TestClient) -> None:
    """The other module did sell to it: the document is recorded, and what it means too."""
    gone = create(client, kind="COMPANY", name="Gone Ltd")
    archive = """mutation($input: PartnerStateInput!) { archivePartner(input: $input) {
      userErrors { code } } }"""
    assert gql(client, archive, {"input": {"id": gone["id"]}})["archivePartner"]["userErrors"] == []
    recorded(client, gone, "SALE_ORDER", "S1")
    assert roles(client, gone) == (True, False)
