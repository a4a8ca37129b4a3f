"""Instalments from payment terms, checked against what Odoo 16 computes for the same term
(account.payment.term._compute_terms): splits, due dates, discounts, rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.catalog import normalize_lines
from app.domain.errors import DomainError, ErrorCode
from app.domain.payment_schedule import Instalment, TermLine, payment_schedule

JAN_15 = date(2026, 1, 15)


def schedule(lines: list[Any], amount: str, currency: str = "EUR") -> list[tuple[Any, ...]]:
    """(due date, amount, discount amount, discount until) of each instalment, the lines
    first stored as the catalog stores them."""
    found = payment_schedule(normalize_lines(lines), JAN_15, Decimal(amount), currency)
    return [(i.due_date, str(i.amount), i.discount_amount, i.discount_until) for i in found]


def test_thirty_percent_now_and_the_balance_in_thirty_days() -> None:
    lines = [{"kind": "PERCENT", "value": "30"}, {"kind": "BALANCE", "days": 30}]

    assert schedule(lines, "1000.00") == [
        (date(2026, 1, 15), "300.00", None, None),
        (date(2026, 2, 14), "700.00", None, None),
    ]


def test_thirty_days_end_of_month_is_the_last_day_of_the_month_reached() -> None:
    lines = [{"kind": "BALANCE", "days": 30, "end_of_month": True}]

    assert schedule(lines, "500.00") == [(date(2026, 2, 28), "500.00", None, None)]
    in_a_leap_year = payment_schedule(normalize_lines(lines), date(2024, 1, 15), Decimal(5), "EUR")
    assert in_a_leap_year[0].due_date == date(2024, 2, 29)


def test_two_percent_discount_within_ten_days() -> None:
    lines = [{"kind": "BALANCE", "days": 30, "discount_percent": "2", "discount_days": 10}]

    assert schedule(lines, "1000.00") == [
        (date(2026, 2, 14), "1000.00", Decimal("980.00"), date(2026, 1, 25)),
    ]


def test_the_discounted_amount_is_rounded_to_the_cent() -> None:
    lines = [{"kind": "BALANCE", "days": 30, "discount_percent": "2", "discount_days": 10}]

    # 99.99 x 0.98 = 97.9902
    assert schedule(lines, "99.99")[0][2] == Decimal("97.99")


def test_three_equal_thirds_put_the_remainder_on_the_balance() -> None:
    lines = [
        {"kind": "PERCENT", "value": "33.33"},
        {"kind": "PERCENT", "value": "33.33", "days": 30},
        {"kind": "BALANCE", "days": 60},
    ]

    assert [amount for _, amount, _, _ in schedule(lines, "100.00")] == ["33.33", "33.33", "33.34"]


def test_percent_lines_round_half_away_from_zero() -> None:
    lines = [{"kind": "PERCENT", "value": "50"}, {"kind": "BALANCE", "days": 30}]

    assert [amount for _, amount, _, _ in schedule(lines, "0.05")] == ["0.03", "0.02"]


def test_a_yen_amount_has_no_minor_unit() -> None:
    lines = [
        {"kind": "PERCENT", "value": "33.33"},
        {"kind": "PERCENT", "value": "33.33", "days": 30},
        {"kind": "BALANCE", "days": 60},
    ]

    assert [amount for _, amount, _, _ in schedule(lines, "10000", "JPY")] == [
        "3333",
        "3333",
        "3334",
    ]


def test_a_yen_amount_with_decimals_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        payment_schedule([], JAN_15, Decimal("100.50"), "JPY")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        (("amount",), ErrorCode.VALIDATION)
    ]


def test_a_fixed_amount_then_the_balance() -> None:
    lines = [{"kind": "FIXED", "value": "150"}, {"kind": "BALANCE", "days": 30}]

    assert [amount for _, amount, _, _ in schedule(lines, "1000.00")] == ["150.00", "850.00"]


def test_a_fixed_amount_over_the_total_leaves_nothing_negative() -> None:
    lines = [{"kind": "FIXED", "value": "150"}, {"kind": "BALANCE", "days": 30}]

    assert [amount for _, amount, _, _ in schedule(lines, "100.00")] == ["100.00", "0.00"]


def test_no_lines_is_the_whole_amount_at_once() -> None:
    assert schedule([], "250.00") == [(JAN_15, "250.00", None, None)]


def test_percent_lines_without_a_balance_put_the_remainder_on_the_last() -> None:
    lines = [{"kind": "PERCENT", "value": "50"}, {"kind": "PERCENT", "value": "50", "days": 30}]

    assert [amount for _, amount, _, _ in schedule(lines, "0.05")] == ["0.03", "0.02"]


def test_instalments_due_together_with_the_same_discount_are_one() -> None:
    lines = [{"kind": "PERCENT", "value": "40", "days": 30}, {"kind": "BALANCE", "days": 30}]

    assert schedule(lines, "100.00") == [(date(2026, 2, 14), "100.00", None, None)]


def test_a_credit_note_gets_negative_instalments() -> None:
    lines = [
        {"kind": "FIXED", "value": "10"},
        {"kind": "PERCENT", "value": "50", "days": 10},
        {"kind": "BALANCE", "days": 30, "discount_percent": "2", "discount_days": 10},
    ]

    assert schedule(lines, "-100.05") == [
        (date(2026, 1, 15), "-10.00", None, None),
        (date(2026, 1, 25), "-50.03", None, None),
        (date(2026, 2, 14), "-40.02", Decimal("-39.22"), date(2026, 1, 25)),
    ]


def test_a_fixed_amount_under_the_smallest_unit_is_zero_never_minus_zero() -> None:
    lines = [TermLine("FIXED", Decimal("0.001")), TermLine("BALANCE", days=30)]

    found = payment_schedule(lines, JAN_15, Decimal("-10.00"), "EUR")

    assert [str(i.amount) for i in found] == ["0.00", "-10.00"]


def test_the_balance_is_last_whatever_order_the_lines_come_in() -> None:
    lines = [TermLine("BALANCE", days=30), TermLine("PERCENT", Decimal("30"))]

    found = payment_schedule(lines, JAN_15, Decimal("10.00"), "EUR")

    assert found == (
        Instalment(JAN_15, Decimal("3.00")),
        Instalment(date(2026, 2, 14), Decimal("7.00")),
    )


@pytest.mark.parametrize("currency", ["ZZZ", "euro", "", "XX1"])
def test_an_unknown_currency_is_a_validation_error(currency: str) -> None:
    with pytest.raises(DomainError) as refused:
        payment_schedule([], JAN_15, Decimal("1.00"), currency)
    assert [(e.field, e.code) for e in refused.value.errors] == [
        (("currency",), ErrorCode.VALIDATION)
    ]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1E+15", "-1E+15"])
def test_an_unusable_amount_is_a_validation_error(amount: str) -> None:
    with pytest.raises(DomainError) as refused:
        payment_schedule([], JAN_15, Decimal(amount), "EUR")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        (("amount",), ErrorCode.VALIDATION)
    ]


def test_a_due_date_past_the_calendar_is_a_validation_error() -> None:
    lines = normalize_lines([{"kind": "BALANCE", "days": 30}])
    with pytest.raises(DomainError) as refused:
        payment_schedule(lines, date(9999, 12, 15), Decimal("1.00"), "EUR")
    assert [(e.field, e.code) for e in refused.value.errors] == [(("date",), ErrorCode.VALIDATION)]


percent = st.decimals(min_value="0.01", max_value="49.99", places=2)
line = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("PERCENT"), "value": percent.map(str), "days": st.integers(0, 120)},
        optional={"discount_percent": st.just("2"), "discount_days": st.integers(0, 10)},
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("FIXED"),
            "value": st.decimals(min_value="0.01", max_value="5000", places=2).map(str),
            "days": st.integers(0, 120),
            "end_of_month": st.booleans(),
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line, max_size=2),
    balance_days=st.integers(0, 365),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CLF", "USD"]),
    units=st.integers(-(10**12), 10**12),
    on=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_instalments_always_add_up_to_the_amount(
    lines: list[dict[str, Any]], balance_days: int, currency: str, units: int, on: date
) -> None:
    exponent = -get_currency_precision(currency)
    amount = Decimal(units).scaleb(exponent)
    term = normalize_lines([*lines, {"kind": "BALANCE", "days": balance_days}])

    found = payment_schedule(term, on, amount, currency)

    assert sum(i.amount for i in found) == amount
    assert all(i.amount.as_tuple().exponent == exponent for i in found)
    assert all(i.amount == 0 or (i.amount < 0) == (amount < 0) for i in found)
    assert all(i.due_date >= on for i in found)
    assert [i.due_date for i in found] == sorted(i.due_date for i in found)
