"""The figures of the 360° view, summed over a partner's records (its contacts' too when
it is a commercial partner) when asked: document counts, money per currency (invoiced and
paid on the customer side, billed and paid on the supplier side, ordered on both, overdue
on invoices), open and overdue activities (those naming it too), opportunities, the last
interaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from psycopg.sql import SQL, Literal

from app.queries.activity_queries import local_today
from app.queries.document_queries import BILLED, INVOICED, PAID, PAID_TO_SUPPLIER, ordered
from app.queries.due_queries import overdue_amount
from app.queries.partner_scope import activity_in_view, entries_in_view, scope_of
from app.queries.record_pages import RecordReader


@dataclass
class Stats:
    counts: dict[str, int] = field(default_factory=dict)
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    billed: dict[str, Decimal] = field(default_factory=dict)
    paid_to_supplier: dict[str, Decimal] = field(default_factory=dict)
    sale_ordered: dict[str, Decimal] = field(default_factory=dict)
    purchase_ordered: dict[str, Decimal] = field(default_factory=dict)
    overdue: dict[str, Decimal] = field(default_factory=dict)
    """What of open invoices fell due before today and is unpaid (due_queries.py)."""
    last_interaction_at: datetime | None = None

    def amounts(self) -> list[dict[str, Decimal]]:
        """Each sum of `MONEY`, in its order."""
        return [
            self.invoiced,
            self.paid,
            self.billed,
            self.paid_to_supplier,
            self.sale_ordered,
            self.purchase_ordered,
            self.overdue,
        ]

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
    "bill_count": "d.kind = 'VENDOR_BILL'",
    "ticket_count": "d.kind = 'TICKET'",
    "open_ticket_count": "d.kind = 'TICKET' AND d.status = 'OPEN'",
    "subscription_count": "d.kind = 'SUBSCRIPTION'",
    "project_count": "d.kind = 'PROJECT'",
    "event_registration_count": "d.kind = 'EVENT_REGISTRATION'",
}
"""Document counts (cancelled documents are not counted)."""
MONEY = (INVOICED, PAID, BILLED, PAID_TO_SUPPLIER, ordered("SALE_ORDER"), ordered("PURCHASE_ORDER"))
"""What is summed per currency, in the order of `Stats.amounts` (then the overdue amount,
which depends on the clock)."""


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
            "SELECT r.id, d.currency, {sums} FROM unnest({ids}::uuid[]) r(id) "
            "JOIN documents d ON d.partner_id IN {s} AND d.currency IS NOT NULL "
            "GROUP BY r.id, d.currency"
        ).format(
            sums=SQL(", ").join(SQL("sum({})").format(m) for m in (*MONEY, overdue_amount(now))),
            ids=ids,
            s=scope_of(SQL("r.id")),
        )
        others = SQL(
            "SELECT r.id, "
            "(SELECT count(*) FROM activities a WHERE {a} AND a.status = 'OPEN'), "
            "(SELECT count(*) FROM activities a WHERE {a} AND a.status = 'OPEN' "
            " AND a.due_date < {today}), "
            "(SELECT count(*) FROM opportunities o WHERE o.partner_id IN {s}), "
            "(SELECT max(t.occurred_at) FROM {t} t WHERE t.subject_type <> 'Partner') "
            "FROM unnest({ids}::uuid[]) r(id)"
        ).format(
            a=activity_in_view(SQL("r.id")),
            t=entries_in_view(SQL("r.id")),
            s=scope_of(SQL("r.id")),
            today=local_today(now),
            ids=ids,
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(documents)
            names = list(COUNTED)
            for root, *values in await cur.fetchall():
                found[root].counts.update(zip(names, map(int, values), strict=True))
            cur = await conn.execute(money)
            for root, currency, *sums in await cur.fetchall():
                for total, amount in zip(found[root].amounts(), sums, strict=True):
                    if amount:
                        total[currency] = amount
            cur = await conn.execute(others)
            for root, open_count, overdue, opportunities, last in await cur.fetchall():
                stats = found[root]
                stats.counts["open_activity_count"] = int(open_count)
                stats.counts["overdue_activity_count"] = int(overdue)
                stats.counts["opportunity_count"] = int(opportunities)
                stats.last_interaction_at = last
        return found
