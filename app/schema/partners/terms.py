"""Effective commercial terms: what quotes, orders and invoices for a partner use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar
from uuid import UUID

import strawberry

from app.queries.catalog_queries import CatalogRow
from app.queries.partners.rows import PartnerRow
from app.schema.catalogs.types import (
    Account,
    DeliveryMethod,
    FiscalPosition,
    Money,
    PaymentTerm,
    Pricelist,
    Salesperson,
)
from app.schema.context import Info
from app.schema.descriptions import described
from app.schema.partners.descriptions import TERMS

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

T = TypeVar("T")
PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]


async def load_entry(
    info: Info, entry_id: UUID | None, build: Callable[[CatalogRow], T]
) -> T | None:
    """A catalog entry by id as its GraphQL type (archived ones too: they stay shown)."""
    if entry_id is None:
        return None
    row = await info.context.catalog_entries.load(entry_id)
    return build(row) if row is not None else None


@described(TERMS)
@strawberry.type(
    description="The sales & purchase terms that apply, taken from the commercial partner."
)
class CommercialTerms:
    source: strawberry.Private[PartnerRow]
    asked_for: strawberry.Private[PartnerRow]

    @strawberry.field(description="The partner the terms come from, when not this one.")
    async def inherited_from(self, info: Info) -> PartnerRef | None:
        from app.schema.partners.types import Partner

        if self.source.id == self.asked_for.id:
            return None
        return Partner.from_row(self.source)

    @strawberry.field
    async def customer_payment_term(self, info: Info) -> PaymentTerm | None:
        return await load_entry(info, self.source.customer_payment_term_id, PaymentTerm.from_row)

    @strawberry.field
    async def vendor_payment_term(self, info: Info) -> PaymentTerm | None:
        return await load_entry(info, self.source.vendor_payment_term_id, PaymentTerm.from_row)

    @strawberry.field
    async def pricelist(self, info: Info) -> Pricelist | None:
        return await load_entry(info, self.source.pricelist_id, Pricelist.from_row)

    @strawberry.field
    async def delivery_method(self, info: Info) -> DeliveryMethod | None:
        return await load_entry(info, self.source.delivery_method_id, DeliveryMethod.from_row)

    @strawberry.field(description="The commercial partner's salesperson.")
    async def salesperson(self, info: Info) -> Salesperson | None:
        return await load_entry(info, self.source.salesperson_id, Salesperson.from_row)

    @strawberry.field
    async def receivable_account(self, info: Info) -> Account | None:
        return await load_entry(info, self.source.receivable_account_id, Account.from_row)

    @strawberry.field
    async def payable_account(self, info: Info) -> Account | None:
        return await load_entry(info, self.source.payable_account_id, Account.from_row)

    @strawberry.field
    async def fiscal_position(self, info: Info) -> FiscalPosition | None:
        return await load_entry(info, self.source.fiscal_position_id, FiscalPosition.from_row)

    @strawberry.field
    def credit_limit(self) -> Money | None:
        if self.source.credit_limit_amount is None or self.source.credit_limit_currency is None:
            return None
        return Money(
            amount=self.source.credit_limit_amount, currency=self.source.credit_limit_currency
        )
