"""What the lists of a partner's records (activities, documents, opportunities, timeline)
share: rows read through the read pool, and pages with their keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from psycopg.sql import Composable
from psycopg_pool import AsyncConnectionPool

from app.infra.rows import dataclass_row
from app.queries.keyset import BadCursor


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
    """The `size` values a cursor of `encode_cursor` holds; BadCursor for anything else."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error):
        raise BadCursor("not a cursor of this list") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadCursor("not a cursor of this list")
    return values


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
