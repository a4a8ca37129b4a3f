"""How many partners a filter and a search select: the total of a list (exact up to
ESTIMATE_ABOVE, then the planner's estimate) and the facets of a dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.queries.partners.filters import PartnerFilter, search_term, selection_clause
from app.queries.partners.rows import PartnerReads

ESTIMATE_ABOVE = 10_000
"""Counts above this are estimated by the planner instead of counted."""


async def planner_rows(conn: Any, table: Identifier, clause: Composable) -> int:
    """How many partners the planner expects `clause` to match (one EXPLAIN)."""
    cur = await conn.execute(
        SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {t} p WHERE {w}").format(t=table, w=clause)
    )
    plan = await cur.fetchone()
    return int(plan[0][0]["Plan"]["Plan Rows"]) if plan else 0


FACETS = {
    "countries": "SELECT country_code, count(*) FROM f WHERE country_code IS NOT NULL GROUP BY 1",
    "kinds": "SELECT kind, count(*) FROM f GROUP BY 1",
    "roles": (
        "SELECT CASE WHEN is_customer AND is_supplier THEN 'BOTH' WHEN is_customer THEN "
        "'CUSTOMER' WHEN is_supplier THEN 'SUPPLIER' ELSE 'NONE' END, count(*) FROM f GROUP BY 1"
    ),
    "industries": (
        "SELECT effective_industry_id::text, count(*) FROM f "
        "WHERE effective_industry_id IS NOT NULL GROUP BY 1"
    ),
    "languages": "SELECT lang, count(*) FROM f WHERE lang IS NOT NULL GROUP BY 1",
    "salespersons": (
        "SELECT effective_salesperson_id::text, count(*) FROM f "
        "WHERE effective_salesperson_id IS NOT NULL GROUP BY 1"
    ),
    # A partner tagged "Region / EMEA" counts for "Region" too, as the tagIds filter does.
    "tags": (
        "WITH RECURSIVE tree(ancestor, id) AS (SELECT id, id FROM tags UNION "
        "SELECT tree.ancestor, t.id FROM tags t JOIN tree ON t.parent_id = tree.id) "
        "SELECT tree.ancestor::text, count(DISTINCT f.id) FROM f "
        "JOIN partner_tags pt ON pt.partner_id = f.id JOIN tree ON tree.id = pt.tag_id "
        "GROUP BY 1"
    ),
}


class PartnerCounts(PartnerReads):
    """The counts of a selection of partners."""

    async def count(self, clause: Composable) -> tuple[int, bool]:
        """Exact up to ESTIMATE_ABOVE; beyond, the planner's estimate (flagged), so that a
        count never costs a full scan on every page."""
        capped = SQL("SELECT count(*) FROM (SELECT 1 FROM {t} p WHERE {w} LIMIT {n}) s").format(
            t=self.table, w=clause, n=Literal(ESTIMATE_ABOVE + 1)
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(capped)
            row = await cur.fetchone()
            exact = int(row[0]) if row else 0
            if exact <= ESTIMATE_ABOVE:
                return exact, False
            return max(await planner_rows(conn, self.table, clause), exact), True

    async def facet_counts(
        self, where: PartnerFilter | None, search: str | None, now: datetime
    ) -> dict[str, list[tuple[str, int]]]:
        """Counts by country, kind, role, industry, language, salesperson and tag of the
        partners a filter and search select: one query, the selection computed once."""
        async with self.pool.connection() as conn:
            term = await search_term(conn, search)
            clause = selection_clause(where, now, term, search)
            parts = SQL(" UNION ALL ").join(
                SQL("SELECT {name}, v, n FROM ({q}) AS {alias}(v, n)").format(
                    name=Literal(name),
                    q=SQL(query),
                    alias=Identifier(f"facet_{name}"),
                )
                for name, query in FACETS.items()
            )
            query = SQL(
                "WITH f AS MATERIALIZED (SELECT p.id, p.country_code, p.kind, p.is_customer, "
                "p.is_supplier, p.effective_industry_id, p.lang, p.effective_salesperson_id "
                "FROM {t} p WHERE {w}) {parts} ORDER BY 1, 3 DESC, 2"
            ).format(t=self.table, w=clause, parts=parts)
            cur = await conn.execute(query)
            found: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
            for name, value, count in await cur.fetchall():
                found[name].append((value, int(count)))
            return found
