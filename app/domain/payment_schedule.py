"""When a document's amount falls due: a payment term's lines turned into instalments, as
Odoo 16 computes them (`account.payment.term._compute_terms` and the grouping of its
invoices' due lines), in the currency's minor unit."""

from __future__ import annotations

import calendar
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import get_currency_precision, list_currencies

from app.domain.catalog import Invalid, normalize_amount, normalize_currency
from app.domain.errors import validation
from app.domain.messages import Message


@dataclass(frozen=True)
class TermLine:
    """One line of a payment term, as `CatalogEntry` stores it (`catalog.normalize_lines`)."""

    kind: str
    """PERCENT of the total, a FIXED amount, or the BALANCE (what is left)."""
    value: Decimal | None = None
    days: int = 0
    end_of_month: bool = False
    discount_percent: Decimal | None = None
    discount_days: int = 0

    @classmethod
    def of(cls, line: TermLine | Mapping[str, Any]) -> TermLine:
        """A line as given, or read from its stored form (decimals as strings)."""
        if isinstance(line, TermLine):
            return line
        return cls(
            kind=str(line["kind"]),
            value=_decimal(line.get("value")),
            days=int(line.get("days") or 0),
            end_of_month=bool(line.get("end_of_month")),
            discount_percent=_decimal(line.get("discount_percent")),
            discount_days=int(line.get("discount_days") or 0),
        )


@dataclass(frozen=True)
class Instalment:
    """What falls due on `due_date`; `discount_amount` settles it if paid by `discount_until`."""

    due_date: date
    amount: Decimal
    discount_amount: Decimal | None = None
    discount_until: date | None = None
    discount_percent: Decimal | None = None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@functools.cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (0.01 EUR, 1 JPY, 0.001 KWD), from Babel's CLDR
    data; an unknown code is a VALIDATION error on `currency`."""
    try:
        code = normalize_currency(currency)
    except Invalid as error:
        raise validation(str(error), "currency") from None
    if code not in _known_currencies():
        raise validation(
            Message("'%(currency)s' is not a currency with known decimals", currency=currency),
            "currency",
        )
    return Decimal(1).scaleb(-get_currency_precision(code))


def _round(value: Decimal, unit: Decimal) -> Decimal:
    """Half away from zero, as Odoo's `float_round` (no negative zero)."""
    return value.quantize(unit, rounding=ROUND_HALF_UP) + 0


def _total(amount: Decimal, currency: str, unit: Decimal) -> Decimal:
    try:
        total = Decimal(normalize_amount(amount, minimum=None))
    except Invalid as error:
        raise validation(str(error), "amount") from None
    if total != _round(total, unit):
        message = Message(
            "%(amount)s is finer than %(currency)s's smallest unit, %(unit)s",
            amount=amount,
            currency=currency.strip().upper(),
            unit=unit,
        )
        raise validation(message, "amount")
    return _round(total, unit)


def _due(document_date: date, line: TermLine) -> date:
    try:
        due = document_date + timedelta(days=line.days)
    except OverflowError:
        raise validation("the due date would fall after the year 9999", "date") from None
    if line.end_of_month:
        due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
    return due


def _amounts(lines: Sequence[TermLine], total: Decimal, unit: Decimal) -> list[Decimal]:
    """Each line's amount, in order. The BALANCE line (or, in a term without one, the last
    line) takes what is left, so the rounding remainder lands on it. Beyond Odoo, a line
    never takes more than is left: FIXED amounts over the total do not make a later line
    negative."""
    has_balance = any(line.kind == "BALANCE" for line in lines)
    sign = -1 if total < 0 else 1
    left = total
    amounts: list[Decimal] = []
    for index, line in enumerate(lines):
        if line.kind == "BALANCE" or (not has_balance and index == len(lines) - 1):
            part = left
        elif line.kind == "PERCENT":
            part = _round(total * (line.value or 0) / 100, unit)
        else:  # FIXED: its value, with the document's sign (a credit note's is negative)
            part = _round(sign * (line.value or Decimal(0)), unit)
        if abs(part) > abs(left):
            part = left
        amounts.append(part)
        left -= part
    return amounts


def _instalment(document_date: date, line: TermLine, amount: Decimal, unit: Decimal) -> Instalment:
    due = _due(document_date, line)
    if not line.discount_percent:
        return Instalment(due, amount)
    early = _round(amount * (1 - line.discount_percent / 100), unit)
    try:
        until = document_date + timedelta(days=line.discount_days)
    except OverflowError:
        raise validation("the discount date would fall after the year 9999", "date") from None
    return Instalment(due, amount, early, until, line.discount_percent)


def _grouped(instalments: list[Instalment]) -> tuple[Instalment, ...]:
    """Instalments due on the same date with the same discount terms are one (as Odoo's
    invoice due lines and its preview), by due date."""
    groups: dict[tuple[date, date | None, Decimal | None], Instalment] = {}
    for item in instalments:
        key = (item.due_date, item.discount_until, item.discount_percent)
        known = groups.get(key)
        if known is None:
            groups[key] = item
            continue
        early = None
        if known.discount_amount is not None and item.discount_amount is not None:
            early = known.discount_amount + item.discount_amount
        groups[key] = Instalment(
            item.due_date, known.amount + item.amount, early, item.discount_until, key[2]
        )
    return tuple(sorted(groups.values(), key=lambda item: item.due_date))


def payment_schedule(
    lines: Sequence[TermLine | Mapping[str, Any]],
    document_date: date,
    amount: Decimal,
    currency: str,
) -> tuple[Instalment, ...]:
    """The instalments of `amount` in `currency` for a document dated `document_date`
    under a payment term with `lines` (stored dicts or `TermLine`s; none: all due at
    once). Lines run in order with the BALANCE last; PERCENT is the total x value/100 and
    FIXED the value, each rounded to the currency's minor unit; the BALANCE takes what
    is left. Due: the date + days, then with `end_of_month` that month's last day. A
    discount line may be settled by its amount x (1 - discount%/100), rounded, until the
    date + discountDays. The instalments add up to `amount` exactly; a negative amount
    (a refund) gives negative instalments. A bad amount or currency, or a due date past
    the calendar, is a VALIDATION `DomainError`."""
    unit = minor_unit(currency)
    total = _total(amount, currency, unit)
    terms = [TermLine.of(line) for line in lines] or [TermLine("BALANCE")]
    ordered = sorted(terms, key=lambda line: line.kind == "BALANCE")
    amounts = _amounts(ordered, total, unit)
    return _grouped(
        [
            _instalment(document_date, line, part, unit)
            for line, part in zip(ordered, amounts, strict=True)
        ]
    )
