"""Pages of partners: the ones a filter and a search select, in an ordering, a keyset
page at a time (forward after a cursor, or backward before one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.infra.rows import dataclass_row
from app.queries.keyset import MAX_PAGE, LazyCursors
from app.queries.partners.counts import planner_rows
from app.queries.partners.filters import PartnerFilter, search_term, selection_clause
from app.queries.partners.ordering import (
    SORT_KEYS,
    Order,
    between_cursors,
    computed_keys,
    encode_cursor,
    order_clause,
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
            # Alphabetical unless RELEVANCE is asked for: at 1M partners a 3-letter search
            # ordered by similarity scores every match (~590 ms), by name it reads the
            # name index until the page is full (~7 ms).
            orders = list(orders) or [Order("NAME")]
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
                query = statement.bounded()
            else:
                query = statement.walking()
            cur = conn.cursor(row_factory=dataclass_row(PartnerRow))
            await cur.execute(query)
            rows = await cur.fetchall()
        return _page_of(
            rows, size, orders, backward=backward, after=after, before=before, where=clause
        )


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
