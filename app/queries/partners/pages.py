"""Pages of partners: the ones a filter and a search select, in an ordering, a keyset
page at a time (forward after a cursor, or backward before one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.infra.rows import dataclass_row
from app.queries.keyset import MAX_PAGE, LazyCursors
from app.queries.partners.counts import planner_rows
from app.queries.partners.filters import (
    PartnerFilter,
    search_term,
    selection_clause,
    where_clause,
)
from app.queries.partners.ordering import (
    SORT_KEYS,
    Order,
    between_cursors,
    computed_keys,
    encode_cursor,
    order_clause,
    relevance_prefix,
    with_relevance_ties,
)
from app.queries.partners.rows import COLUMNS, PartnerReads, PartnerRow

BOUNDED_SEARCH_MATCHES = 10_000
"""A search the planner expects to match at most this many partners reads all its
matches through the trigram index and sorts them (~1.5 µs a match: ≤ 15 ms), instead of
walking the sort order's index until a page is full: that walk is quick when matches are
spread through the order, but reads most of the table when they are not (a search for
"lum" whose matches all sort under L read 65,000 rows: 107 ms at 100,000 partners)."""


@dataclass(frozen=True)
class Page:
    rows: list[PartnerRow]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    where: Composable = field(repr=False)


class PartnerPages(PartnerReads):
    """The page queries: which statement reads a page, and the page made of its rows."""

    async def page(
        self,
        where: PartnerFilter | None,
        orders: Sequence[Order],
        *,
        now: datetime,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Page:
        async with self.pool.connection() as conn:
            term = await search_term(conn, search)
            # Alphabetical unless RELEVANCE is asked for (names starting with the search
            # first, then alphabetical too: ordering.relevance).
            orders = with_relevance_ties(orders) or [Order("NAME")]
            backward = last is not None and first is None
            requested = last if backward else first
            size = min(50 if requested is None else requested, MAX_PAGE)
            clause = selection_clause(where, now, term, search)
            statement = _PageStatement(
                self.table,
                clause,
                computed_keys(orders, term),
                between_cursors(orders, after, before),
                orders,
                backward,
                size + 1,
            )
            if term and await planner_rows(conn, self.table, clause) <= BOUNDED_SEARCH_MATCHES:
                queries = [statement.bounded()]
            elif term and orders[0].field == "RELEVANCE":
                # A name that starts with the search is found by it: the first rank
                # needs the filter only (which keeps its estimate honest).
                filtered = where_clause(where, now)
                queries = statement.ranked(term, filtered, await self._codepoint_order(conn))
            else:
                queries = [statement.walking()]
            cur = conn.cursor(row_factory=dataclass_row(PartnerRow))
            rows: list[PartnerRow] = []
            for query in queries:  # the next one only while the page is not full
                await cur.execute(query)
                rows += await cur.fetchall()
                if len(rows) > size:
                    break
        return _page_of(
            rows, size, orders, backward=backward, after=after, before=before, where=clause
        )

    async def _codepoint_order(self, conn: Any) -> bool:
        """Whether the database sorts text by code point (C, C.UTF-8, builtin): then the
        names starting with a search are the range [search, its successor) of the name
        index. Read once."""
        known: bool | None = getattr(self, "_codepoints", None)
        if known is None:
            cur = await conn.execute(
                "SELECT datlocprovider = 'b' OR datcollate IN ('C', 'POSIX', 'C.UTF-8', "
                "'C.utf8') FROM pg_database WHERE datname = current_database()"
            )
            row = await cur.fetchone()
            known = self._codepoints = bool(row and row[0])
        return known


@dataclass(frozen=True)
class _PageStatement:
    """What the statement reading a page is made of: the selection, the keys computed for
    the ordering, the cursors' bounds, the ordering (reversed to read backward) and how
    many rows to read."""

    table: Composable
    clause: Composable
    computed: list[Composable]
    seek: Composable
    orders: Sequence[Order]
    backward: bool
    limit: int

    def _parts(self) -> dict[str, Composable]:
        return {
            "t": self.table,
            "w": self.clause,
            "cols": SQL(", ").join([COLUMNS, *self.computed]),
            "seek": self.seek,
            "o": order_clause(self.orders, reverse=self.backward),
            "n": Literal(self.limit),
        }

    def walking(self) -> Composable:
        """The page read in the ordering until it is full (along the sort order's index,
        when it has one)."""
        return SQL(
            "SELECT * FROM (SELECT {cols} FROM {t} p WHERE {w}) AS partners "
            "WHERE {seek} ORDER BY {o} LIMIT {n}"
        ).format(**self._parts())

    def ranked(self, term: str, filtered: Composable, codepoint_order: bool) -> list[Composable]:
        """RELEVANCE first (ordering.relevance): a statement for each rank, in the order
        the page reads them (the next one runs only if the page is not full), each read
        along the name index until the page is full. The first rank is a range of that
        index where the database sorts by code point; elsewhere the planner finds it as
        it can (a walk, or the trigram index and a sort)."""
        first = relevance_prefix(term)
        successor = term[:-1] + chr(ord(term[-1]) + 1) if ord(term[-1]) < 0x10FFFF else ""
        if codepoint_order and successor:
            # The same partners, as a range the planner reads along the index.
            first = SQL("p.name_key >= {} AND p.name_key < {}").format(
                Literal(term), Literal(successor)
            )
        parts = self._parts()
        ranks: list[Composable] = [
            SQL(
                "(SELECT * FROM (SELECT {cols}, {rank} AS relevance FROM {t} p WHERE {w}) "
                "AS partners WHERE {seek} ORDER BY {o} LIMIT {n})"
            ).format(
                rank=Literal(rank),
                w=condition,
                # RELEVANCE is the last computed key (ordering.computed_keys): a constant here.
                cols=SQL(", ").join([COLUMNS, *self.computed[:-1]]),
                **{k: v for k, v in parts.items() if k not in ("cols", "w")},
            )
            for rank, condition in (
                (1, SQL("{} AND {}").format(filtered, first)),
                (0, SQL("{} AND ({}) IS NOT TRUE").format(self.clause, first)),
            )
        ]
        first_rank_first = self.orders[0].descending != self.backward
        return ranks if first_rank_first else ranks[::-1]

    def bounded(self) -> Composable:
        """The page of a search with few matches (BOUNDED_SEARCH_MATCHES), in one
        statement: every match read by the clause's own best plan (the trigram index),
        kept as its id and sort keys only (a materialized CTE: the planner cannot turn
        it into a walk along the sort order's index), sorted, and then the page's rows
        by id in that order. Sorting whole rows cost ~4 µs a match, the keys ~1.5."""
        columns = dict.fromkeys(c for o in self.orders for c in SORT_KEYS[o.field].columns)
        keys = SQL(", ").join(
            [SQL("p.id"), *(SQL("p.{}").format(Identifier(c)) for c in columns), *self.computed]
        )
        return SQL(
            "WITH matches AS MATERIALIZED (SELECT {keys} FROM {t} p WHERE {w}) "
            "SELECT {cols} FROM unnest(ARRAY(SELECT id FROM matches AS partners "
            "WHERE {seek} ORDER BY {o} LIMIT {n})) WITH ORDINALITY AS page(id, place) "
            "JOIN {t} p USING (id) ORDER BY page.place"
        ).format(keys=keys, **self._parts())


def _page_of(
    rows: list[PartnerRow],
    size: int,
    orders: Sequence[Order],
    *,
    backward: bool,
    after: str | None,
    before: str | None,
    where: Composable,
) -> Page:
    """The page from the rows read: one more than `size` says another page follows (in
    the direction read); rows read backward are put back in the list's order."""
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    return Page(
        rows=rows,
        cursors=LazyCursors(rows, lambda row: encode_cursor(row, orders)),
        has_next_page=more if not backward else before is not None,
        has_previous_page=more if backward else after is not None,
        where=where,
    )
