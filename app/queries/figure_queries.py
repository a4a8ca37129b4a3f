"""The figures of the 360° view, summed over a partner's records (its contacts' too when
it is a commercial partner) when asked: document counts, money invoiced and paid per
currency, open and overdue activities, opportunities, the last interaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from psycopg.sql import SQL, Literal

from app.queries.activity_queries import local_today
from app.queries.document_queries import INVOICED, PAID
from app.queries.partner_scope import scope_of
from app.queries.record_pages import RecordReader


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


class FigureDirectory(RecordReader):
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
