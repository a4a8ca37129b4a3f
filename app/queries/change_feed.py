"""The change feed behind subscriptions: timeline rows after a position, with what
subscribers are routed by (the commercial partner, an activity's assignee)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra.rows import dataclass_row
from app.queries.partner_scope import entry_in_view
from app.queries.timeline_queries import TimelineRow

BATCH = 500


_SELECT = SQL(
    "SELECT t.position, t.occurred_at, t.kind, t.actor, t.request_id, t.reason, t.summary, "
    "t.subject_type, t.subject_id, t.changes, t.partner_id, p.commercial_partner_id, "
    "a.assignee_id, a.company_id FROM timeline t LEFT JOIN partners p ON p.id = t.partner_id "
    "LEFT JOIN activities a ON t.subject_type = 'Activity' AND a.id = t.subject_id"
)


@dataclass(frozen=True)
class FeedFilter:
    """Which rows a replay wants (all given conditions hold)."""

    partner_scope: UUID | None = None
    """A partner and, if it is a commercial partner, its contacts; and the activities
    that name it."""
    partner_ids: tuple[UUID, ...] | None = None
    assignee_id: UUID | None = None
    subject_type: str | None = None

    def sql(self) -> Composable:
        parts: list[Composable] = [SQL("TRUE")]
        if self.partner_scope is not None:
            parts.append(entry_in_view(Literal(self.partner_scope)))
        if self.partner_ids is not None:
            parts.append(SQL("t.partner_id = ANY({})").format(Literal(list(self.partner_ids))))
        if self.assignee_id is not None:
            parts.append(SQL("a.assignee_id = {}").format(Literal(self.assignee_id)))
        if self.subject_type is not None:
            parts.append(SQL("t.subject_type = {}").format(Literal(self.subject_type)))
        return SQL(" AND ").join(parts)


class ChangeFeed:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def between(self, after: int, upto: int) -> list[TimelineRow]:
        """Every row after `after` up to `upto` (inclusive), in order."""
        return await self._rows(SQL("TRUE"), after, upto, limit=None)

    async def replay(
        self, f: FeedFilter, after: int, upto: int
    ) -> AsyncIterator[Sequence[TimelineRow]]:
        """The matching rows after `after` up to `upto`, in order, in batches."""
        while True:
            rows = await self._rows(f.sql(), after, upto, limit=BATCH)
            if not rows:
                return
            yield rows
            after = rows[-1].position

    async def _rows(
        self, where: Composable, after: int, upto: int, *, limit: int | None
    ) -> list[TimelineRow]:
        query = SQL(
            "{s} WHERE t.position > {a} AND t.position <= {u} AND {w} ORDER BY t.position"
        ).format(s=_SELECT, a=Literal(after), u=Literal(upto), w=where)
        if limit is not None:
            query = SQL("{} LIMIT {}").format(query, Literal(limit))
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(TimelineRow))
            await cur.execute(query)
            rows: list[TimelineRow] = await cur.fetchall()
            return rows
