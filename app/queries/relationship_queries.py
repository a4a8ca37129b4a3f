"""The 360° view: activities (with their state against the clock), documents,
opportunities, timeline and the figures summed over them. A company's view takes in
its contacts' records (those whose commercial partner it is), resolved when asked."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra.rows import dataclass_row
from app.queries.keyset import MAX_PAGE, BadCursor

SCOPE = SQL(
    "SELECT scope_member.id FROM partners scope_root JOIN partners scope_member "
    "ON scope_member.id = scope_root.id OR (scope_root.commercial_partner_id = scope_root.id "
    "AND scope_member.commercial_partner_id = scope_root.id) WHERE scope_root.id = {root}"
)
"""The partners whose records a partner's view shows: itself, and its contacts if it is
a commercial partner."""


def scope_of(root: Any) -> Composable:
    return SQL("({})").format(SCOPE.format(root=root))


def local_today(now: datetime, activity: str = "a") -> Composable:
    """Today's date where the activity's assignee is (else its partner, else the partner's
    company, else UTC)."""
    return SQL(
        "({now}::timestamptz AT TIME ZONE COALESCE("
        "(SELECT e.data->>'tz' FROM catalog_entries e WHERE e.id = {a}.assignee_id), "
        "(SELECT COALESCE(p.tz, cp.tz) FROM partners p "
        " LEFT JOIN partners cp ON cp.id = p.commercial_partner_id WHERE p.id = {a}.partner_id), "
        "'UTC'))::date"
    ).format(now=Literal(now), a=SQL(activity))


def activity_state(now: datetime) -> Composable:
    today = local_today(now)
    return SQL(
        "CASE WHEN a.status <> 'OPEN' THEN a.status WHEN a.due_date < {t} THEN 'OVERDUE' "
        "WHEN a.due_date = {t} THEN 'TODAY' ELSE 'PLANNED' END"
    ).format(t=today)


def overdue_condition(now: datetime, partner: Composable) -> Composable:
    """Used by the partners filter `hasOverdueActivities`."""
    return SQL(
        "EXISTS (SELECT 1 FROM activities a WHERE a.status = 'OPEN' AND a.partner_id IN {s} "
        "AND a.due_date < {t})"
    ).format(s=scope_of(partner), t=local_today(now))


INVOICED = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 WHEN d.kind = 'INVOICE' THEN d.amount "
    "WHEN d.kind = 'CREDIT_NOTE' THEN -d.amount ELSE 0 END"
)
PAID = SQL(
    "CASE WHEN d.status IN ('DRAFT', 'CANCELLED') THEN 0 "
    "WHEN d.kind = 'PAYMENT' AND d.status = 'DONE' THEN d.amount "
    "WHEN d.kind = 'INVOICE' AND d.status = 'PAID' THEN d.amount "
    "WHEN d.kind = 'INVOICE' THEN COALESCE(d.amount_paid, 0) "
    "WHEN d.kind = 'CREDIT_NOTE' AND d.status = 'PAID' THEN -d.amount "
    "WHEN d.kind = 'CREDIT_NOTE' THEN -COALESCE(d.amount_paid, 0) ELSE 0 END"
)


def total_invoiced(partner: Composable) -> Composable:
    """For ordering partners: invoiced minus credited, all currencies together."""
    return SQL(
        "(SELECT COALESCE(sum({inv}), 0) FROM documents d WHERE d.partner_id IN {s})"
    ).format(inv=INVOICED, s=scope_of(partner))


@dataclass(frozen=True)
class ActivityRow:
    id: UUID
    partner_id: UUID
    activity_type: str
    summary: str | None
    note: str | None
    due_date: date
    assignee_id: UUID | None
    status: str
    state: str
    feedback: str | None
    done_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


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


@dataclass(frozen=True)
class OpportunityRow:
    id: UUID
    partner_id: UUID
    name: str
    expected_revenue_amount: Decimal | None
    expected_revenue_currency: str | None
    probability: Decimal | None
    stage: str
    salesperson_id: UUID | None
    lost_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class TimelineRow:
    """A row of the `timeline` table; the change feed also reads whom it concerns."""

    position: int
    occurred_at: datetime
    kind: str
    actor: str
    request_id: str | None
    reason: str | None
    summary: str
    subject_type: str
    subject_id: UUID
    changes: dict[str, Any]
    partner_id: UUID
    commercial_partner_id: UUID | None = None
    """The partner's commercial partner (read by the change feed only)."""
    assignee_id: UUID | None = None
    """The assignee when the subject is an activity (read by the change feed only)."""


