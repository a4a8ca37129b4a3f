"""Reads for history and as-of: an instant to a partner's version (`partner_versions`,
kept by the audit projection), the audit head, and a partner row built from an aggregate
as it was (resolved by app/domain/resolution.py, as the `partners` table is)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from app.domain import partner as domain
from app.domain import resolution
from app.queries.partners.rows import PartnerRow


@dataclass(frozen=True)
class AsOfPartnerRow(PartnerRow):
    """A partner row as it was; what the `partners` table would not know is carried here."""

    as_of_tag_ids: tuple[UUID, ...] = ()
    as_of_parent: PartnerRow | None = None
    as_of_commercial: PartnerRow | None = None
    as_of_at: datetime | None = None
    """The instant asked for (records kept beside the partner, e.g. its affiliations,
    are shown as they were then)."""


def at_instant(row: PartnerRow, at: datetime | None) -> PartnerRow:
    """An as-of row that knows the instant it was asked at (else its version's time)."""
    if isinstance(row, AsOfPartnerRow):
        return replace(row, as_of_at=at or row.updated_at)
    return row


@dataclass(frozen=True)
class AuditHeadRow:
    position: int
    chain_hash: bytes


class HistoryDirectory:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def version_at(self, partner_id: UUID, at: datetime) -> int | None:
        """The partner's version in force at `at` (its last event at or before), or None
        when it did not exist yet."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT version FROM partner_versions WHERE partner_id = %s "
                "AND occurred_at <= %s ORDER BY occurred_at DESC, version DESC LIMIT 1",
                (partner_id, at),
            )
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def audit_head(self, position: int | None = None) -> AuditHeadRow:
        """The chain's last link, or the link at `position`: the hash over every event up
        to that notification id (the last chained one at or before it)."""
        async with self.pool.connection() as conn:
            if position is None:
                cur = await conn.execute(
                    "SELECT position, hash FROM audit_chain ORDER BY position DESC LIMIT 1"
                )
            else:
                cur = await conn.execute(
                    "SELECT position, hash FROM audit_chain WHERE position <= %s "
                    "ORDER BY position DESC LIMIT 1",
                    (position,),
                )
            row = await cur.fetchone()
        if row is None:
            return AuditHeadRow(0, bytes(32))
        return AuditHeadRow(int(row[0]), bytes(row[1]))


def _uuid(value: Any) -> UUID | None:
    return UUID(str(value)) if value else None


def row_as_of(partner: domain.Partner, parent: PartnerRow | None) -> AsOfPartnerRow:
    """The row the `partners` table held for this state of the partner, its parent being
    in the state `parent` (None: no parent); resolved by app/domain/resolution.py."""
    v = partner.values
    anonymized = bool(getattr(partner, "anonymized", False))
    own = resolution.Own.of(partner.id, partner.kind, v, anonymized=anonymized)
    resolved = resolution.resolve(own, parent)
    if resolved.parent_id is None:
        parent = None
    limit = v.get("credit_limit") or {}
    return AsOfPartnerRow(
        **vars(resolved),
        id=partner.id,
        kind=partner.kind,
        type=own.type,
        email=v.get("email"),
        phone=v.get("phone"),
        mobile=v.get("mobile"),
        website=v.get("website"),
        lang=v.get("lang"),
        tz=v.get("tz"),
        function=v.get("function"),
        vat=own.vat,
        ref=v.get("ref"),
        company_registry=v.get("company_registry"),
        notes=v.get("notes"),
        is_customer=bool(v.get("is_customer")),
        is_supplier=bool(v.get("is_supplier")),
        industry_id=own.industry_id,
        salesperson_id=own.salesperson_id,
        customer_payment_term_id=_uuid(v.get("customer_payment_term_id")),
        vendor_payment_term_id=_uuid(v.get("vendor_payment_term_id")),
        pricelist_id=_uuid(v.get("pricelist_id")),
        delivery_method_id=_uuid(v.get("delivery_method_id")),
        receivable_account_id=_uuid(v.get("receivable_account_id")),
        payable_account_id=_uuid(v.get("payable_account_id")),
        fiscal_position_id=_uuid(v.get("fiscal_position_id")),
        credit_limit_amount=Decimal(limit["amount"]) if limit.get("amount") else None,
        credit_limit_currency=limit.get("currency"),
        archived=bool(getattr(partner, "archived", False)),
        external_id=v.get("external_id"),
        anonymized=anonymized,
        merged_into=_uuid(getattr(partner, "merged_into", None)),
        version=partner.version,
        created_at=partner.created_on,
        updated_at=partner.modified_on,
        name_key=resolved.name.lower(),
        display_name_key=resolved.display_name.lower(),
        as_of_tag_ids=tuple(UUID(t) for t in v.get("tag_ids") or ()),
        as_of_parent=parent,
        as_of_commercial=None
        if parent is None or own.kind == "COMPANY"
        else _commercial_of(parent),
    )


def _commercial_of(row: PartnerRow) -> PartnerRow:
    """The commercial partner's row, following as-of parents (each built the same way)."""
    while isinstance(row, AsOfPartnerRow) and row.commercial_partner_id != row.id:
        if row.as_of_parent is None:
            break
        row = row.as_of_parent
    return row
