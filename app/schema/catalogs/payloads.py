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
from app.schema.descriptions import PAYLOAD, described
from app.schema.errors import UserError


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the industry catalog.")
class IndustryPayload:
    industry: Industry | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the payment term catalog.")
class PaymentTermPayload:
    payment_term: PaymentTerm | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the pricelist catalog.")
class PricelistPayload:
    pricelist: Pricelist | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the delivery method catalog.")
class DeliveryMethodPayload:
    delivery_method: DeliveryMethod | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the salesperson catalog.")
class SalespersonPayload:
    salesperson: Salesperson | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the account catalog.")
class AccountPayload:
    account: Account | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a mutation of the fiscal position catalog.")
class FiscalPositionPayload:
    fiscal_position: FiscalPosition | None = strawberry.field(
        description="The entry after the change; null when refused."
    )
    user_errors: list[UserError]
