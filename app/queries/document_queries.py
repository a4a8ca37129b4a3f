"""Documents of the 360° view (what other modules report about a partner: quotations,
orders, invoices, payments, tickets…), and what they mean in money."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.queries import record_pages as pages
from app.queries.due_queries import overdue
from app.queries.partner_scope import scope_of
from app.queries.record_pages import Page, RecordReader, encode_cursor

INVOICED = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 WHEN d.kind = 'INVOICE' THEN d.amount "
    "WHEN d.kind = 'CREDIT_NOTE' THEN -d.amount ELSE 0 END"
)
INBOUND = SQL("d.direction IS DISTINCT FROM 'OUTBOUND'")
"""A payment from a customer (one recorded before payments had a direction has none)."""
PAID = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 "
    "WHEN d.kind = 'PAYMENT' AND d.status = 'DONE' AND {inbound} THEN d.amount "
    "WHEN d.kind = 'INVOICE' AND d.status = 'PAID' THEN d.amount "
    "WHEN d.kind = 'INVOICE' THEN COALESCE(d.amount_paid, 0) "
    "WHEN d.kind = 'CREDIT_NOTE' AND d.status = 'PAID' THEN -d.amount "
    "WHEN d.kind = 'CREDIT_NOTE' THEN -COALESCE(d.amount_paid, 0) ELSE 0 END"
).format(inbound=INBOUND)
BILLED = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 "
    "WHEN d.kind = 'VENDOR_BILL' THEN d.amount ELSE 0 END"
)
PAID_TO_SUPPLIER = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 "
    "WHEN d.kind = 'PAYMENT' AND d.status = 'DONE' AND NOT {inbound} THEN d.amount "
    "WHEN d.kind = 'VENDOR_BILL' AND d.status = 'PAID' THEN d.amount "
    "WHEN d.kind = 'VENDOR_BILL' THEN COALESCE(d.amount_paid, 0) ELSE 0 END"
).format(inbound=INBOUND)


def ordered(kind: str) -> Composable:
    """The amount of an order of `kind` (SALE_ORDER, PURCHASE_ORDER), neither draft nor
    cancelled."""
    return SQL(
        "CASE WHEN d.kind = {} AND d.status NOT IN ('DRAFT', 'CANCELLED') THEN d.amount ELSE 0 END"
    ).format(Literal(kind))


def total_invoiced(partner: Composable) -> Composable:
    """For ordering partners: invoiced minus credited, all currencies together."""
    return SQL(
        "(SELECT COALESCE(sum({inv}), 0) FROM documents d WHERE d.partner_id IN {s})"
    ).format(inv=INVOICED, s=scope_of(partner))


@dataclass(frozen=True)
class DocumentRow:
    id: UUID
    partner_id: UUID
    module: str
    kind: str
    reference: str
    date: date
    amount: Decimal | None
    currency: str | None
    status: str
    amount_paid: Decimal | None
    version: int
    created_at: datetime
    updated_at: datetime
    direction: str | None = None
    """A payment's direction (None on rows projected before payments had one: INBOUND)."""
    terms: dict[str, Any] | None = None
    """The commercial terms it took, as its `Recorded` event carries them."""
    due_dates: list[dict[str, Any]] | None = None
    """Its instalments, as its events carry them (None: a kind without due dates)."""
    due_date: dt.date | None = None
    """When its earliest instalment not yet paid falls due (app/projections/documents.py)."""
    overdue: bool = False
    """Overdue at the clock reading it was read with (app/queries/due_queries.py)."""


@dataclass(frozen=True)
class DocumentFilter:
    partner_id: UUID | None = None
    modules: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    date_after: date | None = None
    date_before: date | None = None


def _selected(now: datetime) -> Composable:
    return SQL("SELECT d.*, {} AS overdue FROM documents d").format(overdue(now))


class DocumentDirectory(RecordReader):
    async def documents(self, ids: Sequence[UUID], now: datetime) -> dict[UUID, DocumentRow]:
        """Documents by id, overdue or not at `now`."""
        query = SQL("{} WHERE d.id = ANY({})").format(_selected(now), Literal(list(ids)))
        return {row.id: row for row in await self._rows(query, DocumentRow)}

    async def document_page(
        self, f: DocumentFilter, now: datetime, *, first: int | None, after: str | None
    ) -> Page:
        conditions: list[Composable] = [SQL("TRUE")]
        if f.partner_id is not None:
            conditions.append(SQL("d.partner_id IN {}").format(scope_of(Literal(f.partner_id))))
        for column, values in (("module", f.modules), ("kind", f.kinds), ("status", f.statuses)):
            if values is not None:
                conditions.append(SQL("d.{} = ANY({})").format(SQL(column), Literal(list(values))))
        if f.date_after is not None:
            conditions.append(SQL("d.date >= {}").format(Literal(f.date_after)))
        if f.date_before is not None:
            conditions.append(SQL("d.date <= {}").format(Literal(f.date_before)))
        where = SQL(" AND ").join(conditions)
        seek = pages.dated_seek(after, SQL("(d.date, d.id) < ({}, {})"))
        size = pages.page_size(first)
        query = SQL(
            "{select} WHERE {w} AND {seek} ORDER BY d.date DESC, d.id DESC LIMIT {n}"
        ).format(select=_selected(now), w=where, seek=seek, n=Literal(size + 1))
        rows = await self._rows(query, DocumentRow)
        return pages.page_of(
            rows,
            size,
            after,
            lambda r: encode_cursor([r.date.isoformat(), str(r.id)]),
            SQL("SELECT count(*) FROM documents d WHERE {}").format(where),
        )
