"""A document recorded cancelled, then reopened by `updateDocument` (issue 18, part 5),
through HTTP: it counts from then on, as if it had been recorded so, and marks its
commercial partner a customer (a supplier) when it is not one yet. Only the roles were
marked by `recordDocument`: an invoice recorded CANCELLED and reopened never made one."""

from __future__ import annotations

from base64 import b64decode
from typing import Any

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import as_key, gql, key_for
from tests.schema.partner_ops import create, update

RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  document { id } userErrors { field code message } } }"""
UPDATE = """mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) {
  document { status version } userErrors { field code message } } }"""
ROLES = "query($id: ID!) { partner(id: $id) { isCustomer isSupplier } }"
TIMELINE = """query($id: ID!) { partner(id: $id) { timeline(kinds: [PARTNER_ROLE_GAINED]) {
  nodes { summary actor reason changes } } } }"""
MODULES = {"SALE_ORDER": "SALES", "QUOTATION": "SALES", "PURCHASE_ORDER": "PURCHASE"}


def recorded(client: TestClient, partner: dict[str, Any], kind: str, ref: str, **more: Any) -> Any:
    values = {
        "partnerId": partner["id"],
        "module": MODULES.get(kind, "ACCOUNTING"),
        "kind": kind,
        "reference": ref,
        "date": "2026-11-20",
        **more,
    }
    result = gql(client, RECORD, {"input": values})["recordDocument"]
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def updated(client: TestClient, document: dict[str, Any], **changes: Any) -> Any:
    result = gql(client, UPDATE, {"input": {"id": document["id"], **changes}})["updateDocument"]
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def uuid_of(document: dict[str, Any]) -> str:
    return b64decode(document["id"]).decode().removeprefix("Document:")


def roles(client: TestClient, partner: dict[str, Any]) -> tuple[bool, bool]:
    found = gql(client, ROLES, {"id": partner["id"]})["partner"]
    return found["isCustomer"], found["isSupplier"]


def test_a_cancelled_invoice_reopened_makes_the_company_a_customer(
    client: TestClient, db: Database
) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    invoice = recorded(client, brandon, "INVOICE", "INV/1", status="CANCELLED")
    assert roles(client, azure) == (False, False)

    as_key(client, key_for(db, "editor", "bookkeeper"))
    reopened = updated(client, invoice, status="OPEN", expectedVersion=1)
    assert reopened["status"] == "OPEN"
    assert roles(client, azure) == (True, False)
    assert roles(client, brandon) == (False, False)  # the company is the customer
    entries = gql(client, TIMELINE, {"id": azure["id"]})["partner"]["timeline"]["nodes"]
    assert entries == [
        {
            "summary": "Became a customer",
            "actor": "bookkeeper",  # who reopened it
            "reason": "an invoice was recorded for it while it was not yet a customer",
            "changes": {"is_customer": True, "document_id": uuid_of(invoice)},
        }
    ]


def test_the_supplier_side_too(client: TestClient) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    bill = recorded(client, wood, "VENDOR_BILL", "BILL/1", status="CANCELLED")
    order = recorded(client, wood, "PURCHASE_ORDER", "P1", status="CANCELLED")
    assert roles(client, wood) == (False, False)
    updated(client, bill, status="DRAFT")
    assert roles(client, wood) == (False, True)
    updated(client, order, status="CONFIRMED")  # a supplier already: nothing more
    gained = gql(client, TIMELINE, {"id": wood["id"]})["partner"]["timeline"]["nodes"]
    assert [entry["reason"] for entry in gained] == [
        "a vendor bill was recorded for it while it was not yet a supplier"
    ]


def test_only_a_document_that_stops_being_cancelled_marks(client: TestClient) -> None:
    deco = create(client, kind="COMPANY", name="Deco Addict")
    invoice = recorded(client, deco, "INVOICE", "INV/1", amount="100", currency="EUR")
    cancelled = recorded(
        client, deco, "SALE_ORDER", "S1", status="CANCELLED", amount="40", currency="EUR"
    )
    quotation = recorded(client, deco, "QUOTATION", "Q1", status="CANCELLED")
    update(client, id=deco["id"], isCustomer=False)  # unmarked by hand

    updated(client, invoice, status="OPEN", amount="120")  # it counted already
    updated(client, cancelled, amount="50")  # still cancelled
    updated(client, quotation, status="OPEN")  # a quotation makes no customer
    assert roles(client, deco) == (False, False)

    updated(client, cancelled, status="CONFIRMED")
    assert roles(client, deco) == (True, False)
