"""Inputs of the catalog mutations. Attribute names are the domain's field names."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from app.schema.catalogs.descriptions import (
    CATALOG_FIELDS,
    MONEY_FIELDS,
    PAYMENT_TERM_LINE_FIELDS,
)
from app.schema.catalogs.types import AccountType, PaymentTermLineKind
from app.schema.descriptions import COMMAND, described


@described(MONEY_FIELDS)
@strawberry.input(description="An amount in a currency (ISO 4217).")
class MoneyInput:
    amount: Decimal
    currency: str


@described(PAYMENT_TERM_LINE_FIELDS)
@strawberry.input(
    description="One instalment: PERCENT of the total, a FIXED amount, or the BALANCE."
)
class PaymentTermLineInput:
    kind: PaymentTermLineKind
    value: Decimal | None = None
    days: int = 0
    end_of_month: bool = False
    discount_percent: Decimal | None = None
    discount_days: int | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new industry.")
class CreateIndustryInput:
    name: str
    full_name: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A patch of an industry: fields left out are unchanged, null clears.")
class UpdateIndustryInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    full_name: strawberry.Maybe[str | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new payment term.")
class CreatePaymentTermInput:
    name: str
    note: str | None = None
    lines: list[PaymentTermLineInput] | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(
    description="A patch of a payment term: fields left out are unchanged, null clears; `lines` replaces them all."
)
class UpdatePaymentTermInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    note: strawberry.Maybe[str | None] = None
    lines: strawberry.Maybe[list[PaymentTermLineInput] | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new pricelist.")
class CreatePricelistInput:
    name: str
    currency: str
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A patch of a pricelist: fields left out are unchanged.")
class UpdatePricelistInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    currency: strawberry.Maybe[str | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new delivery method.")
class CreateDeliveryMethodInput:
    name: str
    fixed_price: MoneyInput | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(
    description="A patch of a delivery method: fields left out are unchanged, null clears."
)
class UpdateDeliveryMethodInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    fixed_price: strawberry.Maybe[MoneyInput | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new salesperson.")
class CreateSalespersonInput:
    name: str
    email: str | None = None
    tz: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(
    description="A patch of a salesperson: fields left out are unchanged, null clears."
)
class UpdateSalespersonInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    email: strawberry.Maybe[str | None] = None
    tz: strawberry.Maybe[str | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new account.")
class CreateAccountInput:
    code: str
    name: str
    account_type: AccountType
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A patch of an account: fields left out are unchanged.")
class UpdateAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    code: strawberry.Maybe[str | None] = None
    name: strawberry.Maybe[str | None] = None
    account_type: strawberry.Maybe[AccountType | None] = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(description="A new fiscal position.")
class CreateFiscalPositionInput:
    name: str
    country_code: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(CATALOG_FIELDS, COMMAND)
@strawberry.input(
    description="A patch of a fiscal position: fields left out are unchanged, null clears."
)
class UpdateFiscalPositionInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    country_code: strawberry.Maybe[str | None] = None


@described(COMMAND)
@strawberry.input(description="Archive or restore a catalog entry.")
class CatalogStateInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


CONTROL_FIELDS = {"id", "expected_version", "reason", "idempotency_key"}


def plain(value: Any) -> Any:
    """Input objects, enums and decimals as the domain's plain values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def create_values(data: object) -> dict[str, Any]:
    assert dataclasses.is_dataclass(data)
    return {
        f.name: plain(getattr(data, f.name))
        for f in dataclasses.fields(data)
        if f.name not in CONTROL_FIELDS
    }


def update_changes(data: object) -> dict[str, Any]:
    """Only the fields the client sent (each a `Some`, its value possibly null)."""
    assert dataclasses.is_dataclass(data)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(data):
        given = getattr(data, f.name)
        if f.name not in CONTROL_FIELDS and given is not None:
            changes[f.name] = plain(given.value)
    return changes
