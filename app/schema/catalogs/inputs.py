"""Inputs of the catalog mutations. Attribute names are the domain's field names."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from app.schema.catalogs.types import AccountType, PaymentTermLineKind


@strawberry.input(description="An amount in a currency (ISO 4217).")
class MoneyInput:
    amount: Decimal
    currency: str


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


@strawberry.input
class CreateIndustryInput:
    name: str
    full_name: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdateIndustryInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    full_name: strawberry.Maybe[str | None] = None


@strawberry.input
class CreatePaymentTermInput:
    name: str
    note: str | None = None
    lines: list[PaymentTermLineInput] | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdatePaymentTermInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    note: strawberry.Maybe[str | None] = None
    lines: strawberry.Maybe[list[PaymentTermLineInput] | None] = None


@strawberry.input
class CreatePricelistInput:
    name: str
    currency: str
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdatePricelistInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    currency: strawberry.Maybe[str | None] = None


@strawberry.input
class CreateDeliveryMethodInput:
    name: str
    fixed_price: MoneyInput | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdateDeliveryMethodInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    fixed_price: strawberry.Maybe[MoneyInput | None] = None


@strawberry.input
class CreateSalespersonInput:
    name: str
    email: str | None = None
    tz: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdateSalespersonInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    email: strawberry.Maybe[str | None] = None
    tz: strawberry.Maybe[str | None] = None


@strawberry.input
class CreateAccountInput:
    code: str
    name: str
    account_type: AccountType
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdateAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    code: strawberry.Maybe[str | None] = None
    name: strawberry.Maybe[str | None] = None
    account_type: strawberry.Maybe[AccountType | None] = None


@strawberry.input
class CreateFiscalPositionInput:
    name: str
    country_code: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@strawberry.input
class UpdateFiscalPositionInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    country_code: strawberry.Maybe[str | None] = None


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
