"""Due dates and overdue documents (issue 18, part 2), through HTTP: invoices, vendor bills
and credit notes carry the instalments of the payment term they took, kept as recorded;
an open invoice with an unpaid instalment due before today is overdue, in the partner's
time zone; `overdueAmount` and `hasOverdueInvoices` follow. "Today" comes from the
service's clock, set by each test."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import PAYMENT_TERM, create_entry, run, set_terms
from tests.schema.partner_ops import create
from tests.schema.test_relationship import set_clock

DOCUMENT_FIELDS = """id kind status amount amountPaid overdue
  dueDates { dueDate amount discountAmount discountUntil }"""
RECORD = f"""mutation($input: RecordDocumentInput!) {{ recordDocument(input: $input) {{
  document {{ {DOCUMENT_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($input: UpdateDocumentInput!) {{ updateDocument(input: $input) {{
  document {{ {DOCUMENT_FIELDS} }} userErrors {{ field code message }} }} }}"""
DOCUMENT = f"query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {DOCUMENT_FIELDS} }} }} }}"
OVERDUE = """query($id: ID!) { partner(id: $id) {
  stats { overdueAmount { amount currency } amountDue { amount currency } } } }"""
OVERDUE_NAMES = """query($f: PartnerFilter) { partners(filter: $f, orderBy: [{field: NAME}]) {
  nodes { name } } }"""


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def due(day: str, amount: str, early: str | None = None, until: str | None = None) -> Any:
    return {"dueDate": day, "amount": amount, "discountAmount": early, "discountUntil": until}


def record(client: TestClient, partner: dict[str, Any], kind: str, **values: Any) -> Any:
    module = "PURCHASE" if kind == "PURCHASE_ORDER" else "ACCOUNTING"
    base = {"partnerId": partner["id"], "module": module, "kind": kind, "currency": "EUR"}
    return gql(client, RECORD, {"input": base | values})["recordDocument"]


def recorded(client: TestClient, partner: dict[str, Any], kind: str, **values: Any) -> Any:
    result = record(client, partner, kind, **values)
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def update(client: TestClient, document: dict[str, Any], **changes: Any) -> Any:
    result = gql(client, UPDATE, {"input": {"id": document["id"], **changes}})["updateDocument"]
    assert result["userErrors"] == [], result["userErrors"]
    return result["document"]


def read(client: TestClient, document: dict[str, Any]) -> Any:
    return gql(client, DOCUMENT, {"id": document["id"]})["node"]


def overdue_amount(client: TestClient, partner: dict[str, Any]) -> Any:
    return gql(client, OVERDUE, {"id": partner["id"]})["partner"]["stats"]["overdueAmount"]


@pytest.fixture
def split_term(client: TestClient) -> dict[str, Any]:
    """30% on the document's date, the balance 30 days later (2% off within 10 days)."""
    return create_entry(
        client,
        PAYMENT_TERM,
        name="30% now, balance in 30 days",
        lines=[
            {"kind": "PERCENT", "value": "30"},
            {"kind": "BALANCE", "days": 30, "discountPercent": "2", "discountDays": 10},
        ],
    )


@pytest.fixture
def azure(client: TestClient, split_term: dict[str, Any]) -> dict[str, Any]:
    company = create(client, kind="COMPANY", name="Azure Interior")
    result = set_terms(client, id=company["id"], customerPaymentTermId=split_term["id"])
    assert result["userErrors"] == []
    return company


def test_an_invoice_of_a_contact_falls_due_as_its_companys_term_says(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    invoice = recorded(
        client, brandon, "INVOICE", reference="INV/1", date="2026-11-01", amount="1000"
    )
    assert invoice["dueDates"] == [
        due("2026-11-01", "300.00"),
        due("2026-12-01", "700.00", "686.00", "2026-11-11"),
    ]


def test_recorded_due_dates_survive_edits_of_the_term_and_follow_a_new_amount_on_its_old_lines(
    client: TestClient, azure: dict[str, Any], split_term: dict[str, Any]
) -> None:
    invoice = recorded(
        client, azure, "INVOICE", reference="INV/1", date="2026-11-01", amount="1000"
    )
    edited = run(
        client,
        PAYMENT_TERM,
        "update",
        id=split_term["id"],
        lines=[{"kind": "BALANCE", "days": 60}],
    )
    assert edited["userErrors"] == []
    other = create_entry(client, PAYMENT_TERM, name="Immediate", lines=[])
    assert set_terms(client, id=azure["id"], customerPaymentTermId=other["id"])["userErrors"] == []
    kept = [due("2026-11-01", "300.00"), due("2026-12-01", "700.00", "686.00", "2026-11-11")]
    assert read(client, invoice)["dueDates"] == kept

    # A new amount is spread over the lines the invoice took, not the term's new ones.
    changed = update(client, invoice, amount="200")
    assert changed["dueDates"] == [
        due("2026-11-01", "60.00"),
        due("2026-12-01", "140.00", "137.20", "2026-11-11"),
    ]
    # A payment changes no due date.
    assert (
        update(client, invoice, status="PARTIALLY_PAID", amountPaid="60")["dueDates"]
        == (changed["dueDates"])
    )


def test_without_a_payment_term_everything_falls_due_on_the_documents_date(
    client: TestClient,
) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    bill = recorded(client, wood, "VENDOR_BILL", reference="B1", date="2026-11-05", amount="80")
    note = recorded(client, wood, "CREDIT_NOTE", reference="R1", date="2026-11-06", amount="5")
    assert bill["dueDates"] == [due("2026-11-05", "80.00")]
    assert note["dueDates"] == [due("2026-11-06", "5.00")]
    # No amount, or a kind without due dates: none.
    assert recorded(client, wood, "INVOICE", reference="I0", date="2026-11-05")["dueDates"] == []
    order = recorded(client, wood, "PURCHASE_ORDER", reference="P1", date="2026-11-05", amount="80")
    assert order["dueDates"] == []


def test_an_explicit_payment_term_gives_the_due_dates(
    client: TestClient, azure: dict[str, Any]
) -> None:
    net60 = create_entry(
        client, PAYMENT_TERM, name="60 days", lines=[{"kind": "BALANCE", "days": 60}]
    )
    invoice = recorded(
        client,
        azure,
        "INVOICE",
        reference="INV/1",
        date="2026-11-01",
        amount="50",
        paymentTermId=net60["id"],
    )
    assert invoice["dueDates"] == [due("2026-12-31", "50.00")]


def test_an_amount_finer_than_the_currencys_unit_is_refused(
    client: TestClient, db: Database
) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    before = event_count(db)
    result = record(
        client, wood, "INVOICE", reference="I1", date="2026-11-01", amount="100.5", currency="JPY"
    )
    assert result["document"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["amount"], "VALIDATION")]
    assert event_count(db) == before
    invoice = recorded(
        client, wood, "INVOICE", reference="I1", date="2026-11-01", amount="100", currency="JPY"
    )
    changed = gql(client, UPDATE, {"input": {"id": invoice["id"], "amount": "99.99"}})
    refusal = changed["updateDocument"]
    assert refusal["document"] is None
    assert [(e["field"], e["code"]) for e in refusal["userErrors"]] == [(["amount"], "VALIDATION")]
    assert read(client, invoice)["amount"] == "100.00"


def test_an_open_invoice_is_overdue_once_an_unpaid_instalment_is_past(
    client: TestClient, azure: dict[str, Any]
) -> None:
    invoice = recorded(
        client,
        azure,
        "INVOICE",
        reference="INV/1",
        date="2026-11-01",
        amount="300",
        status="OPEN",
    )
    set_clock(client, at("2026-11-01"))  # the first instalment is due today: not late yet
    assert read(client, invoice)["overdue"] is False
    assert overdue_amount(client, azure) == []

    set_clock(client, at("2026-11-02"))
    assert read(client, invoice)["overdue"] is True
    assert overdue_amount(client, azure) == [{"amount": "90.00", "currency": "EUR"}]

    # Paying the first instalment: nothing is late until the balance falls due.
    paid = update(client, invoice, status="PARTIALLY_PAID", amountPaid="90")
    assert paid["overdue"] is False
    assert overdue_amount(client, azure) == []
    set_clock(client, at("2026-12-02"))
    assert read(client, invoice)["overdue"] is True
    assert overdue_amount(client, azure) == [{"amount": "210.00", "currency": "EUR"}]

    # Part of the balance paid: what is left of it is overdue.
    update(client, invoice, amountPaid="250")
    assert overdue_amount(client, azure) == [{"amount": "50.00", "currency": "EUR"}]
    assert update(client, invoice, status="PAID")["overdue"] is False
    assert overdue_amount(client, azure) == []


def test_drafts_cancelled_documents_and_credit_notes_are_never_overdue(
    client: TestClient,
) -> None:
    wood = create(client, kind="COMPANY", name="Wood Corner")
    day = {"date": "2026-10-01", "amount": "10"}
    draft = recorded(client, wood, "INVOICE", reference="I1", status="DRAFT", **day)
    cancelled = recorded(client, wood, "INVOICE", reference="I2", status="CANCELLED", **day)
    note = recorded(client, wood, "CREDIT_NOTE", reference="R1", status="OPEN", **day)
    bill = recorded(client, wood, "VENDOR_BILL", reference="B1", status="OPEN", **day)
    set_clock(client, at("2026-11-01"))
    assert [read(client, d)["overdue"] for d in (draft, cancelled, note, bill)] == [
        False,
        False,
        False,
        True,  # a bill we have not paid in time
    ]
    # A late bill is ours to pay: not in the customer side's overdue amount or filter.
    assert overdue_amount(client, wood) == []
    assert (
        gql(client, OVERDUE_NAMES, {"f": {"hasOverdueInvoices": True}})["partners"]["nodes"] == []
    )


def test_today_is_the_partners_own_date(client: TestClient) -> None:
    kiwi = create(client, kind="COMPANY", name="Kiwi Ltd", tz="Pacific/Auckland")
    local = create(client, kind="COMPANY", name="Local Ltd")
    values = {"date": "2026-11-01", "amount": "10", "status": "OPEN"}
    far = recorded(client, kiwi, "INVOICE", reference="I1", **values)
    near = recorded(client, local, "INVOICE", reference="I2", **values)
    set_clock(client, at("2026-11-01", hour=12))  # 01:00 on 2 November in Auckland
    assert (read(client, far)["overdue"], read(client, near)["overdue"]) == (True, False)
    names = gql(client, OVERDUE_NAMES, {"f": {"hasOverdueInvoices": True}})["partners"]["nodes"]
    assert names == [{"name": "Kiwi Ltd"}]


def test_partners_with_overdue_invoices_are_found_with_their_company(
    client: TestClient, azure: dict[str, Any]
) -> None:
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    create(client, kind="PERSON", name="Colleen Diaz", parentId=azure["id"])
    wood = create(client, kind="COMPANY", name="Wood Corner")
    values = {"date": "2026-11-01", "amount": "100", "status": "OPEN"}
    recorded(client, brandon, "INVOICE", reference="I1", **values)
    recorded(client, wood, "INVOICE", reference="I2", date="2026-11-20", amount="5", status="OPEN")
    set_clock(client, at("2026-11-10"))

    def names(**f: Any) -> list[str]:
        found = gql(client, OVERDUE_NAMES, {"f": f})["partners"]["nodes"]
        return [node["name"] for node in found]

    assert names(hasOverdueInvoices=True) == ["Azure Interior", "Brandon Freeman"]
    assert names(hasOverdueInvoices=False) == ["Colleen Diaz", "Wood Corner"]
    assert names(hasOverdueInvoices=True, kind="COMPANY") == ["Azure Interior"]
    assert overdue_amount(client, azure) == [{"amount": "30.00", "currency": "EUR"}]
    assert overdue_amount(client, brandon) == [{"amount": "30.00", "currency": "EUR"}]
    set_clock(client, at("2026-11-21"))
    assert names(hasOverdueInvoices=True) == ["Azure Interior", "Brandon Freeman", "Wood Corner"]
