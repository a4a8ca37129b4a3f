"""When a document's amount falls due: the instalments an invoice, a vendor bill or a credit
note carries, computed from the payment term it took when it was recorded.

The document keeps the term's lines as they were (`payment_term_lines` of its `Recorded`
event) and its instalments (`due_dates`): a later edit of the payment term changes no
recorded document, and a new amount is spread again over the lines the document took."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.payment_schedule import Instalment, payment_schedule

DUE_KINDS = ("INVOICE", "VENDOR_BILL", "CREDIT_NOTE")
"""Kinds that carry due dates (the kinds with an amount paid)."""
OVERDUE_KINDS = ("INVOICE", "VENDOR_BILL")
"""Kinds that can be overdue: what a customer owes us, or what we owe a supplier."""
UNPAID_STATUSES = ("OPEN", "PARTIALLY_PAID")
"""Statuses of an issued document with something left to pay."""

StoredInstalment = dict[str, str | None]
"""An instalment as events and the read model keep it: ISO dates, decimal strings."""


def due_dates(
    kind: str,
    lines: Sequence[Mapping[str, Any]] | None,
    document_date: str,
    amount: str | None,
    currency: str | None,
) -> list[StoredInstalment] | None:
    """The instalments of a new document or of a new amount: None for kinds that carry
    none; empty without an amount; else the payment term's `lines` (none: all due on the
    document's date) spread over the amount, as `payment_schedule` computes them (an amount
    finer than the currency's smallest unit is a VALIDATION error on `amount`)."""
    if kind not in DUE_KINDS:
        return None
    if amount is None or currency is None:
        return []
    found = payment_schedule(
        lines or [], date.fromisoformat(document_date), Decimal(amount), currency
    )
    return [_stored(instalment) for instalment in found]


def _stored(instalment: Instalment) -> StoredInstalment:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return {
        "due_date": instalment.due_date.isoformat(),
        "amount": str(instalment.amount),
        "discount_amount": text(instalment.discount_amount),
        "discount_until": text(instalment.discount_until),
    }


def instalments(stored: Sequence[Mapping[str, Any]] | None) -> list[Instalment]:
    """The instalments a document carries, read back from their stored form."""
    return [
        Instalment(
            due_date=date.fromisoformat(str(item["due_date"])),
            amount=Decimal(str(item["amount"])),
            discount_amount=_decimal(item.get("discount_amount")),
            discount_until=_date(item.get("discount_until")),
        )
        for item in stored or ()
    ]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))
