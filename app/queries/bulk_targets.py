"""The partners a bulk edit is about, read from the `partners` read model: those of a
filter (and search), or of a segment; at most `limit + 1` ids, so that one too many is
known without reading them all."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Literal
from psycopg_pool import AsyncConnectionPool

from app.queries.exports import export_condition, segment_definition
from app.queries.partners.filters import PartnerFilter

_IDS = SQL("SELECT p.id FROM partners p WHERE ({w}) ORDER BY p.id LIMIT {n}")
"""Composed whole, no parameters: the condition holds literals (a search's `'%…%'`)
that psycopg would read as placeholders beside a `%s` (a bulk edit by a filter and a
search failed INTERNAL: "only '%s', '%b', '%t' are allowed as placeholders")."""


async def matching_ids(
    pool: AsyncConnectionPool[Any],
    where: PartnerFilter | None,
    search: str | None,
    now: datetime,
    limit: int,
) -> list[UUID]:
    async with pool.connection() as conn:
        condition = await export_condition(conn, where, now, search)
        cur = await conn.execute(_IDS.format(w=condition, n=Literal(limit + 1)))
        return [row[0] for row in await cur.fetchall()]


async def segment_of(
    pool: AsyncConnectionPool[Any], segment_id: UUID
) -> tuple[dict[str, Any] | None, str | None] | None:
    async with pool.connection() as conn:
        return await segment_definition(conn, segment_id)
