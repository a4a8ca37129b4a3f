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


FACET_VALUES = {
    "countries": "country_code",
    "kinds": "kind",
    "roles": "CASE WHEN is_customer AND is_supplier THEN 'BOTH' WHEN is_customer THEN "
    "'CUSTOMER' WHEN is_supplier THEN 'SUPPLIER' ELSE 'NONE' END",
    "industries": "effective_industry_id",
    "languages": "lang",
    "salespersons": "effective_salesperson_id",
}
"""The facets counted over the selection `f` in one pass of its rows (`GROUPING SETS`),
by the value each partner has for them (none: not counted)."""

TAGS_FACET = (
    # A partner tagged "Region / EMEA" counts for "Region" too, as the tagIds filter does.
    "WITH RECURSIVE tree(ancestor, id) AS (SELECT id, id FROM tags UNION "
    "SELECT tree.ancestor, t.id FROM tags t JOIN tree ON t.parent_id = tree.id) "
    "SELECT ancestor::text, n FROM (SELECT tree.ancestor, count(DISTINCT f.id) FROM f "
    "JOIN partner_tags pt ON pt.partner_id = f.id JOIN tree ON tree.id = pt.tag_id "
    "GROUP BY 1) AS by_tag(ancestor, n)"
)
"""The tags facet over `f`: grouped by the tag's id and only then written as text (the
ten thousand rows of 100,000 partners' overdue customers, sorted by their ids' text in
the collation, were 5 of its 29 ms on PostgreSQL 18)."""

FACETS = (*FACET_VALUES, "tags")

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
    """The facets `names` counted over the selection `f` (constant text: its composition
    and rendering were ~0.1 ms of each facets request): the tags facet on its own, the
    others in one pass over `f` (six aggregates each reading all of it were 5.5 of the
    29 ms of the facets of 100,000 partners' overdue customers on PostgreSQL 18; grouping
    sets, 3.3). In a set's rows the other columns are null, so the first value that is
    not null is the set's; a null value is no value, and its count is left out."""
    simple = [name for name in names if name in FACET_VALUES]
    parts = []
    if simple:
        columns = ", ".join(f"{FACET_VALUES[name]} AS c{k}" for k, name in enumerate(simple))
        which = " ".join(f"WHEN GROUPING(c{k}) = 0 THEN '{name}'" for k, name in enumerate(simple))
        values = ", ".join(f"c{k}::text" for k in range(len(simple)))
        sets = ", ".join(f"(c{k})" for k in range(len(simple)))
        parts.append(
            f"SELECT facet, v, n FROM (SELECT CASE {which} END, COALESCE({values}), count(*) "
            f"FROM (SELECT {columns} FROM f) AS s GROUP BY GROUPING SETS ({sets})) "
            "AS by_value(facet, v, n) WHERE v IS NOT NULL"
        )
    if "tags" in names:
        parts.append(f"SELECT 'tags', v, n FROM ({TAGS_FACET}) AS facet_tags(v, n)")
    return SQL(" UNION ALL ".join(parts))


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
