"""The timeline of the 360° view: a partner's events (its contacts' too when it is a
commercial partner, and those of activities naming it), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.queries.keyset import BadCursor
from app.queries.partner_scope import entries_in_view
from app.queries.record_pages import (
    Page,
    RecordReader,
    decode_cursor,
    encode_cursor,
    page_of,
    page_size,
)


@dataclass(frozen=True)
class TimelineRow:
    """A row of the `timeline` table; the change feed also reads whom it concerns."""

    position: int
    occurred_at: datetime
    kind: str
    actor: str
    request_id: str | None
    reason: str | None
    summary: str
    subject_type: str
    subject_id: UUID
    changes: dict[str, Any]
    partner_id: UUID
    commercial_partner_id: UUID | None = None
    """The partner's commercial partner (read by the change feed only)."""
    assignee_id: UUID | None = None
    """The assignee when the subject is an activity (read by the change feed only)."""
    company_id: UUID | None = None
    """The company an activity names, whose view shows it too (read by the change feed only)."""


class TimelineDirectory(RecordReader):
    async def timeline_page(
        self,
        partner_id: UUID,
        kinds: Sequence[str] | None,
        *,
        first: int | None,
        after: str | None,
    ) -> Page:
        conditions: list[Composable] = [SQL("TRUE")]
        if kinds is not None:
            conditions.append(SQL("t.kind = ANY({})").format(Literal(list(kinds))))
        where = SQL(" AND ").join(conditions)
        view = entries_in_view(Literal(partner_id))
        seek: Composable = SQL("TRUE")
        if after is not None:
            (position,) = decode_cursor(after, 1)
            if not isinstance(position, int):
                raise BadCursor("not a cursor of this list")
            seek = SQL("t.position < {}").format(Literal(position))
        size = page_size(first)
        query = SQL(
            "SELECT * FROM {view} t WHERE {w} AND {seek} ORDER BY t.position DESC LIMIT {n}"
        ).format(view=view, w=where, seek=seek, n=Literal(size + 1))
        rows = await self._rows(query, TimelineRow)
        return page_of(
            rows,
            size,
            after,
            lambda r: encode_cursor([r.position]),
            SQL("SELECT count(*) FROM {} t WHERE {}").format(view, where),
        )
