"""The payloads of the catalog mutations: the entry (null when refused) and `userErrors`."""

from __future__ import annotations

import strawberry

from app.schema.catalogs.types import (
    Account,
    DeliveryMethod,
    FiscalPosition,
    Industry,
    PaymentTerm,
    Pricelist,
    Salesperson,
)
from app.schema.errors import UserError


@strawberry.type
class IndustryPayload:
    industry: Industry | None
    user_errors: list[UserError]


@strawberry.type
class PaymentTermPayload:
    payment_term: PaymentTerm | None
    user_errors: list[UserError]


@strawberry.type
class PricelistPayload:
    pricelist: Pricelist | None
    user_errors: list[UserError]


@strawberry.type
class DeliveryMethodPayload:
    delivery_method: DeliveryMethod | None
    user_errors: list[UserError]


@strawberry.type
class SalespersonPayload:
    salesperson: Salesperson | None
    user_errors: list[UserError]


@strawberry.type
class AccountPayload:
    account: Account | None
    user_errors: list[UserError]


@strawberry.type
class FiscalPositionPayload:
    fiscal_position: FiscalPosition | None
    user_errors: list[UserError]
