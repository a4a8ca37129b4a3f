"""The partner cube: how many partners each combination of the dimensions that facets,
filters and trends use most has (kind, roles, archived, country, state, language,
industry, salesperson, month of creation, set of tags), kept in the same transaction as
the `partners` and `partner_tags` rows, so that counts never scan the partners.

One table holding every combination would have nearly one cell per partner at a million
partners; the counts are kept instead in a few narrow cuboids (`CUBOIDS`), each keyed by
a few dimensions. A query sums the smallest cuboid that has every dimension it needs
(app/queries/partners/cube.py).

Statement-level AFTER triggers with transition tables note what each statement changed,
set-based (the rows before -1, after +1, only those whose dimensions changed: see
app/projections/partner_count_sql.py) in `partner_cube_delta`; at commit, a deferred
constraint trigger nets the transaction's deltas once (a batch that inserts partners and
then resolves them pays the cuboids once, its +1 and -1 cancelled) and appends them,
grouped, to every cuboid, in one statement. Whatever statement changes a partner (a new
row, an own value, a resolution cascading from a company to its contacts, archiving,
merging, erasure), the cube follows without the projection's Python knowing about it.
A rebuild fills its tables without the triggers and counts every cell at once when it
makes its query indexes.

The cuboids are append-only: no index on the cells, no `ON CONFLICT`; a cell may have
several rows, which every read sums (`sum(n) … GROUP BY`, values whose rows sum to zero
left out). Upserting the cells cost ~70-85 µs a new partner at commit (an index probe,
a tuple lock and a new row version per cell, ~9 cells a partner); appending them ~20 µs,
with the compactions ~35 µs (docs/performance.md, docs/decisions.md). A cuboid is compacted, at commit in the projector's transaction, by
one statement (`compact_statement`: its rows deleted and inserted back summed) once the
rows added since its last compaction outnumber both `COMPACT_FROM` and the rows it kept
then times its spacing (1, doubled after a compaction that kept most rows, up to
`SPACING_UP_TO`): every row is thus rewritten about once or twice on average, and a
cuboid holds at most (1 + spacing) times the rows of its last compaction, plus
`COMPACT_FROM`. One statement: a reader sees the rows before it or after it; rows that
another transaction commits meanwhile are not in its snapshot, so neither deleted nor
lost. Its cost is the cuboid's size, paid rarely: at a million partners, compacting
`full` (about a cell a partner) takes seconds, once each time it has grown several-fold."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from app.projections.partner_count_sql import (
    ALL,
    DIMENSIONS,
    TAG_SET,
    column_type,
    columns,
    grouped_statements,
    partner_changes,
    tag_changes,
)
from app.projections.tables import TRANSITION_TABLES, statement_triggers

__all__ = ["CUBOIDS", "DIMENSIONS", "TAG_SET", "PartnerCube"]

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

COMPACT_FROM = 8_000
"""A cuboid is compacted when the rows added since its last compaction are more than
this and more than the rows it kept then: each row is thus rewritten a bounded number of
times on average, and a cuboid holds at most about twice its cells, plus this."""

SPACING_UP_TO = 8
"""A compaction that keeps more than 3/4 of the rows (a cuboid with about a cell a
partner, `full` say, where new partners add new cells) waits twice as long before the
next, up to this many times the rows kept; one that merges more resets it to 1."""

BY_COUNTRY = ("tags_country", "full")
"""The large cuboids, indexed by country (a filter on a country reads its cells only)."""


class PartnerCube:
    """The cuboids of the partners tables named with `prefix`, their delta and pending
    tables (empty between transactions); `apply` does nothing: the triggers keep them."""

    def __init__(self, schema: str, prefix: str = "") -> None:
        self.schema = schema
        self.prefix = prefix
        self.names: tuple[str, ...] = (
            *(f"{prefix}partner_cube_{c}" for c in CUBOIDS),
            f"{prefix}partner_cube_delta",
            f"{prefix}partner_cube_pending",
            f"{prefix}partner_cube_sizes",
        )

    def create_statements(self) -> list[Composed]:
        statements: list[Composed] = []
        for cuboid, dims in CUBOIDS.items():
            name = f"{self.prefix}partner_cube_{cuboid}"
            t = Identifier(self.schema, name)
            typed = SQL(", ").join(
                SQL("{} {}").format(Identifier(d), SQL(column_type(d))) for d in dims
            )
            # Append-only: no index on the cells (a cell may have several rows, summed
            # by every read), so that a commit adds its grouped deltas as plain rows.
            statements += [
                SQL("CREATE TABLE IF NOT EXISTS {t} ({typed}, n bigint NOT NULL)").format(
                    t=t, typed=typed
                ),
                # The unique index of the cells that tables made before kept.
                SQL("DROP INDEX IF EXISTS {}").format(Identifier(self.schema, f"{name}_cell")),
            ]
            if cuboid in BY_COUNTRY:
                statements.append(
                    SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (country_code)").format(
                        Identifier(f"{name}_country"), t=t
                    )
                )
        typed = SQL(", ").join(SQL("{} {}").format(Identifier(d), SQL(column_type(d))) for d in ALL)
        # Unlogged: their rows never outlive the transaction that writes them.
        statements += [
            SQL("CREATE UNLOGGED TABLE IF NOT EXISTS {t} ({typed}, d integer NOT NULL)").format(
                t=self._delta(self.prefix), typed=typed
            ),
            SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {t} (xact xid8 PRIMARY KEY, "
                "noted_at timestamptz NOT NULL DEFAULT now())"
            ).format(t=self._pending(self.prefix)),
            # Per cuboid: its rows after its last compaction, the rows added since, how
            # many must be added at least before the next (tests lower it), and how many
            # times the rows kept (doubled after a compaction that kept most rows).
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (cuboid text PRIMARY KEY, "
                "compacted bigint NOT NULL DEFAULT 0, added bigint NOT NULL DEFAULT 0, "
                "compact_from bigint NOT NULL DEFAULT {least}, "
                "spacing integer NOT NULL DEFAULT 1)"
            ).format(t=self._sizes(self.prefix), least=Literal(COMPACT_FROM)),
        ]
        return [*statements, *self._functions()]

    def query_index_statements(self) -> list[Composed]:
        """The triggers, then the cells counted from the rows when the cube is empty (a
        rebuild's replay, or tables made before the cube)."""
        partners, tags = self._tables(self.prefix)
        pending = self._pending(self.prefix)
        statements = [
            trigger
            for table, t in (("partners", partners), ("partner_tags", tags))
            for trigger in statement_triggers(
                "cube", t, functools.partial(self._event_function, table)
            )
        ]
        statements += [
            SQL("DROP TRIGGER IF EXISTS cube_flush ON {}").format(pending),
            SQL(
                "CREATE CONSTRAINT TRIGGER cube_flush AFTER INSERT ON {t} DEFERRABLE "
                "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {f}()"
            ).format(t=pending, f=self._function("flush")),
        ]
        return [*statements, *self._refill()]

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        return None  # the triggers keep the cube

    def grouped_statements(self) -> list[Composed]:
        """Each cuboid as the rows grouped now (`SELECT dimensions…, count(*)`)."""
        return grouped_statements(CUBOIDS, *self._tables(self.prefix))

    # -- the SQL -------------------------------------------------------------------------

    def _tables(self, prefix: str) -> tuple[Identifier, Identifier]:
        return (
            Identifier(self.schema, f"{prefix}partners"),
            Identifier(self.schema, f"{prefix}partner_tags"),
        )

    def _cuboid(self, prefix: str, cuboid: str) -> Identifier:
        return Identifier(self.schema, f"{prefix}partner_cube_{cuboid}")

    def _delta(self, prefix: str) -> Identifier:
        return Identifier(self.schema, f"{prefix}partner_cube_delta")

    def _pending(self, prefix: str) -> Identifier:
        return Identifier(self.schema, f"{prefix}partner_cube_pending")

    def _sizes(self, prefix: str) -> Identifier:
        return Identifier(self.schema, f"{prefix}partner_cube_sizes")

    def _function(self, name: str) -> Identifier:
        return Identifier(self.schema, f"{self.prefix}cube_{name}")

    def _event_function(self, table: str, event: str) -> Identifier:
        return self._function(f"{table}_{event.lower()}")

    def _functions(self) -> list[Composed]:
        """A function a table and event, and the flush. A body names the tables of this
        prefix, and the live ones for when a rebuild's swap has renamed its tables into
        their place (the triggers go with the tables)."""
        bodies: dict[str, tuple[str, Callable[[str], Composed]]] = {
            f"{table}_{event.lower()}": (table, functools.partial(self._note, table, event))
            for table in ("partners", "partner_tags")
            for event in TRANSITION_TABLES
        }
        bodies["flush"] = ("partner_cube_pending", self._flush)
        statements = []
        for name, (table, body) in bodies.items():
            code = body(self.prefix)
            if self.prefix:
                code = SQL("IF TG_TABLE_NAME = {} THEN {} ELSE {} END IF;").format(
                    Literal(f"{self.prefix}{table}"), code, body("")
                )
            statements.append(
                SQL(
                    "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS "
                    "$cube$ DECLARE noted bigint; counts bigint[]; to_compact text[]; BEGIN {code} RETURN NULL; END $cube$"
                ).format(f=self._function(name), code=code)
            )
        return statements

    def _note(self, table: str, event: str, prefix: str) -> Composed:
        """One statement's changes into the delta table; the transaction marked pending
        (its flush runs at commit)."""
        partners, tags = self._tables(prefix)
        changes = (partner_changes if table == "partners" else tag_changes)(event, partners, tags)
        return SQL(
            "INSERT INTO {delta} ({all}, d) SELECT {all}, d FROM ({changes}) c; "
            "GET DIAGNOSTICS noted = ROW_COUNT; IF noted > 0 THEN "
            "INSERT INTO {pending} (xact) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING; "
            "END IF;"
        ).format(
            delta=self._delta(prefix),
            all=columns(ALL),
            changes=changes,
            pending=self._pending(prefix),
        )

    def _flush(self, prefix: str) -> Composed:
        """The transaction's deltas netted once (a partner inserted then resolved: its +1
        and -1 cancel), then added to every cuboid, grouped, as new rows, in one
        statement; a cuboid compacted when the rows added since its last compaction
        outnumber the rows it kept then (`compact_statement`); the delta and pending
        rows gone."""
        delta, sizes = self._delta(prefix), self._sizes(prefix)
        appends = [
            SQL(
                "{a} AS (INSERT INTO {c} ({cols}, n) SELECT {cols}, sum(d) FROM net "
                "GROUP BY {cols} HAVING sum(d) <> 0 RETURNING 1)"
            ).format(
                a=Identifier(f"add_{cuboid}"), c=self._cuboid(prefix, cuboid), cols=columns(dims)
            )
            for cuboid, dims in CUBOIDS.items()
        ]
        compactions = [
            SQL(
                "IF {name} = ANY(to_compact) THEN {compact} GET DIAGNOSTICS noted = ROW_COUNT; "
                "UPDATE {sizes} SET spacing = CASE WHEN noted * 4 > (compacted + added) * 3 "
                "THEN least(spacing * 2, {most}) ELSE 1 END, compacted = noted, added = 0 "
                "WHERE cuboid = {name}; END IF;"
            ).format(
                name=Literal(cuboid),
                compact=self.compact_statement(cuboid, prefix),
                sizes=sizes,
                most=Literal(SPACING_UP_TO),
            )
            for cuboid in CUBOIDS
        ]
        return SQL(
            "WITH net AS MATERIALIZED (SELECT {all}, sum(d) AS d FROM {delta} GROUP BY {all} "
            "HAVING sum(d) <> 0), {appends} SELECT ARRAY[{counts}] INTO counts; "
            "WITH up AS (UPDATE {sizes} s SET added = s.added + a.k FROM unnest({names}::text[], "
            "counts) a(cuboid, k) WHERE s.cuboid = a.cuboid AND a.k > 0 RETURNING s.cuboid, "
            "s.added > greatest(s.spacing * s.compacted, s.compact_from) AS due) "
            "SELECT array_agg(cuboid) FILTER (WHERE due) INTO to_compact FROM up; "
            "IF to_compact IS NOT NULL THEN {compactions} END IF; "
            # TRUNCATE, not DELETE: the next transaction reads no dead rows (one writer:
            # the projector holding its lock; a rebuild writes tables of its own).
            "TRUNCATE {delta}; DELETE FROM {pending} WHERE xact = pg_current_xact_id();"
        ).format(
            all=columns(ALL),
            delta=delta,
            appends=SQL(", ").join(appends),
            counts=SQL(", ").join(
                SQL("(SELECT count(*) FROM {})").format(Identifier(f"add_{c}")) for c in CUBOIDS
            ),
            sizes=sizes,
            names=Literal(list(CUBOIDS)),
            compactions=SQL(" ").join(compactions),
            pending=self._pending(prefix),
        )

    def compact_statement(self, cuboid: str, prefix: str | None = None) -> Composed:
        """One statement: every row of the cuboid deleted, and its cells inserted back
        summed (those that sum to zero left out). One statement, so a reader sees the
        rows before or after, never between; rows that another transaction adds meanwhile
        are not in its snapshot, so not deleted, and kept."""
        c = self._cuboid(self.prefix if prefix is None else prefix, cuboid)
        cols = columns(CUBOIDS[cuboid])
        return SQL(
            "WITH gone AS (DELETE FROM {c} RETURNING {cols}, n) INSERT INTO {c} ({cols}, n) "
            "SELECT {cols}, sum(n) FROM gone GROUP BY {cols} HAVING sum(n) <> 0;"
        ).format(c=c, cols=cols)

    def _refill(self) -> list[Composed]:
        """Every cuboid counted from the rows, when it has no cell yet; its rows noted as
        compacted (the next compaction when as many again have been added)."""
        sizes = self._sizes(self.prefix)
        statements = []
        for (cuboid, dims), grouped in zip(CUBOIDS.items(), self.grouped_statements(), strict=True):
            c = self._cuboid(self.prefix, cuboid)
            statements += [
                SQL(
                    "INSERT INTO {c} ({cols}, n) SELECT * FROM ({grouped}) g "
                    "WHERE NOT EXISTS (SELECT 1 FROM {c})"
                ).format(c=c, cols=columns(dims), grouped=grouped),
                SQL(
                    "INSERT INTO {sizes} (cuboid, compacted) SELECT {name}, count(*) FROM {c} "
                    "ON CONFLICT (cuboid) DO UPDATE SET compacted = excluded.compacted, added = 0"
                ).format(sizes=sizes, name=Literal(cuboid), c=c),
            ]
        return statements
