"""How many partners a filter and a search select: the total of a list (exact up to
ESTIMATE_ABOVE, then the planner's estimate) and the facets of a dashboard."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from app.queries.catalog_queries import TAG_FULL_NAME
from app.queries.partners.cube import cube_facets, cube_total
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


LABELS = SQL(
    "CASE WHEN x.facet = 'tags' THEN (SELECT {full_name} FROM tags t WHERE t.id = x.v::uuid) "
    "WHEN x.facet IN ('industries', 'salespersons') THEN "
    "(SELECT e.name FROM catalog_entries e WHERE e.id = x.v::uuid) END"
).format(full_name=TAG_FULL_NAME)
"""The label of a facet value that is a record's id, read in the facets' statement: a
tag's full name (`Tag.fullName`'s own SQL), an industry's or a salesperson's name. Looked up by the request's data loaders after
the counts, they took two more statements, each with its list of ids to adapt and its
whole rows to build (the API's CPU for facets of 180 values at 100,000 partners went
from 5.9 to 3.9 ms with this and the short path's answers of plain objects)."""


ANSWER = (
    SQL("SELECT x.facet, x.v, x.n, {labels} FROM (").format(labels=LABELS).as_string(None),
    ") AS x(facet, v, n) ORDER BY 1, 3 DESC, 2",
)
"""The facets' statement around the union of their counts: text, rendered once."""


@functools.lru_cache(maxsize=128)  # 2 ** 7 sets of facets
def _row_counts(names: tuple[str, ...]) -> SQL:
    """The facets `names` counted over the selection `f`, one union (constant text: its
    composition and rendering were ~0.1 ms of each facets request)."""
    return SQL(
        " UNION ALL ".join(
            f"SELECT '{name}', v, n FROM ({FACETS[name]}) AS facet_{name}(v, n)" for name in names
        )
    )


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

    async def total(
        self, where: PartnerFilter | None, search: str | None, clause: Composable
    ) -> tuple[int, bool]:
        """How many partners a filter and search select (`clause`): exact from the cube
        when the filter reads its dimensions only and there is no search, else `count`."""
        statement = None if search else cube_total(where)
        if statement is None:
            return await self.count(clause)
        async with self.pool.connection() as conn:
            cur = await conn.execute(statement)
            row = await cur.fetchone()
        return (int(row[0]) if row else 0), False

    async def total_at(
        self, where: PartnerFilter | None, search: str | None, now: datetime
    ) -> tuple[int, bool]:
        """`total` on a connection of its own, with the selection worked out here (the
        clause of a page read at `now`), so that it can run beside the page's statement."""
        if search:
            async with self.pool.connection() as conn:
                term = await search_term(conn, search)
        else:
            term = None
        return await self.total(where, search, selection_clause(where, now, term, search))

    async def facet_counts(
        self, where: PartnerFilter | None, search: str | None, now: datetime
    ) -> dict[str, list[tuple[str, int, str | None]]]:
        """Counts by country, kind, role, industry, language, salesperson and tag of the
        partners a filter and search select: from the cube the facets it answers (no
        search, a filter on its dimensions only), the others over the rows, with the
        selection computed once; one statement. Each value comes with the name of the
        record it is the id of (`LABELS`: a tag's full name, an industry's or a
        salesperson's name; None for other values, or a record that is no more)."""
        from_cube = {} if search else cube_facets(where)
        async with self.pool.connection() as conn:
            parts: list[Composable] = [
                SQL("SELECT {name}, v, n FROM ({q}) AS {alias}(v, n)").format(
                    name=Literal(name), q=q, alias=Identifier(f"cube_{name}")
                )
                for name, q in from_cube.items()
            ]
            rest = [name for name in FACETS if name not in from_cube]
            query: Composable | None = SQL(" UNION ALL ").join(parts) if parts else None
            if rest:
                query = await self._row_facets(conn, rest, parts, where, search, now)
            assert query is not None
            cur = await conn.execute(Composed([SQL(ANSWER[0]), query, SQL(ANSWER[1])]))
            found: dict[str, list[tuple[str, int, str | None]]] = {name: [] for name in FACETS}
            for name, value, count, label in await cur.fetchall():
                found[name].append((value, int(count), label))
            return found

    async def _row_facets(
        self,
        conn: Any,
        names: list[str],
        cube_parts: list[Composable],
        where: PartnerFilter | None,
        search: str | None,
        now: datetime,
    ) -> Composable:
        """The facets counted over the rows the filter and search select (computed once),
        beside those counted from the cube."""
        term = await search_term(conn, search)
        clause = selection_clause(where, now, term, search)
        rows = _row_counts(tuple(names))
        parts = SQL(" UNION ALL ").join([*cube_parts, rows]) if cube_parts else rows
        return SQL(
            "WITH f AS MATERIALIZED (SELECT p.id, p.country_code, p.kind, p.is_customer, "
            "p.is_supplier, p.effective_industry_id, p.lang, p.effective_salesperson_id "
            "FROM {t} p WHERE {w}) {parts}"
        ).format(t=self.table, w=clause, parts=parts)