@dataclass
class Stats:
    counts: dict[str, int] = field(default_factory=dict)
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    last_interaction_at: datetime | None = None

    @property
    def due(self) -> dict[str, Decimal]:
        return {
            c: self.invoiced.get(c, Decimal(0)) - self.paid.get(c, Decimal(0))
            for c in sorted({*self.invoiced, *self.paid})
        }


@dataclass(frozen=True)
class ActivityFilter:
    partner_id: UUID | None = None
    assignee_id: UUID | None = None
    states: tuple[str, ...] | None = None
    due_after: date | None = None
    due_before: date | None = None


@dataclass(frozen=True)
class DocumentFilter:
    partner_id: UUID | None = None
    modules: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    date_after: date | None = None
    date_before: date | None = None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count_query: Composable


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _uncursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error):
        raise BadCursor("not a cursor of this list") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadCursor("not a cursor of this list")
    return values


COUNTED = {
    "quotation_count": "d.kind = 'QUOTATION'",
    "sale_order_count": "d.kind = 'SALE_ORDER'",
    "purchase_order_count": "d.kind = 'PURCHASE_ORDER'",
    "invoice_count": "d.kind = 'INVOICE'",
    "credit_note_count": "d.kind = 'CREDIT_NOTE'",
    "ticket_count": "d.kind = 'TICKET'",
    "open_ticket_count": "d.kind = 'TICKET' AND d.status = 'OPEN'",
    "subscription_count": "d.kind = 'SUBSCRIPTION'",
    "project_count": "d.kind = 'PROJECT'",
    "event_registration_count": "d.kind = 'EVENT_REGISTRATION'",
}
"""Document counts (cancelled documents are not counted)."""


