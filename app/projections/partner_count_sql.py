"""The SQL of the partner cube (app/projections/partner_counts.py): what one statement
on the `partners` or `partner_tags` table changed, as cube rows (-1 as it was, +1 as it
is), from the statement's transition tables; and the cube as the rows grouped now."""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

DIMENSIONS: dict[str, tuple[str, str]] = {
    "kind": ("{r}.kind", "text"),
    "is_customer": ("{r}.is_customer", "boolean"),
    "is_supplier": ("{r}.is_supplier", "boolean"),
    "archived": ("{r}.archived", "boolean"),
    "country_code": ("{r}.country_code", "text"),
    "state_code": ("{r}.state_code", "text"),
    "lang": ("{r}.lang", "text"),
    "industry_id": ("{r}.effective_industry_id", "uuid"),
    "salesperson_id": ("{r}.effective_salesperson_id", "uuid"),
    "created_month": ("(date_trunc('month', {r}.created_at AT TIME ZONE 'UTC'))::date", "date"),
}
"""Cube column -> (its value over a partners row `{r}`, its type)."""

TAG_SET = "tag_set"
"""The partner's tags (sorted ids; empty when it has none): one dimension, so that a
partner counts once for a tag filter or a tag and its sub-tags, however many it has."""

ALL = (*DIMENSIONS, TAG_SET)
"""Every column of a change row but its sign (`d`)."""


def partner_changes(event: str, partners: Identifier, tags: Identifier) -> Composed:
    """Each partner row the statement changed in a dimension: -1 as it was, +1 as
    it is."""
    tag_set = SQL(
        "coalesce((SELECT array_agg(pt.tag_id ORDER BY pt.tag_id) FROM {tags} pt "
        "WHERE pt.partner_id = r.id), '{{}}')"
    ).format(tags=tags)

    def side(rows: str, sign: int, where: Composable) -> Composed:
        return SQL("SELECT {dims}, {tag_set} AS tag_set, {sign} AS d FROM {rows} r{where}").format(
            dims=values("r"), tag_set=tag_set, sign=Literal(sign), rows=SQL(rows), where=where
        )

    if event == "INSERT":
        return side("new_rows", 1, SQL(""))
    if event == "DELETE":
        return side("old_rows", -1, SQL(""))
    # One pass over the pairs (before, after) whose dimensions differ: most statements
    # (a touch, a standing refresh) change none, and then nothing else is read; the
    # partner's tags read once for both.
    dims = [Identifier(d) for d in DIMENSIONS]
    return SQL(
        "SELECT v.* FROM old_rows o JOIN new_rows r ON r.id = o.id "
        "CROSS JOIN LATERAL (SELECT {tag_set} AS tag_set) t "
        "CROSS JOIN LATERAL (VALUES ({old}, t.tag_set, -1), ({new}, t.tag_set, 1)) "
        "AS v({cols}, tag_set, d) WHERE ({old}) IS DISTINCT FROM ({new})"
    ).format(
        old=values("o", named=False),
        new=values("r", named=False),
        tag_set=tag_set,
        cols=SQL(", ").join(dims),
    )


def tag_changes(event: str, partners: Identifier, tags: Identifier) -> Composed:
    """Each partner whose set of tags the statement changed: -1 with the set it had,
    +1 with the set it has (the tags now, less the rows the statement added, plus
    those it removed)."""
    # No rows, for the side a statement has no transition table of; a named CTE, since
    # PostgreSQL before 16 wants an alias on every subquery in FROM.
    old = SQL("old_rows" if event != "INSERT" else "no_rows")
    new = SQL("new_rows" if event != "DELETE" else "no_rows")
    core = values("p")
    # Whether a row was there before: a join with the added rows (one at most: they are
    # unique by the table's key), not a NOT EXISTS in the select list, which PostgreSQL
    # 15 ran as a scan of every added row for each row read (~0.5 s a batch of 1,000
    # new partners, compiled by JIT on top).
    # The touched partners' tags by index (= ANY of their ids), whatever the statistics:
    # with none (a fresh table), an IN (SELECT …) was planned as a hash of all the tags.
    return SQL(
        "WITH no_rows AS (SELECT NULL::uuid AS partner_id, NULL::uuid AS tag_id WHERE false), "
        "touched AS (SELECT partner_id FROM {old} UNION SELECT partner_id FROM {new}), "
        "tag_rows AS (SELECT pt.partner_id, pt.tag_id, true AS now, x.tag_id IS NULL AS was "
        "FROM {tags} pt LEFT JOIN {new} x ON x.partner_id = pt.partner_id "
        "AND x.tag_id = pt.tag_id WHERE pt.partner_id = ANY(ARRAY(SELECT partner_id FROM touched)) "
        "UNION ALL SELECT partner_id, tag_id, false, true FROM {old}), "
        "sets AS (SELECT partner_id, "
        "coalesce(array_agg(DISTINCT tag_id) FILTER (WHERE now), '{{}}') AS now_set, "
        "coalesce(array_agg(DISTINCT tag_id) FILTER (WHERE was), '{{}}') AS was_set "
        "FROM tag_rows GROUP BY partner_id) "
        "SELECT {core}, s.was_set AS tag_set, -1 AS d FROM sets s "
        "JOIN {partners} p ON p.id = s.partner_id WHERE s.was_set <> s.now_set "
        "UNION ALL SELECT {core}, s.now_set, 1 FROM sets s "
        "JOIN {partners} p ON p.id = s.partner_id WHERE s.was_set <> s.now_set"
    ).format(old=old, new=new, tags=tags, partners=partners, core=core)


def grouped_statements(
    cuboids: dict[str, tuple[str, ...]], partners: Identifier, tags: Identifier
) -> list[Composed]:
    """Each cuboid as the rows grouped now (`SELECT dimensions…, count(*)`)."""
    statements = []
    for dims in cuboids.values():
        selected = SQL(", ").join(
            SQL("coalesce(s.tag_set, '{}')")
            if d == TAG_SET
            else SQL(DIMENSIONS[d][0].format(r="r"))
            for d in dims
        )
        join = (
            SQL(
                " LEFT JOIN (SELECT partner_id, array_agg(tag_id ORDER BY tag_id) AS tag_set "
                "FROM {} GROUP BY partner_id) s ON s.partner_id = r.id"
            ).format(tags)
            if TAG_SET in dims
            else SQL("")
        )
        statements.append(
            SQL("SELECT {selected}, count(*) FROM {t} r{join} GROUP BY {groups}").format(
                selected=selected,
                t=partners,
                join=join,
                groups=SQL(", ").join(SQL(str(i + 1)) for i in range(len(dims))),
            )
        )
    return statements


def column_type(dimension: str) -> str:
    return "uuid[] NOT NULL" if dimension == TAG_SET else DIMENSIONS[dimension][1]


def columns(dims: tuple[str, ...]) -> Composed:
    return SQL(", ").join(Identifier(d) for d in dims)


def values(alias: str, *, named: bool = True) -> Composed:
    """Every dimension but the tags over the row `alias`, named as the cube's columns."""
    return SQL(", ").join(
        SQL("{} AS {}").format(SQL(expr.format(r=alias)), Identifier(d))
        if named
        else SQL(expr.format(r=alias))
        for d, (expr, _) in DIMENSIONS.items()
    )
