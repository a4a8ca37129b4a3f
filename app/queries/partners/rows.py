"""A partner's row as the queries read it, its columns, and what every read of the
`partners` table holds: the async pool and the table's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class PartnerRow:
    id: UUID
    kind: str
    type: str
    parent_id: UUID | None
    commercial_partner_id: UUID
    address_from_id: UUID
    own_name: str | None
    name: str
    display_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    website: str | None
    lang: str | None
    tz: str | None
    function: str | None
    street: str | None
    street2: str | None
    city: str | None
    zip: str | None
    state_code: str | None
    country_code: str | None
    vat: str | None
    effective_vat: str | None
    ref: str | None
    company_registry: str | None
    notes: str | None
    external_id: str | None
    is_customer: bool
    is_supplier: bool
    industry_id: UUID | None
    salesperson_id: UUID | None
    effective_industry_id: UUID | None
    effective_salesperson_id: UUID | None
    customer_payment_term_id: UUID | None
    vendor_payment_term_id: UUID | None
    pricelist_id: UUID | None
    delivery_method_id: UUID | None
    receivable_account_id: UUID | None
    payable_account_id: UUID | None
    fiscal_position_id: UUID | None
    credit_limit_amount: Decimal | None
    credit_limit_currency: str | None
    archived: bool
    anonymized: bool
    version: int
    created_at: datetime
    updated_at: datetime
    name_key: str
    display_name_key: str
    total_invoiced: Decimal | None = None
    relevance: int | None = None
    """Computed only when the page is ordered by them."""
    merged_into: UUID | None = None
    """The partner this one was merged into (see app/domain/merge.py)."""


COLUMNS = SQL(
    SQL(", ")
    .join(
        Identifier(f)
        for f in PartnerRow.__dataclass_fields__
        if f not in ("total_invoiced", "relevance")
    )
    .as_string(None)
)
"""The row's columns, quoted once: composed of 52 `Identifier`s, psycopg escaped each
name again in every page's statement (~50 µs)."""


class PartnerReads:
    """A read of the partners table through the async pool; `PartnerDirectory` composes
    them."""

    def __init__(self, pool: AsyncConnectionPool[Any], table: str = "partners") -> None:
        self.pool = pool
        self.table = Identifier(table)
