"""What the lists of records share (a partner's activities, documents, opportunities and
timeline; catalog entries, tags, segments): rows read through the read pool, and pages
with their keyset cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg.sql import SQL, Composable, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra.rows import dataclass_row
from app.queries.keyset import (
    MAX_PAGE,
    NOT_A_CURSOR,
    BadCursor,
    cursor_int,
    cursor_payload,
    cursor_text,
    cursor_uuid,
)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count_query: Composable


def encode_cursor(values: list[Any]) -> str:
    """The cursor after a row, from the values it is ordered by."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The `size` values a cursor of `encode_cursor` holds, each a string PostgreSQL can
    compare or an integer within bigint (what the lists put in them); BadCursor for
    anything else."""
    values = cursor_payload(cursor)
    if not isinstance(values, list) or len(values) != size:
        raise BadCursor(NOT_A_CURSOR)
    return [cursor_int(v) if isinstance(v, int) else cursor_text(v) for v in values]


def page_size(first: int | None) -> int:
    """How many rows a page holds: `first`, 50 when not given, at most MAX_PAGE."""
    return min(first if first is not None else 50, MAX_PAGE)


def dated_seek(after: str | None, condition: SQL) -> Composable:
    """What keeps the rows past a cursor of a list ordered by a date and the id: TRUE on
    the first page, else `condition` (e.g. `(d.date, d.id) < ({}, {})`) with the cursor's
    values; BadCursor for a cursor that holds no such values."""
    if after is None:
        return SQL("TRUE")
    day, ident = decode_cursor(after, 2)
    try:
        seek = Literal(date.fromisoformat(day))
    except (ValueError, TypeError):
        raise BadCursor(NOT_A_CURSOR) from None
    return condition.format(seek, Literal(cursor_uuid(ident)))


def page_of(
    rows: list[Any],
    size: int,
    after: str | None,
    cursor_of: Callable[[Any], str],
    count_query: Composable,
) -> Page:
    """The page from the rows read: one more than `size` says a next page follows."""
    return Page(
        rows=rows[:size],
        cursors=[cursor_of(r) for r in rows[:size]],
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
        count_query=count_query,
    )


class RecordReader:
    """Reads rows of records through the read pool."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def _rows(self, query: Composable, row_type: type[Any]) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(row_type))
            await cur.execute(query)
            rows: list[Any] = await cur.fetchall()
            return rows

    async def count(self, query: Composable) -> int:
        """The rows a page's `count_query` counts."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            row = await cur.fetchone()
            return int(row[0]) if row else 0
