"""documentTotals: the 360° figures over time, kept by month beside the documents."""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import create
from tests.schema.test_relationship import RECORD, UPDATE_DOCUMENT, run

TOTALS = """query($groupBy: [DocumentTotalDimension!]!, $kinds: [DocumentKind!],
    $statuses: [DocumentStatus!], $currency: String, $partnerId: ID, $limit: Int) {
  documentTotals(groupBy: $groupBy, kinds: $kinds, statuses: $statuses, currency: $currency,
                 partnerId: $partnerId, limit: $limit) {
    groups { month kind module status currency count amounts { amount currency } }
    truncated } }"""


def totals(client: TestClient, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = gql(client, TOTALS, variables)["documentTotals"]
    return found


def group(**values: Any) -> dict[str, Any]:
    return {**dict.fromkeys(["month", "kind", "module", "status", "currency"]), **values}


def invoice(client: TestClient, partner: dict[str, Any], ref: str, day: str, **more: Any) -> Any:
    fields = {"module": "ACCOUNTING", "kind": "INVOICE", "currency": "EUR", "status": "OPEN"}
    return run(
        client, RECORD, "recordDocument", "document",
        partnerId=partner["id"], reference=ref, date=day, **{**fields, **more},
    )  # fmt: skip


def test_invoiced_per_month_and_currency(client: TestClient, db: Database) -> None:
    acme = create(client, kind="COMPANY", name="Acme", isCustomer=True)
    ann = create(client, kind="PERSON", name="Ann", parentId=acme["id"])
    other = create(client, kind="COMPANY", name="Other")
    invoice(client, acme, "INV-1", "2026-01-10", amount="100.00")
    changed = invoice(client, ann, "INV-2", "2026-01-20", amount="50.00")
    third = invoice(client, other, "INV-3", "2026-02-01", amount="70.00", currency="USD")
    invoice(client, other, "INV-4", "2026-02-02", amount="5.00", currency="USD", status="DRAFT")
    run(client, UPDATE_DOCUMENT, "updateDocument", "document", id=changed["id"], amount="60.00")

    by_month = totals(client, groupBy=["MONTH"], kinds=["INVOICE"])
    assert by_month == {
        "groups": [
            group(month="2026-01-01", count=2, amounts=[{"amount": "160.00", "currency": "EUR"}]),
            group(month="2026-02-01", count=1, amounts=[{"amount": "70.00", "currency": "USD"}]),
        ],
        "truncated": False,
    }
    # A company's view takes in its contacts' documents (counted over its rows).
    assert totals(client, groupBy=["MONTH", "CURRENCY"], partnerId=acme["id"])["groups"] == [
        group(month="2026-01-01", currency="EUR", count=2,
              amounts=[{"amount": "160.00", "currency": "EUR"}]),
    ]  # fmt: skip
    assert totals(client, groupBy=["STATUS"], statuses=["DRAFT"], currency="USD")["groups"] == [
        group(status="DRAFT", count=1, amounts=[{"amount": "5.00", "currency": "USD"}])
    ]
    assert totals(client, groupBy=["MONTH"], limit=1)["truncated"] is True
    # No dimension: one group, every document counted (its SQL said `ORDER BY )`: an
    # INTERNAL error for every role; the audit of reads, session 42).
    assert totals(client, groupBy=[], kinds=["INVOICE"]) == {
        "groups": [
            group(count=3, amounts=[
                {"amount": "160.00", "currency": "EUR"}, {"amount": "70.00", "currency": "USD"}
            ]),
        ],
        "truncated": False,
    }  # fmt: skip
    assert totals(client, groupBy=[], partnerId=other["id"], limit=1)["groups"][0]["count"] == 1
    # The totals equal the documents grouped now; a cell left empty (February's open
    # USD invoices) is gone.
    run(client, UPDATE_DOCUMENT, "updateDocument", "document", id=third["id"], status="PAID")
    grouped = (
        "SELECT (date_trunc('month', date))::date, module, kind, currency, status, count(*), "
        "sum(coalesce(amount, 0)) FROM documents GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    )
    with psycopg.connect(db.conninfo()) as conn:
        kept = conn.execute("SELECT * FROM document_totals ORDER BY 1, 2, 3, 4, 5").fetchall()
        rows = conn.execute(grouped).fetchall()
    assert kept == rows


def test_totals_are_bounded(client: TestClient) -> None:
    for variables, code in (
        ({"groupBy": ["MONTH", "MONTH"]}, "BAD_REQUEST"),
        ({"groupBy": ["MONTH"], "limit": 0}, "LIMIT_EXCEEDED"),
        ({"groupBy": ["MONTH"], "partnerId": "nope"}, "BAD_REQUEST"),
    ):
        body = gql_raw(client, TOTALS, variables)
        assert body["data"] is None, variables
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], variables
