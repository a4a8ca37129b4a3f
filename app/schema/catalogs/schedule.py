"""`paymentSchedule`: a payment term's instalments for a date and an amount, before a
document is issued; `Instalment` is also how a document shows its due dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry

from app.domain import payment_schedule as schedule
from app.domain.errors import DomainError
from app.domain.messages import Message
from app.locales import formats
from app.schema.catalogs.inputs import MoneyInput
from app.schema.context import Info
from app.schema.descriptions import described
from app.schema.errors import ClientError
from app.schema.ids import BadId, expect_id


@strawberry.type(description="An amount that falls due on a date, with its early-payment terms.")
class Instalment:
    due_date: dt.date = strawberry.field(description="When it falls due.")
    amount: Decimal = strawberry.field(
        description="What falls due, in the document's currency and its minor unit."
    )
    discount_amount: Decimal | None = strawberry.field(
        description="What settles it if paid by `discountUntil` (null: no early-payment discount)."
    )
    discount_until: dt.date | None = strawberry.field(
        description="The last day the discounted amount settles it."
    )

    currency: strawberry.Private[str | None] = None

    @strawberry.field(
        description="`amount` with its currency, as people of the request's language write it "
        "(`1 500,00 €` in French); null when the currency is unknown."
    )
    def amount_formatted(self, info: Info) -> str | None:
        if self.currency is None:
            return None
        return formats.money(self.amount, self.currency, info.context.locale)

    @classmethod
    def of(cls, instalment: schedule.Instalment, currency: str | None = None) -> Instalment:
        return cls(
            due_date=instalment.due_date,
            amount=instalment.amount,
            discount_amount=instalment.discount_amount,
            discount_until=instalment.discount_until,
            currency=currency,
        )


async def _term_lines(info: Info, payment_term_id: str) -> list[dict[str, Any]]:
    """The lines of a payment term (archived ones too: documents keep theirs); an id of
    no payment term is NOT_FOUND."""
    try:
        ident = expect_id(payment_term_id, "PaymentTerm")
    except BadId as error:
        raise ClientError(Message("paymentTermId: %(error)s", error=error), "NOT_FOUND") from None
    row = await info.context.catalog_entries.load(ident)
    if row is None or row.catalog != "PAYMENT_TERM":
        raise ClientError(
            Message(
                "paymentTermId: no payment term %(payment_term_id)s",
                payment_term_id=payment_term_id,
            ),
            "NOT_FOUND",
        )
    lines: list[dict[str, Any]] = row.data.get("lines") or []
    return lines


_ARGUMENTS: dict[tuple[str, ...], str] = {
    ("amount",): "amount.amount",
    ("currency",): "amount.currency",
    ("date",): "date",
}
"""The argument each of the domain's fields comes from."""


def _instalments(
    lines: list[dict[str, Any]], date: dt.date, amount: MoneyInput
) -> list[Instalment]:
    try:
        found = schedule.payment_schedule(lines, date, amount.amount, amount.currency)
    except DomainError as error:
        first = error.errors[0]
        where = _ARGUMENTS.get(first.field, "paymentSchedule")
        raise ClientError(
            Message("%(where)s: %(message)s", where=where, message=first.message), first.code.value
        ) from None
    return [Instalment.of(instalment, amount.currency) for instalment in found]


@described(
    {
        "payment_term_id": "The payment term (a `PaymentTerm` id; archived ones too).",
        "date": "The document's date: the days are counted from it.",
        "amount": "The document's total and its currency.",
    }
)
@strawberry.type
class PaymentScheduleQueries:
    @strawberry.field(
        description="The instalments of `amount` under a payment term for a document dated "
        "`date`, computed as Odoo 16 does: lines in order, the BALANCE last and taking the "
        "rounding remainder; due `days` after `date` (then at the end of that month with "
        "`endOfMonth`); a discount line's `discountAmount` settles it until `date` + "
        "`discountDays`. Amounts are in the currency's minor unit and add up to `amount` (a "
        "negative one, a refund, gives negative instalments). Instalments due together on the "
        "same terms are one. An id of no payment term is NOT_FOUND; an amount finer than the "
        "currency's minor unit, an unknown currency or a due date past 9999 is VALIDATION."
    )
    async def payment_schedule(
        self, info: Info, payment_term_id: strawberry.ID, date: dt.date, amount: MoneyInput
    ) -> list[Instalment]:
        lines = await _term_lines(info, payment_term_id)
        return _instalments(lines, date, amount)
