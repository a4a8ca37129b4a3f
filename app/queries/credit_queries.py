"""Commercial partners' credit: the credit limit and the exposure against it, summed from
the documents of the partner and its contacts when asked (app/domain/credit.py says what
counts), and the partners filter `creditExceeded` (kept on the partner's row)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.domain.credit import Credit
from app.projections.documents import EXPOSED
from app.projections.partner_standing import EXPOSURE
from app.queries.record_pages import RecordReader


def exposure(commercial: Composable, currency: Composable) -> Composable:
    """The exposure of the commercial partner `commercial` in `currency` (expressions):
    open invoices' residual less open credit notes', plus confirmed sale orders. Read
    through the partial index on the documents that count (the same condition)."""
    return EXPOSURE.format(
        d=SQL("documents"), t=SQL("partners"), c=commercial, currency=currency, exposed=EXPOSED
    )


LIMITED = SQL("c.credit_limit_amount IS NOT NULL AND c.commercial_partner_id = c.id")
"""A commercial partner `c` with a credit limit (a partial index of partners)."""


def credit_exceeded_condition(partners: Composable) -> Composable:
    """Used by the partners filter `creditExceeded`: the partner (of the table aliased
    `partners`) is a commercial partner whose exposure is over its credit limit, as the
    projection keeps it on the partner's row (app/projections/partner_standing.py)."""
    return SQL("{}.credit_exceeded").format(partners)


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