class RelationshipDirectory:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def _rows(self, query: Composable, row_type: type[Any]) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(row_type))
            await cur.execute(query)
            rows: list[Any] = await cur.fetchall()
            return rows

    async def count(self, query: Composable) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    # -- activities ---------------------------------------------------------------------

    def _activity_select(self, now: datetime) -> Composable:
        return SQL(
            "SELECT a.id, a.partner_id, a.activity_type, a.summary, a.note, a.due_date, "
            "a.assignee_id, a.status, {state} AS state, a.feedback, a.done_at, a.version, "
            "a.created_at, a.updated_at FROM activities a"
        ).format(state=activity_state(now))

    async def activities(self, ids: Sequence[UUID], now: datetime) -> dict[UUID, ActivityRow]:
        query = SQL("{sel} WHERE a.id = ANY({ids})").format(
            sel=self._activity_select(now), ids=Literal(list(ids))
        )
        return {row.id: row for row in await self._rows(query, ActivityRow)}

    async def activity_page(
        self, f: ActivityFilter, now: datetime, *, first: int | None, after: str | None
    ) -> Page:
        conditions: list[Composable] = [SQL("TRUE")]
        if f.partner_id is not None:
            conditions.append(SQL("a.partner_id IN {}").format(scope_of(Literal(f.partner_id))))
        if f.assignee_id is not None:
            conditions.append(SQL("a.assignee_id = {}").format(Literal(f.assignee_id)))
        if f.states is not None:
            conditions.append(
                SQL("{} = ANY({})").format(activity_state(now), Literal(list(f.states)))
            )
        if f.due_after is not None:
            conditions.append(SQL("a.due_date >= {}").format(Literal(f.due_after)))
        if f.due_before is not None:
            conditions.append(SQL("a.due_date <= {}").format(Literal(f.due_before)))
        where = SQL(" AND ").join(conditions)
        seek: Composable = SQL("TRUE")
        if after is not None:
            due, ident = _uncursor(after, 2)
            try:
                seek = SQL("(a.due_date, a.id) > ({}, {})").format(
                    Literal(date.fromisoformat(due)), Literal(UUID(ident))
                )
            except (ValueError, TypeError):
                raise BadCursor("not a cursor of this list") from None
        size = min(first if first is not None else 50, MAX_PAGE)
        query = SQL("{sel} WHERE {w} AND {seek} ORDER BY a.due_date, a.id LIMIT {n}").format(
            sel=self._activity_select(now), w=where, seek=seek, n=Literal(size + 1)
        )
        rows = await self._rows(query, ActivityRow)
        return Page(
            rows=rows[:size],
            cursors=[_cursor([r.due_date.isoformat(), str(r.id)]) for r in rows[:size]],
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            count_query=SQL("SELECT count(*) FROM activities a WHERE {}").format(where),
        )

    # -- documents and opportunities ----------------------------------------------------

    async def documents(self, ids: Sequence[UUID]) -> dict[UUID, DocumentRow]:
        query = SQL("SELECT * FROM documents WHERE id = ANY({})").format(Literal(list(ids)))
        return {row.id: row for row in await self._rows(query, DocumentRow)}

    async def document_page(
        self, f: DocumentFilter, *, first: int | None, after: str | None
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
        seek: Composable = SQL("TRUE")
        if after is not None:
            when, ident = _uncursor(after, 2)
            try:
                seek = SQL("(d.date, d.id) < ({}, {})").format(
                    Literal(date.fromisoformat(when)), Literal(UUID(ident))
                )
            except (ValueError, TypeError):
                raise BadCursor("not a cursor of this list") from None
        size = min(first if first is not None else 50, MAX_PAGE)
        query = SQL(
            "SELECT d.* FROM documents d WHERE {w} AND {seek} "
            "ORDER BY d.date DESC, d.id DESC LIMIT {n}"
        ).format(w=where, seek=seek, n=Literal(size + 1))
        rows = await self._rows(query, DocumentRow)
        return Page(
            rows=rows[:size],
            cursors=[_cursor([r.date.isoformat(), str(r.id)]) for r in rows[:size]],
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            count_query=SQL("SELECT count(*) FROM documents d WHERE {}").format(where),
        )

    async def opportunities(self, ids: Sequence[UUID]) -> dict[UUID, OpportunityRow]:
        query = SQL("SELECT * FROM opportunities WHERE id = ANY({})").format(Literal(list(ids)))
        return {row.id: row for row in await self._rows(query, OpportunityRow)}

    async def opportunities_of(
        self, partner_ids: Sequence[UUID]
    ) -> dict[UUID, list[OpportunityRow]]:
        query = SQL(
            "SELECT r.id AS root, o.* FROM unnest({ids}::uuid[]) r(id) "
            "JOIN opportunities o ON o.partner_id IN {s} ORDER BY o.created_at DESC, o.id"
        ).format(ids=Literal(list(partner_ids)), s=scope_of(SQL("r.id")))
        found: dict[UUID, list[OpportunityRow]] = {i: [] for i in partner_ids}
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            for root, *values in await cur.fetchall():
                found[root].append(OpportunityRow(*values))
        return found

    # -- timeline -----------------------------------------------------------------------

    async def timeline_page(
        self,
        partner_id: UUID,
        kinds: Sequence[str] | None,
        *,
        first: int | None,
        after: str | None,
    ) -> Page:
        conditions: list[Composable] = [
            SQL("t.partner_id IN {}").format(scope_of(Literal(partner_id)))
        ]
        if kinds is not None:
            conditions.append(SQL("t.kind = ANY({})").format(Literal(list(kinds))))
        where = SQL(" AND ").join(conditions)
        seek: Composable = SQL("TRUE")
        if after is not None:
            (position,) = _uncursor(after, 1)
            if not isinstance(position, int):
                raise BadCursor("not a cursor of this list")
            seek = SQL("t.position < {}").format(Literal(position))
        size = min(first if first is not None else 50, MAX_PAGE)
        query = SQL(
            "SELECT * FROM timeline t WHERE {w} AND {seek} ORDER BY t.position DESC LIMIT {n}"
        ).format(w=where, seek=seek, n=Literal(size + 1))
        rows = await self._rows(query, TimelineRow)
        return Page(
            rows=rows[:size],
            cursors=[_cursor([r.position]) for r in rows[:size]],
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            count_query=SQL("SELECT count(*) FROM timeline t WHERE {}").format(where),
        )

    # -- figures ------------------------------------------------------------------------

    async def stats(self, partner_ids: Sequence[UUID], now: datetime) -> dict[UUID, Stats]:
        """Every figure for a batch of partners in three queries, however many partners."""
        ids = Literal(list(partner_ids))
        found = {i: Stats() for i in partner_ids}
        counts = SQL(", ").join(
            SQL("count(*) FILTER (WHERE d.status <> 'CANCELLED' AND {}) AS {}").format(
                SQL(condition), SQL(name)
            )
            for name, condition in COUNTED.items()
        )
        documents = SQL(
            "SELECT r.id, {counts} FROM unnest({ids}::uuid[]) r(id) "
            "LEFT JOIN documents d ON d.partner_id IN {s} GROUP BY r.id"
        ).format(counts=counts, ids=ids, s=scope_of(SQL("r.id")))
        money = SQL(
            "SELECT r.id, d.currency, sum({inv}), sum({paid}) FROM unnest({ids}::uuid[]) r(id) "
            "JOIN documents d ON d.partner_id IN {s} AND d.currency IS NOT NULL "
            "GROUP BY r.id, d.currency"
        ).format(inv=INVOICED, paid=PAID, ids=ids, s=scope_of(SQL("r.id")))
        others = SQL(
            "SELECT r.id, "
            "(SELECT count(*) FROM activities a WHERE a.partner_id IN {s} AND a.status = 'OPEN'), "
            "(SELECT count(*) FROM activities a WHERE a.partner_id IN {s} AND a.status = 'OPEN' "
            " AND a.due_date < {today}), "
            "(SELECT count(*) FROM opportunities o WHERE o.partner_id IN {s}), "
            "(SELECT max(t.occurred_at) FROM timeline t WHERE t.partner_id IN {s} "
            " AND t.subject_type <> 'Partner') "
            "FROM unnest({ids}::uuid[]) r(id)"
        ).format(s=scope_of(SQL("r.id")), today=local_today(now), ids=ids)
        async with self.pool.connection() as conn:
            cur = await conn.execute(documents)
            names = list(COUNTED)
            for root, *values in await cur.fetchall():
                found[root].counts.update(zip(names, map(int, values), strict=True))
            cur = await conn.execute(money)
            for root, currency, invoiced, paid in await cur.fetchall():
                if invoiced:
                    found[root].invoiced[currency] = invoiced
                if paid:
                    found[root].paid[currency] = paid
            cur = await conn.execute(others)
            for root, open_count, overdue, opportunities, last in await cur.fetchall():
                stats = found[root]
                stats.counts["open_activity_count"] = int(open_count)
                stats.counts["overdue_activity_count"] = int(overdue)
                stats.counts["opportunity_count"] = int(opportunities)
                stats.last_interaction_at = last
        return found
