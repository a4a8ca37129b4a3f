"""Activities of the 360° view, with their state against the clock (OVERDUE, TODAY,
PLANNED) in the time zone of whom they concern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from psycopg.sql import SQL, Composable, Literal

from app.queries import record_pages as pages
from app.queries.partner_scope import activity_in_view
from app.queries.record_pages import Page, RecordReader, encode_cursor


def local_today(now: datetime, activity: str = "a") -> Composable:
    """Today's date where the activity's assignee is (else its partner, else the partner's
    company, else UTC)."""
    return SQL(
        "({now}::timestamptz AT TIME ZONE COALESCE("
        "(SELECT e.data->>'tz' FROM catalog_entries e WHERE e.id = {a}.assignee_id), "
        "(SELECT COALESCE(p.tz, cp.tz) FROM partners p "
        " LEFT JOIN partners cp ON cp.id = p.commercial_partner_id WHERE p.id = {a}.partner_id), "
        "'UTC'))::date"
    ).format(now=Literal(now), a=SQL(activity))


def activity_state(now: datetime) -> Composable:
    today = local_today(now)
    return SQL(
        "CASE WHEN a.status <> 'OPEN' THEN a.status WHEN a.due_date < {t} THEN 'OVERDUE' "
        "WHEN a.due_date = {t} THEN 'TODAY' ELSE 'PLANNED' END"
    ).format(t=today)


def overdue_condition(now: datetime, partner: Composable) -> Composable:
    """Used by the partners filter `hasOverdueActivities`: the partner's view shows an
    open activity past its due date (`activity_in_view`). Written as the set of the
    partners whose view shows one, computed once a statement: an open activity past due
    shows in the view of its partner and of the company it names, and in the views of
    their commercial partners. (A condition per partner read the scope again for every
    pair of a partner and an open activity: 4.8 s at 2,000 partners.)"""
    return SQL(
        "{p} IN (SELECT shown.id FROM activities a "
        "CROSS JOIN LATERAL (VALUES (a.partner_id), (a.company_id)) AS named(id) "
        "JOIN partners m ON m.id = named.id "
        "LEFT JOIN partners r ON r.id = m.commercial_partner_id "
        "AND r.commercial_partner_id = r.id "
        "CROSS JOIN LATERAL (VALUES (m.id), (r.id)) AS shown(id) "
        "WHERE a.status = 'OPEN' AND a.due_date < {t} AND shown.id IS NOT NULL)"
    ).format(p=partner, t=local_today(now))


@dataclass(frozen=True)
class ActivityRow:
    id: UUID
    partner_id: UUID
    activity_type: str
    summary: str | None
    note: str | None
    due_date: date
    assignee_id: UUID | None
    company_id: UUID | None
    status: str
    state: str
    feedback: str | None
    done_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ActivityFilter:
    partner_id: UUID | None = None
    assignee_id: UUID | None = None
    states: tuple[str, ...] | None = None
    due_after: date | None = None
    due_before: date | None = None


class ActivityDirectory(RecordReader):
    def _activity_select(self, now: datetime) -> Composable:
        return SQL(
            "SELECT a.id, a.partner_id, a.activity_type, a.summary, a.note, a.due_date, "
            "a.assignee_id, a.company_id, a.status, {state} AS state, a.feedback, a.done_at, a.version, "
            "a.created_at, a.updated_at FROM activities a"
        ).format(state=activity_state(now))

    async def activities(self, ids: Sequence[UUID], now: datetime) -> dict[UUID, ActivityRow]:
        query = SQL("{sel} WHERE a.id = ANY({ids})").format(
            sel=self._activity_select(now), ids=Literal(list(ids))
        )
        return {row.id: row for row in await self._rows(query, ActivityRow)}

    async def activity_page(
        self, f: ActivityFilter, now: datetime, *, first: int | None, after: str | None
    ) -> Page:
        conditions: list[Composable] = [SQL("TRUE")]
        if f.partner_id is not None:
            conditions.append(activity_in_view(Literal(f.partner_id)))
        if f.assignee_id is not None:
            conditions.append(SQL("a.assignee_id = {}").format(Literal(f.assignee_id)))
        if f.states is not None:
            conditions.append(
                SQL("{} = ANY({})").format(activity_state(now), Literal(list(f.states)))
            )
        if f.due_after is not None:
            conditions.append(SQL("a.due_date >= {}").format(Literal(f.due_after)))
        if f.due_before is not None:
            conditions.append(SQL("a.due_date <= {}").format(Literal(f.due_before)))
        where = SQL(" AND ").join(conditions)
        seek = pages.dated_seek(after, SQL("(a.due_date, a.id) > ({}, {})"))
        size = pages.page_size(first)
        query = SQL("{sel} WHERE {w} AND {seek} ORDER BY a.due_date, a.id LIMIT {n}").format(
            sel=self._activity_select(now), w=where, seek=seek, n=Literal(size + 1)
        )
        rows = await self._rows(query, ActivityRow)
        return pages.page_of(
            rows,
            size,
            after,
            lambda r: encode_cursor([r.due_date.isoformat(), str(r.id)]),
            SQL("SELECT count(*) FROM activities a WHERE {}").format(where),
        )
