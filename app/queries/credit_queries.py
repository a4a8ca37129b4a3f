"""Commercial partners' credit: the credit limit and the exposure against it, summed from
the documents of the partner and its contacts when asked (app/domain/credit.py says what
counts), and the partners filter `creditExceeded`."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.domain.credit import Credit
from app.projections.documents import EXPOSED
from app.queries.record_pages import RecordReader


def exposure(commercial: Composable, currency: Composable) -> Composable:
    """The exposure of the commercial partner `commercial` in `currency` (expressions):
    open invoices' residual less open credit notes', plus confirmed sale orders. Read
    through the partial index on the documents that count (the same condition)."""
    return SQL(
        "(SELECT COALESCE(sum(CASE WHEN kind = 'SALE_ORDER' THEN amount "
        "WHEN kind = 'INVOICE' THEN amount - COALESCE(amount_paid, 0) "
        "ELSE COALESCE(amount_paid, 0) - amount END), 0.00) FROM documents "
        "WHERE partner_id IN (SELECT id FROM partners WHERE commercial_partner_id = {c}) "
        "AND currency = {currency} AND ({exposed}))"
    ).format(c=commercial, currency=currency, exposed=EXPOSED)


LIMITED = SQL("c.credit_limit_amount IS NOT NULL AND c.commercial_partner_id = c.id")
"""A commercial partner `c` with a credit limit (a partial index of partners)."""


def credit_exceeded_condition(partner: Composable) -> Composable:
    """Used by the partners filter `creditExceeded`: the partner is a commercial partner
    whose exposure is over its credit limit. Only partners with a limit are summed."""
    return SQL(
        "({p} IN (SELECT c.id FROM partners c WHERE {limited} AND {e} > c.credit_limit_amount))"
    ).format(
        p=partner,
        limited=LIMITED,
        e=exposure(SQL("c.id"), SQL("c.credit_limit_currency")),
    )


class CreditDirectory(RecordReader):
    async def credits(self, partner_ids: Sequence[UUID]) -> dict[UUID, Credit]:
        """The credit of those of `partner_ids` that are commercial partners with a limit."""
        query = SQL(
            "SELECT c.id, c.credit_limit_amount, c.credit_limit_currency, {e} FROM partners c "
            "WHERE c.id = ANY({ids}) AND {limited} AND c.credit_limit_currency IS NOT NULL"
        ).format(
            e=exposure(SQL("c.id"), SQL("c.credit_limit_currency")),
            ids=Literal(list(partner_ids)),
            limited=LIMITED,
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            return {
                ident: Credit(limit=limit, currency=currency, exposure=total)
                for ident, limit, currency, total in await cur.fetchall()
            }
