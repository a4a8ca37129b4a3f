"""Notes from the `notes` read model: by id, and a partner's thread, newest first, in
keyset pages (deleted notes left out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.queries.keyset import BadCursor, cursor_uuid
from app.queries.record_pages import (
    Page,
    RecordReader,
    decode_cursor,
    encode_cursor,
    page_of,
    page_size,
)


@dataclass(frozen=True)
class NoteRow:
    id: UUID
    partner_id: UUID
    body: str | None
    author: str
    deleted: bool
    version: int
    created_at: datetime
    updated_at: datetime


def _cursor(row: NoteRow) -> str:
    return encode_cursor([row.created_at.isoformat(), str(row.id)])


def _seek(after: str | None) -> Composable:
    if after is None:
        return SQL("TRUE")
    at, ident = decode_cursor(after, 2)
    try:
        values = Literal(datetime.fromisoformat(at)), Literal(cursor_uuid(ident))
    except (ValueError, TypeError):
        raise BadCursor("not a cursor of this list") from None
    return SQL("(n.created_at, n.id) < ({}, {})").format(*values)


class NoteDirectory(RecordReader):
    async def notes(self, ids: Sequence[UUID]) -> dict[UUID, NoteRow]:
        query = SQL("SELECT * FROM notes WHERE id = ANY({}) AND NOT deleted").format(
            Literal(list(ids))
        )
        return {row.id: row for row in await self._rows(query, NoteRow)}

    async def thread(self, partner_id: UUID, first: int | None, after: str | None) -> Page:
        size = page_size(first)
        where = SQL("n.partner_id = {} AND NOT n.deleted").format(Literal(partner_id))
        query = SQL(
            "SELECT n.* FROM notes n WHERE {w} AND {seek} "
            "ORDER BY n.created_at DESC, n.id DESC LIMIT {n}"
        ).format(w=where, seek=_seek(after), n=Literal(size + 1))
        rows = await self._rows(query, NoteRow)
        count = SQL("SELECT count(*) FROM notes n WHERE {w}").format(w=where)
        return page_of(rows, size, after, _cursor, count)
