"""The partner cube: how many partners each combination of the dimensions that facets,
filters and trends use most has (kind, roles, archived, country, state, language,
industry, salesperson, month of creation, set of tags), kept in the same transaction as
the `partners` and `partner_tags` rows, so that counts never scan the partners.

One table holding every combination would have nearly one cell per partner at a million
partners; the counts are kept instead in a few narrow cuboids (`CUBOIDS`), each keyed by
a few dimensions. A query sums the smallest cuboid that has every dimension it needs
(app/queries/partners/cube.py).

Statement-level AFTER triggers with transition tables apply each statement's change set
at once: the rows before (-1) and after (+1), grouped by cell, added with one
`INSERT … ON CONFLICT DO UPDATE` per cuboid; cells that fall to zero are deleted (so the
cube built incrementally equals the cube of a rebuild, row for row). Whatever statement
changes a partner (a new row, an own value, a resolution cascading from a company to its
contacts, archiving, merging, erasure), the cube follows without the projection's Python
knowing about it. A rebuild fills its tables without the triggers and counts every cell
at once when it makes its query indexes."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
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

CORE = ("kind", "is_customer", "is_supplier", "archived", "country_code")

CUBOIDS: dict[str, tuple[str, ...]] = {
    "base": (*CORE, "lang"),
    "state": (*CORE, "state_code"),
    "month": (*CORE, "created_month"),
    "tags": ("kind", "is_customer", "is_supplier", "archived", TAG_SET),
    "salesperson": (*CORE, "salesperson_id"),
    "industry": (*CORE, "industry_id"),
    "tags_salesperson": ("archived", TAG_SET, "salesperson_id"),
    "tags_industry": ("archived", TAG_SET, "industry_id"),
    "tags_lang": ("archived", TAG_SET, "lang"),
    "tags_country": (*CORE, TAG_SET),
    "full": (*CORE, "state_code", "lang", "industry_id", "salesperson_id"),
}
"""Cuboid name -> its dimensions, smallest first (a query takes the first that has every
dimension it needs). Measured with bench/generate.py's partners (60 countries, 20
industries, 15 salespersons, 16 tags, 0 to 3 a partner): see docs/performance.md."""

BY_COUNTRY = ("tags_country", "full")
"""The large cuboids, indexed by country (a filter on a country reads its cells only)."""


class PartnerCube:
    """The cuboids of the partners tables named with `prefix`; `apply` does nothing:
    the triggers keep them."""

    def __init__(self, schema: str, prefix: str = "") -> None:
        self.schema = schema
        self.prefix = prefix
        self.names: tuple[str, ...] = tuple(f"{prefix}partner_cube_{c}" for c in CUBOIDS)

    def create_statements(self) -> list[Composed]:
        statements: list[Composed] = []
        for cuboid, dims in CUBOIDS.items():
            name = f"{self.prefix}partner_cube_{cuboid}"
            t = Identifier(self.schema, name)
            columns = SQL(", ").join(
                SQL("{} {}").format(Identifier(d), SQL(_type(d))) for d in dims
            )
            statements += [
                SQL("CREATE TABLE IF NOT EXISTS {t} ({columns}, n bigint NOT NULL)").format(
                    t=t, columns=columns
                ),
                SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {t} ({}) NULLS NOT DISTINCT").format(
                    Identifier(f"{name}_cell"), _columns(dims), t=t
                ),
                SQL("CREATE INDEX IF NOT EXISTS {} ON {t} ((1)) WHERE n = 0").format(
                    Identifier(f"{name}_empty"), t=t
                ),
            ]
            if cuboid in BY_COUNTRY:
                statements.append(
                    SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (country_code)").format(
                        Identifier(f"{name}_country"), t=t
                    )
                )
        return [*statements, *self._functions()]

    def query_index_statements(self) -> list[Composed]:
        """The triggers, then the cells counted from the rows when the cube is empty (a
        rebuild's replay, or tables made before the cube)."""
        partners, tags = self._tables(self.prefix)
        statements = [
            SQL(
                "CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {t} REFERENCING {ref} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {f}()"
            ).format(
                name=Identifier(f"cube_{event.lower()}"),
                event=SQL(event),
                t=t,
                ref=SQL(
                    "NEW TABLE AS new_rows"
                    if event == "INSERT"
                    else "OLD TABLE AS old_rows"
                    if event == "DELETE"
                    else "OLD TABLE AS old_rows NEW TABLE AS new_rows"
                ),
                f=self._function(table, event),
            )
            for table, t in (("partners", partners), ("partner_tags", tags))
            for event in ("INSERT", "UPDATE", "DELETE")
        ]
        return [*statements, *self._refill()]

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        return None  # the triggers keep the cube

    # -- the SQL -------------------------------------------------------------------------

    def _tables(self, prefix: str) -> tuple[Identifier, Identifier]:
        return (
            Identifier(self.schema, f"{prefix}partners"),
            Identifier(self.schema, f"{prefix}partner_tags"),
        )

    def _cuboid(self, prefix: str, cuboid: str) -> Identifier:
        return Identifier(self.schema, f"{prefix}partner_cube_{cuboid}")

    def _function(self, table: str, event: str) -> Identifier:
        return Identifier(self.schema, f"{self.prefix}cube_{table}_{event.lower()}")

    def _functions(self) -> list[Composed]:
        """One function a table and event. Its body names the tables of this prefix, and
        the live ones for when a rebuild's swap has renamed its tables into their place
        (the triggers go with the tables)."""
        statements = []
        for table in ("partners", "partner_tags"):
            for event in ("INSERT", "UPDATE", "DELETE"):
                body = self._body(table, event, self.prefix)
                if self.prefix:
                    body = SQL("IF TG_TABLE_NAME = {} THEN {} ELSE {} END IF;").format(
                        Literal(f"{self.prefix}{table}"), body, self._body(table, event, "")
                    )
                statements.append(
                    SQL(
                        "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS "
                        "$cube$ BEGIN {body} RETURN NULL; END $cube$"
                    ).format(f=self._function(table, event), body=body)
                )
        return statements

    def _body(self, table: str, event: str, prefix: str) -> Composed:
        """The statements applying one statement's transition tables to the cube."""
        cuboids = [c for c, dims in CUBOIDS.items() if table == "partners" or TAG_SET in dims]
        changes = (
            self._partner_changes(event, prefix)
            if table == "partners"
            else self._tag_changes(event, prefix)
        )
        upserts = [
            SQL(
                "INSERT INTO {c} AS c ({cols}, n) SELECT {cols}, sum(d) FROM d "
                "GROUP BY {cols} HAVING sum(d) <> 0 ON CONFLICT ({cols}) DO UPDATE "
                "SET n = c.n + excluded.n"
            ).format(c=self._cuboid(prefix, c), cols=_columns(CUBOIDS[c]))
            for c in cuboids
        ]
        deletes = [
            SQL("DELETE FROM {} WHERE n = 0").format(self._cuboid(prefix, c)) for c in cuboids
        ]
        return SQL("WITH d AS MATERIALIZED ({changes}){more} {last}; {gone};").format(
            changes=changes,
            more=_ctes("up", upserts[:-1]),
            last=upserts[-1],
            gone=SQL("WITH {} {}").format(
                SQL(", ").join(
                    SQL("{} AS ({})").format(Identifier(f"gone_{i}"), s)
                    for i, s in enumerate(deletes[:-1])
                ),
                deletes[-1],
            )
            if len(deletes) > 1
            else deletes[-1],
        )

    def _partner_changes(self, event: str, prefix: str) -> Composed:
        """Each partner row the statement changed in a dimension: -1 as it was, +1 as
        it is."""
        _, tags = self._tables(prefix)
        tag_set = SQL(
            "coalesce((SELECT array_agg(pt.tag_id ORDER BY pt.tag_id) FROM {tags} pt "
            "WHERE pt.partner_id = r.id), '{{}}')"
        ).format(tags=tags)

        def side(rows: str, sign: int, where: Composable) -> Composed:
            return SQL(
                "SELECT {dims}, {tag_set} AS tag_set, {sign} AS d FROM {rows} r{where}"
            ).format(
                dims=_values("r"), tag_set=tag_set, sign=Literal(sign), rows=SQL(rows), where=where
            )

        if event == "INSERT":
            return side("new_rows", 1, SQL(""))
        if event == "DELETE":
            return side("old_rows", -1, SQL(""))
        changed = SQL(
            " WHERE r.id IN (SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id "
            "WHERE ({old}) IS DISTINCT FROM ({new}))"
        ).format(old=_values("o", named=False), new=_values("n", named=False))
        return SQL("{} UNION ALL {}").format(
            side("old_rows", -1, changed), side("new_rows", 1, changed)
        )

    def _tag_changes(self, event: str, prefix: str) -> Composed:
        """Each partner whose set of tags the statement changed: -1 with the set it had,
        +1 with the set it has (the tags now, less the rows the statement added, plus
        those it removed)."""
        partners, tags = self._tables(prefix)
        none = "(SELECT NULL::uuid AS partner_id, NULL::uuid AS tag_id WHERE false)"
        old = SQL("old_rows" if event != "INSERT" else none)
        new = SQL("new_rows" if event != "DELETE" else none)
        core = _values("p")
        return SQL(
            "WITH touched AS (SELECT partner_id FROM {old} UNION SELECT partner_id FROM {new}), "
            "tag_rows AS (SELECT pt.partner_id, pt.tag_id, true AS now, NOT EXISTS ("
            "SELECT 1 FROM {new} x WHERE x.partner_id = pt.partner_id AND x.tag_id = pt.tag_id"
            ") AS was FROM {tags} pt WHERE pt.partner_id IN (SELECT partner_id FROM touched) "
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

    def grouped_statements(self) -> list[Composed]:
        """Each cuboid as the rows grouped now (`SELECT dimensions…, count(*)`)."""
        partners, tags = self._tables(self.prefix)
        statements = []
        for dims in CUBOIDS.values():
            values = SQL(", ").join(
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
                SQL("SELECT {values}, count(*) FROM {t} r{join} GROUP BY {groups}").format(
                    values=values,
                    t=partners,
                    join=join,
                    groups=SQL(", ").join(SQL(str(i + 1)) for i in range(len(dims))),
                )
            )
        return statements

    def _refill(self) -> list[Composed]:
        """Every cuboid counted from the rows, when it has no cell yet."""
        return [
            SQL(
                "INSERT INTO {c} ({cols}, n) SELECT * FROM ({grouped}) g "
                "WHERE NOT EXISTS (SELECT 1 FROM {c})"
            ).format(c=self._cuboid(self.prefix, cuboid), cols=_columns(dims), grouped=grouped)
            for (cuboid, dims), grouped in zip(
                CUBOIDS.items(), self.grouped_statements(), strict=True
            )
        ]


def _type(dimension: str) -> str:
    return "uuid[] NOT NULL" if dimension == TAG_SET else DIMENSIONS[dimension][1]


def _columns(dims: tuple[str, ...]) -> Composed:
    return SQL(", ").join(Identifier(d) for d in dims)


def _values(alias: str, *, named: bool = True) -> Composed:
    """Every dimension but the tags over the row `alias`, named as the cube's columns."""
    return SQL(", ").join(
        SQL("{} AS {}").format(SQL(expr.format(r=alias)), Identifier(d))
        if named
        else SQL(expr.format(r=alias))
        for d, (expr, _) in DIMENSIONS.items()
    )


def _ctes(name: str, statements: list[Composed]) -> Composed:
    """`, name_1 AS (…), name_2 AS (…)`: data-modifying CTEs (each runs once)."""
    return SQL("").join(
        SQL(", {} AS ({})").format(Identifier(f"{name}_{i}"), s) for i, s in enumerate(statements)
    )
