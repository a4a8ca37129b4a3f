"""`paymentSchedule` over HTTP: a payment term's instalments for a date and an amount."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.schema.ids import from_global_id, to_global_id
from tests.conftest import as_key, event_count, gql, gql_raw, key_for
from tests.schema.catalog_ops import PAYMENT_TERM, create_entry, create_pricelist, run

SCHEDULE = """
query($termId: ID!, $date: Date!, $amount: MoneyInput!) {
  paymentSchedule(paymentTermId: $termId, date: $date, amount: $amount) {
    dueDate amount discountAmount discountUntil
  }
}"""


def schedule(client: TestClient, term_id: str, amount: str, currency: str = "EUR") -> Any:
    variables = {
        "termId": term_id,
        "date": "2026-01-15",
        "amount": {"amount": amount, "currency": currency},
    }
    return gql(client, SCHEDULE, variables)["paymentSchedule"]


def refusal(client: TestClient, term_id: str, amount: str, currency: str) -> list[str]:
    variables = {
        "termId": term_id,
        "date": "2026-01-15",
        "amount": {"amount": amount, "currency": currency},
    }
    body = gql_raw(client, SCHEDULE, variables)
    assert body["data"] is None
    assert all(error["message"] for error in body["errors"])
    return [error["extensions"]["code"] for error in body["errors"]]


def thirty_now_balance_in_thirty(client: TestClient) -> str:
    term = create_entry(
        client,
        PAYMENT_TERM,
        name="30% now, balance in 30 days, 2% within 10 days",
        lines=[
            {"kind": "PERCENT", "value": "30"},
            {"kind": "BALANCE", "days": 30, "discountPercent": "2", "discountDays": 10},
        ],
    )
    term_id: str = term["id"]
    return term_id


def test_a_schedule_splits_the_amount_as_the_term_says(client: TestClient) -> None:
    term_id = thirty_now_balance_in_thirty(client)

    assert schedule(client, term_id, "1000.00") == [
        {
            "dueDate": "2026-01-15",
            "amount": "300.00",
            "discountAmount": None,
            "discountUntil": None,
        },
        {
            "dueDate": "2026-02-14",
            "amount": "700.00",
            "discountAmount": "686.00",
            "discountUntil": "2026-01-25",
        },
    ]


def test_a_yen_schedule_has_no_decimals_and_asks_nothing_to_be_recorded(
    client: TestClient, db: Database
) -> None:
    term_id = thirty_now_balance_in_thirty(client)
    before = event_count(db)

    found = schedule(client, term_id, "9999", "jpy")

    assert [(i["amount"], i["discountAmount"]) for i in found] == [("3000", None), ("6999", "6859")]
    assert event_count(db) == before


def test_an_archived_term_still_computes(client: TestClient) -> None:
    term_id = thirty_now_balance_in_thirty(client)
    run(client, PAYMENT_TERM, "archive", id=term_id)

    assert [i["amount"] for i in schedule(client, term_id, "10.00")] == ["3.00", "7.00"]


def test_a_viewer_may_ask_for_a_schedule(client: TestClient, db: Database) -> None:
    term_id = thirty_now_balance_in_thirty(client)
    as_key(client, key_for(db, "viewer"))

    assert len(schedule(client, term_id, "10.00")) == 2


def test_an_unknown_payment_term_is_not_found(client: TestClient) -> None:
    pricelist = create_pricelist(client, "Retail")["id"]
    unknown = to_global_id("PaymentTerm", uuid.uuid4())
    pricelist_as_term = to_global_id("PaymentTerm", from_global_id(pricelist)[1])

    assert refusal(client, unknown, "10.00", "EUR") == ["NOT_FOUND"]
    assert refusal(client, pricelist, "10.00", "EUR") == ["NOT_FOUND"]
    assert refusal(client, pricelist_as_term, "10.00", "EUR") == ["NOT_FOUND"]
    assert refusal(client, "not-an-id", "10.00", "EUR") == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("10.00", "ZZZ"), ("10.00", "euro"), ("10.5", "JPY"), ("1E+15", "EUR"), ("0.001", "EUR")],
)
def test_a_bad_amount_or_currency_is_a_validation_error(
    client: TestClient, amount: str, currency: str
) -> None:
    term_id = thirty_now_balance_in_thirty(client)

    assert refusal(client, term_id, amount, currency) == ["VALIDATION"]
