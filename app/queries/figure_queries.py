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

from psycopg.sql import SQL, Composed, Literal

from app.queries.activity_queries import local_today
from app.queries.document_queries import BILLED, INVOICED, PAID, PAID_TO_SUPPLIER, ordered
from app.queries.due_queries import overdue_amount
from app.queries.partner_scope import scopes_of
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


def stats_statements(partner_ids: Sequence[UUID], now: datetime) -> list[Composed]:
    """The three statements of `FigureDirectory.stats`: the document counts per partner,
    the sums per partner and currency, then the activity and opportunity counts and the
    last interaction. Each reads the scopes of the whole batch once (`scopes_of`, index
    lookups) and joins the records of their members along the records' partner indexes:
    a scope correlated to each partner in a join condition (`d.partner_id IN (scope of
    r.id)`) was a subplan run for every document and every partner (99 partners, 3,266
    documents: 323,334 runs, past the 5 s statement timeout)."""
    ids = Literal(list(partner_ids))
    scopes = SQL("scopes AS MATERIALIZED {}").format(scopes_of(SQL("{}::uuid[]").format(ids)))
    counts = SQL(", ").join(
        SQL("count(*) FILTER (WHERE d.status <> 'CANCELLED' AND {}) AS {}").format(
            SQL(condition), SQL(name)
        )
        for name, condition in COUNTED.items()
    )
    documents = SQL(
        "WITH {scopes} SELECT r.id, {counts} FROM unnest({ids}::uuid[]) r(id) "
        "LEFT JOIN (scopes s JOIN documents d ON d.partner_id = s.member) ON s.root = r.id "
        "GROUP BY r.id"
    ).format(scopes=scopes, counts=counts, ids=ids)
    money = SQL(
        "WITH {scopes} SELECT r.id, d.currency, {sums} FROM unnest({ids}::uuid[]) r(id) "
        "JOIN scopes s ON s.root = r.id "
        "JOIN documents d ON d.partner_id = s.member AND d.currency IS NOT NULL "
        "GROUP BY r.id, d.currency"
    ).format(
        scopes=scopes,
        sums=SQL(", ").join(SQL("sum({})").format(m) for m in (*MONEY, overdue_amount(now))),
        ids=ids,
    )
    # An open activity shows in a view when its partner is in the scope or the company
    # it names is (partner_scope.activity_in_view): each (view, activity) once. A
    # timeline entry shows when it is filed under a member or is about an activity
    # naming one (entries_in_view); an entry found both ways changes no maximum.
    others = SQL(
        "WITH {scopes}, "
        "shown AS (SELECT s.root, a.id, a.due_date < {today} AS overdue FROM scopes s "
        "JOIN activities a ON a.partner_id = s.member WHERE a.status = 'OPEN' "
        "UNION SELECT s.root, a.id, a.due_date < {today} FROM scopes s "
        "JOIN activities a ON a.company_id = s.member WHERE a.status = 'OPEN'), "
        "activity_counts AS (SELECT root, count(*) AS open, "
        "count(*) FILTER (WHERE overdue) AS overdue FROM shown GROUP BY root), "
        "opportunity_counts AS (SELECT s.root, count(*) AS n FROM scopes s "
        "JOIN opportunities o ON o.partner_id = s.member GROUP BY s.root), "
        "interactions AS (SELECT root, max(occurred_at) AS last FROM ("
        "SELECT s.root, t.occurred_at FROM scopes s JOIN timeline t ON t.partner_id = s.member "
        "WHERE t.subject_type <> 'Partner' "
        "UNION ALL SELECT s.root, t.occurred_at FROM scopes s "
        "JOIN activities named ON named.company_id = s.member "
        "JOIN timeline t ON t.subject_type = 'Activity' AND t.subject_id = named.id"
        ") found GROUP BY root) "
        "SELECT r.id, coalesce(ac.open, 0), coalesce(ac.overdue, 0), coalesce(oc.n, 0), "
        "i.last FROM unnest({ids}::uuid[]) r(id) "
        "LEFT JOIN activity_counts ac ON ac.root = r.id "
        "LEFT JOIN opportunity_counts oc ON oc.root = r.id "
        "LEFT JOIN interactions i ON i.root = r.id"
    ).format(scopes=scopes, today=local_today(now), ids=ids)
    return [documents, money, others]


class FigureDirectory(RecordReader):
    async def stats(self, partner_ids: Sequence[UUID], now: datetime) -> dict[UUID, Stats]:
        """Every figure for a batch of partners in three queries, however many partners
        (`stats_statements`)."""
        found = {i: Stats() for i in partner_ids}
        documents, money, others = stats_statements(partner_ids, now)
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
