"""The catalog types; all are `CatalogItem`s (and `Node`s) built from one read-model row."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from app.locales import formats, names
from app.queries.catalog_queries import CatalogRow
from app.schema.catalogs.descriptions import (
    CATALOG_FIELDS,
    MONEY_FIELDS,
    PAYMENT_TERM_LINE_FIELDS,
)
from app.schema.context import Info
from app.schema.descriptions import RECORD, described
from app.schema.ids import to_global_id
from app.schema.relay import Node


@described(MONEY_FIELDS)
@strawberry.type(description="An amount of money in a currency (ISO 4217).")
class Money:
    amount: Decimal
    currency: str

    @strawberry.field(
        description="The amount as people of the request's language write it "
        "(`€1,500.00`; `1 500,00 €` in French)."
    )
    def formatted(self, info: Info) -> str:
        return formats.money(self.amount, self.currency, info.context.locale)

    @strawberry.field(description="The currency's name in the request's language (Euro).")
    def currency_name(self, info: Info) -> str:
        return names.currency_name(self.currency, info.context.locale)

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> Money | None:
        if not value:
            return None
        return cls(amount=Decimal(value["amount"]), currency=value["currency"])


@strawberry.type(description="A language as partners use it: a locale such as `fr_BE`.")
class Language:
    code: str = strawberry.field(description="The locale: `fr_BE`, or a bare language (`fr`).")
    name: str = strawberry.field(
        description="Its name in the request's language (French (Belgium), Français (Belgique))."
    )


@strawberry.type(description="A country (ISO 3166-1).")
class Country:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 (`BE`).")
    locale: strawberry.Private[str | None] = None
    """The locale its name is said in (None: the request's)."""

    @strawberry.field(description="Its name in the request's language (Germany, Allemagne).")
    def name(self, info: Info) -> str:
        return names.country_name(self.code, self.locale or info.context.locale)

    @classmethod
    def of(cls, code: str | None) -> Country | None:
        return cls(code=code) if code else None


@described(CATALOG_FIELDS, RECORD)
@strawberry.interface(description="An entry of a catalog: archivable, versioned.")
class CatalogItem(Node):
    name: str
    archived: bool
    version: int
    created_at: datetime
    updated_at: datetime


def _common(row: CatalogRow, type_name: str) -> dict[str, Any]:
    return {
        "id": strawberry.ID(to_global_id(type_name, row.id)),
        "name": row.name,
        "archived": row.archived,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="An industry (sector) of companies.")
class Industry(CatalogItem):
    full_name: str | None

    @classmethod
    def from_row(cls, row: CatalogRow) -> Industry:
        return cls(**_common(row, "Industry"), full_name=row.data.get("full_name"))


@described(
    {
        "BALANCE": "What the other lines leave.",
        "PERCENT": "A percentage of the total.",
        "FIXED": "A fixed amount.",
    }
)
@strawberry.enum(description="How an instalment of a payment term is worked out.")
class PaymentTermLineKind(Enum):
    BALANCE = "BALANCE"
    PERCENT = "PERCENT"
    FIXED = "FIXED"


@described(PAYMENT_TERM_LINE_FIELDS)
@strawberry.type(description="One instalment of a payment term.")
class PaymentTermLine:
    kind: PaymentTermLineKind
    value: Decimal | None = strawberry.field(description="Percent, or amount for FIXED.")
    days: int
    end_of_month: bool
    discount_percent: Decimal | None
    discount_days: int | None


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="When invoices fall due; no lines means at once.")
class PaymentTerm(CatalogItem):
    note: str | None
    lines: list[PaymentTermLine]

    @classmethod
    def from_row(cls, row: CatalogRow) -> PaymentTerm:
        lines = [
            PaymentTermLine(
                kind=PaymentTermLineKind(line["kind"]),
                value=Decimal(line["value"]) if line.get("value") is not None else None,
                days=line.get("days", 0),
                end_of_month=line.get("end_of_month", False),
                discount_percent=Decimal(line["discount_percent"])
                if line.get("discount_percent") is not None
                else None,
                discount_days=line.get("discount_days"),
            )
            for line in row.data.get("lines") or []
        ]
        return cls(**_common(row, "PaymentTerm"), note=row.data.get("note"), lines=lines)


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="A pricelist, in one currency.")
class Pricelist(CatalogItem):
    currency: str

    @classmethod
    def from_row(cls, row: CatalogRow) -> Pricelist:
        return cls(**_common(row, "Pricelist"), currency=row.data.get("currency", ""))


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="A way of delivering goods, with an optional fixed price.")
class DeliveryMethod(CatalogItem):
    fixed_price: Money | None

    @classmethod
    def from_row(cls, row: CatalogRow) -> DeliveryMethod:
        return cls(
            **_common(row, "DeliveryMethod"), fixed_price=Money.of(row.data.get("fixed_price"))
        )


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="A salesperson who can be assigned to partners.")
class Salesperson(CatalogItem):
    email: str | None
    tz: str | None
    active: bool

    @classmethod
    def from_row(cls, row: CatalogRow) -> Salesperson:
        return cls(
            **_common(row, "Salesperson"),
            email=row.data.get("email"),
            tz=row.data.get("tz"),
            active=not row.archived,
        )


@described(
    {
        "RECEIVABLE": "What customers owe.",
        "PAYABLE": "What is owed to suppliers.",
    }
)
@strawberry.enum(description="Which side of the ledger an account is on.")
class AccountType(Enum):
    RECEIVABLE = "RECEIVABLE"
    PAYABLE = "PAYABLE"


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="A receivable or payable account of the chart of accounts.")
class Account(CatalogItem):
    code: str
    account_type: AccountType

    @classmethod
    def from_row(cls, row: CatalogRow) -> Account:
        return cls(
            **_common(row, "Account"),
            code=row.data.get("code", ""),
            account_type=AccountType(row.data.get("account_type", "RECEIVABLE")),
        )


@described(CATALOG_FIELDS, RECORD)
@strawberry.type(description="A fiscal position: maps taxes and accounts for a partner.")
class FiscalPosition(CatalogItem):
    country: Country | None

    @classmethod
    def from_row(cls, row: CatalogRow) -> FiscalPosition:
        return cls(
            **_common(row, "FiscalPosition"), country=Country.of(row.data.get("country_code"))
        )


CATALOG_TYPES: dict[str, Any] = {
    "INDUSTRY": Industry,
    "PAYMENT_TERM": PaymentTerm,
    "PRICELIST": Pricelist,
    "DELIVERY_METHOD": DeliveryMethod,
    "SALESPERSON": Salesperson,
    "ACCOUNT": Account,
    "FISCAL_POSITION": FiscalPosition,
}
"""Catalog code -> GraphQL type (whose name is also the global id's type)."""
TYPE_CATALOGS = {cls.__name__: code for code, cls in CATALOG_TYPES.items()}


def catalog_item(row: CatalogRow) -> CatalogItem:
    item: CatalogItem = CATALOG_TYPES[row.catalog].from_row(row)
    return item
