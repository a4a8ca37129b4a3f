"""Dates at the ends of the calendar: a due date, an instalment, an as-of instant or a
payment term's days that land past year 9999 or before year 1 are refused or answered,
never INTERNAL (Python's `date` stops at 9999-12-31)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.catalog_ops import PAYMENT_TERM, run
from tests.schema.partner_ops import create

SCHEDULE = """query($term: ID!, $date: Date!) {
  paymentSchedule(paymentTermId: $term, date: $date, amount: {amount: "100.00", currency: "EUR"})
  { dueDate amount discountAmount discountUntil } }"""


def answer(client: TestClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL" not in codes, body
    return body


def test_a_schedule_past_the_calendar_is_not_internal(client: TestClient) -> None:
    created = run(
        client,
        PAYMENT_TERM,
        "create",
        name="Far",
        lines=[{"kind": "BALANCE", "days": 2_000_000_000, "endOfMonth": True}],
    )
    term = created[PAYMENT_TERM.payload]
    if term is None:  # refused at creation: a user error, fine
        assert created["userErrors"], created
        return
    for date in ("2026-01-15", "9999-12-31"):
        answer(client, SCHEDULE, {"term": term["id"], "date": date})


def test_a_schedule_at_the_end_of_the_calendar_is_not_internal(client: TestClient) -> None:
    created = run(
        client,
        PAYMENT_TERM,
        "create",
        name="Month end",
        lines=[
            {
                "kind": "PERCENT",
                "value": "50",
                "days": 30,
                "endOfMonth": True,
                "discountPercent": "2",
                "discountDays": 10,
            },
            {"kind": "BALANCE", "days": 60},
        ],
    )
    term = created[PAYMENT_TERM.payload]
    assert term is not None, created
    answer(client, SCHEDULE, {"term": term["id"], "date": "9999-12-31"})
    answer(client, SCHEDULE, {"term": term["id"], "date": "0001-01-01"})


def test_as_of_and_due_dates_at_the_ends_of_the_calendar_are_not_internal(
    client: TestClient,
) -> None:
    partner = create(client, kind="COMPANY", name="Calendar Co")
    as_of = "query($id: ID!, $at: DateTime) { partnerAsOf(id: $id, at: $at) { name } }"
    for at in (
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
    ):
        answer(client, as_of, {"id": partner["id"], "at": at})
    schedule = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
      activity { id } userErrors { code } } }"""
    for due in ("9999-12-31", "0001-01-01"):
        answer(
            client,
            schedule,
            {"input": {"partnerId": partner["id"], "dueDate": due, "summary": "Call"}},
        )
    overdue = "{ partners(filter: {hasOverdueActivities: true}) { totalCount } }"
    answer(client, overdue, {})
    created = run(
        client, PAYMENT_TERM, "create", name="Thirty", lines=[{"kind": "BALANCE", "days": 30}]
    )
    term = created[PAYMENT_TERM.payload]
    document = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
      document { id dueDates { dueDate } overdue } userErrors { code message } } }"""
    for day in ("9999-12-31", "9999-12-15", "0001-01-01"):
        answer(
            client,
            document,
            {
                "input": {
                    **{"partnerId": partner["id"], "module": "ACCOUNTING", "kind": "INVOICE"},
                    **{"reference": f"INV/{day}", "date": day, "status": "OPEN"},
                    **{"amount": "10.00", "currency": "EUR", "paymentTermId": term["id"]},
                }
            },
        )
    # The projector went on: a partner created after them is read.
    later = create(client, kind="COMPANY", name="After the calendar")
    read = "query($id: ID!) { partner(id: $id) { name } }"
    assert gql(client, read, {"id": later["id"]})["partner"] == {"name": "After the calendar"}
