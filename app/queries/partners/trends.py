"""Counts of partners grouped by dimensions for dashboards (`partnerCounts`): new
customers per month by country and the like; from the partner cube when the filter reads
its dimensions only (app/queries/partners/cube.py), else grouped over the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.projections.partner_counts import DIMENSIONS
from app.queries.partners.cube import cube_condition, cuboid_for, filter_dimensions
from app.queries.partners.filters import PartnerFilter, where_clause
from app.queries.partners.rows import PartnerReads

GROUPS: dict[str, str] = {
    "CREATED_MONTH": "created_month",
    "COUNTRY": "country_code",
    "STATE": "state_code",
    "KIND": "kind",
    "IS_CUSTOMER": "is_customer",
    "IS_SUPPLIER": "is_supplier",
    "LANG": "lang",
    "INDUSTRY": "industry_id",
    "SALESPERSON": "salesperson_id",
}
"""What partners may be grouped by -> its dimension of the cube."""

MAX_GROUP_BY = 4
"""Dimensions one count may be grouped by."""


@dataclass(frozen=True)
class CountGroup:
    values: dict[str, Any]
    """Dimension (a key of GROUPS) -> its value in this group (None: not set)."""
    count: int


@dataclass(frozen=True)
class GroupedCounts:
    groups: list[CountGroup]
    truncated: bool
    """More groups than asked for: the first ones (in the order of the keys) are given."""
    from_cube: bool


class PartnerTrends(PartnerReads):
    """Counts by groups of the partners a filter selects."""

    async def grouped_counts(
        self, where: PartnerFilter | None, group_by: Sequence[str], now: datetime, limit: int
    ) -> GroupedCounts:
        """At most `limit` groups, ordered by their values (months oldest first);
        `group_by` holds distinct keys of GROUPS (the caller checks them)."""
        dims = [GROUPS[name] for name in group_by]
        used = filter_dimensions(where)
        cuboid = cuboid_for(used | set(dims)) if used is not None else None
        keys = SQL(", ").join(Identifier(d) for d in dims)
        positions = SQL(", ").join(SQL(str(i + 1)) for i in range(len(dims)))
        if cuboid is not None:
            statement: Composable = SQL(
                "SELECT {keys}, sum(n) FROM {c} WHERE {w} GROUP BY {keys} HAVING sum(n) > 0"
            ).format(keys=keys, c=cuboid, w=cube_condition(where))
        else:
            values = SQL(", ").join(
                SQL("{} AS {}").format(SQL(DIMENSIONS[d][0].format(r="p")), Identifier(d))
                for d in dims
            )
            statement = SQL("SELECT {values}, count(*) FROM {t} p WHERE {w} GROUP BY {g}").format(
                values=values, t=self.table, w=where_clause(where, now), g=positions
            )
        query = SQL("{} ORDER BY {o} LIMIT {n}").format(
            statement, o=positions, n=Literal(limit + 1)
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            rows = await cur.fetchall()
        groups = [
            CountGroup(dict(zip(group_by, row[:-1], strict=True)), int(row[-1]))
            for row in rows[:limit]
        ]
        return GroupedCounts(groups, len(rows) > limit, cuboid is not None)
