"""The 360° figures over time (`documentTotals`): how many documents and how much money
per currency, grouped by month, kind, module, status or currency; from the monthly
totals (app/projections/document_totals.py) when no partner is named, else summed over
that partner's documents (its contacts' too when it is a commercial partner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.queries.partner_scope import scope_of
from app.queries.record_pages import RecordReader

GROUPS = {
    "MONTH": "month",
    "KIND": "kind",
    "MODULE": "module",
    "STATUS": "status",
    "CURRENCY": "currency",
}
"""What documents may be grouped by -> its column of the totals."""

NOT_COUNTED = ("DRAFT", "CANCELLED")
"""Statuses left out unless asked for, as the 360° figures leave them out."""


@dataclass(frozen=True)
class TotalsQuery:
    group_by: Sequence[str]
    """Distinct keys of GROUPS (the caller checks them)."""
    kinds: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    currency: str | None = None
    partner_id: UUID | None = None
    limit: int = 1000


@dataclass
class TotalGroup:
    values: dict[str, Any]
    count: int = 0
    amounts: dict[str | None, Decimal] = field(default_factory=dict)
    """Currency (None: documents without an amount's currency) -> the sum of amounts."""


class DocumentTotalsDirectory(RecordReader):
    async def document_totals(self, q: TotalsQuery) -> tuple[list[TotalGroup], bool]:
        """At most `q.limit` groups ordered by their values (months oldest first), and
        whether there were more."""
        keys = [GROUPS[name] for name in q.group_by]
        inner = [*keys, "currency"] if "currency" not in keys else keys
        cols = SQL(", ").join(Identifier(c) for c in inner)
        # No dimension: one group (a constant to order by; `ORDER BY )` was an error).
        items: list[Composable] = [Identifier(c) for c in keys]
        order = SQL(", ").join(items or [SQL("true::boolean")])
        query = SQL(
            "SELECT {cols}, n, amount FROM (SELECT {cols}, n, amount, dense_rank() OVER "
            "(ORDER BY {order}) AS g FROM (SELECT {cols}, sum(n) AS n, sum(amount) AS amount "
            "FROM {source} s WHERE {w} GROUP BY {cols}) x) y WHERE g <= {most} "
            "ORDER BY {order}, currency"
        ).format(cols=cols, order=order, source=_source(q), w=_where(q), most=Literal(q.limit + 1))
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            rows = await cur.fetchall()
        groups: dict[tuple[Any, ...], TotalGroup] = {}
        for row in rows:
            values = dict(zip(inner, row, strict=False))
            key = tuple(values[k] for k in keys)
            group = groups.setdefault(key, TotalGroup(dict(zip(q.group_by, key, strict=True))))
            group.count += int(row[-2])
            currency = values["currency"]
            group.amounts[currency] = group.amounts.get(currency, Decimal(0)) + row[-1]
        found = list(groups.values())
        return found[: q.limit], len(found) > q.limit


def _source(q: TotalsQuery) -> Composable:
    if q.partner_id is None:
        return SQL("document_totals")
    return SQL(
        "(SELECT (date_trunc('month', d.date))::date AS month, d.module, d.kind, d.currency, "
        "d.status, 1 AS n, coalesce(d.amount, 0) AS amount FROM documents d "
        "WHERE d.partner_id IN {scope})"
    ).format(scope=scope_of(Literal(q.partner_id)))


def _where(q: TotalsQuery) -> Composable:
    parts: list[Composable] = []
    if q.kinds is not None:
        parts.append(SQL("s.kind = ANY({})").format(Literal(list(q.kinds))))
    if q.statuses is not None:
        parts.append(SQL("s.status = ANY({})").format(Literal(list(q.statuses))))
    else:
        parts.append(SQL("s.status <> ALL({})").format(Literal(list(NOT_COUNTED))))
    if q.currency is not None:
        parts.append(SQL("s.currency = {}").format(Literal(q.currency)))
    return SQL(" AND ").join(parts)
