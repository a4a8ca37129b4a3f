"""A commercial partner's credit (`Partner.credit`), and the CREDIT_LIMIT warning a sale
order or invoice gets when it takes the exposure over the limit (app/domain/credit.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import suppress
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from app.domain.credit import Credit, DocumentAmounts, credit_warning
from app.queries.document_queries import DocumentRow
from app.schema.catalogs.types import Money
from app.schema.context import Info
from app.schema.errors import UserError, from_field_error

T = TypeVar("T")


@strawberry.type(
    description="A commercial partner's credit, in its credit limit's currency (documents "
    "in other currencies do not count). The exposure is the residual of its open invoices "
    "(OPEN, PARTIALLY_PAID) less that of its open credit notes, plus its confirmed sale "
    "orders (CONFIRMED: not yet invoiced; DONE ones count through their invoices), its "
    "contacts' documents included; drafts and cancelled documents do not count."
)
class PartnerCredit:
    credit: strawberry.Private[Credit]

    @strawberry.field(description="The credit limit (`commercialTerms.creditLimit`).")
    def limit(self) -> Money:
        return self._money(self.credit.limit)

    @strawberry.field(description="What the partner owes or has ordered, not yet invoiced.")
    def exposure(self) -> Money:
        return self._money(self.credit.exposure)

    @strawberry.field(description="The limit less the exposure; negative once exceeded.")
    def available(self) -> Money:
        return self._money(self.credit.available)

    @strawberry.field(description="The exposure is over the limit (equal to it is not).")
    def exceeded(self) -> bool:
        return self.credit.exceeded

    def _money(self, amount: Decimal) -> Money:
        return Money(amount=amount, currency=self.credit.currency)


async def partner_credit(info: Info, partner_id: UUID) -> PartnerCredit | None:
    """The credit of a commercial partner with a credit limit; None for the others."""
    credit = await info.context.credits.load(partner_id)
    return None if credit is None else PartnerCredit(credit=credit)


def _amounts(row: DocumentRow) -> DocumentAmounts:
    return DocumentAmounts(row.kind, row.status, row.amount, row.amount_paid, row.currency)


def _reloaded(loader: DataLoader[UUID, T], key: UUID) -> Awaitable[T]:
    """`key` read anew, and kept so for the rest of the request."""
    with suppress(KeyError):  # strawberry's `clear` raises for a key not loaded yet
        loader.clear(key)
    return loader.load(key)


async def credit_warnings(
    info: Info, before: DocumentRow | None, after: DocumentRow
) -> list[UserError]:
    """The warnings of a document just recorded (`before` None) or changed: CREDIT_LIMIT
    when it takes its commercial partner's exposure over the credit limit.

    The request's loaders keep what they first read, and a request may hold several
    mutations: the partner (reparented by an earlier one) and its credit (changed by the
    document, and by any earlier one) are read again, and kept for the rest of it."""
    partner = await _reloaded(info.context.partners, after.partner_id)
    if partner is None or partner.commercial_partner_id is None:
        return []
    credit = await _reloaded(info.context.credits, partner.commercial_partner_id)
    earlier = None if before is None else _amounts(before)
    warning = credit_warning(credit, earlier, _amounts(after))
    return [] if warning is None else [from_field_error(warning)]
