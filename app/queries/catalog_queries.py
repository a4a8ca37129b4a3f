"""Queries over `catalog_entries` and `tags`: by id, pages by name, a partner's tags and
tag full names ("Region / EMEA")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra.params import uuid_array
from app.infra.rows import dataclass_row
from app.projections.registry import REGISTRY_TRACKING
from app.queries.keyset import decode_name_cursor, encode_name_cursor
from app.queries.record_pages import Page, RecordReader, page_of, page_size


@dataclass(frozen=True)
class CatalogRow:
    id: UUID
    catalog: str
    name: str
    data: dict[str, Any]
    archived: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TagRow:
    id: UUID
    name: str
    color: int
    parent_id: UUID | None
    archived: bool
    version: int
    full_name: str


TAG_FULL_NAME = SQL(
    "(WITH RECURSIVE up(id, parent_id, name, depth) AS ("
    " SELECT t.id, t.parent_id, t.name, 0 UNION ALL"
    " SELECT p.id, p.parent_id, p.name, up.depth + 1 FROM tags p JOIN up ON p.id = up.parent_id"
    " WHERE up.depth < 64)"
    " SELECT string_agg(name, ' / ' ORDER BY depth DESC) FROM up)"
)
"""The full name ("Region / EMEA") of the tag aliased `t`: its ancestors' names and its
own, joined by " / " (`Tag.fullName`, and the tags facet's labels)."""
_TAG_COLUMNS = SQL("id, name, color, parent_id, archived, version, {} AS full_name").format(
    TAG_FULL_NAME
)


class CatalogDirectory(RecordReader):
    """Reads catalog entries and tags through the async pool."""

    async def entries(self, ids: Sequence[UUID]) -> dict[UUID, CatalogRow]:
        query = SQL("SELECT * FROM catalog_entries WHERE id = ANY(%s::uuid[])")
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(CatalogRow))
            await cur.execute(query, (uuid_array(ids),))
            return {row.id: row for row in await cur.fetchall()}

    async def tags(self, ids: Sequence[UUID]) -> dict[UUID, TagRow]:
        query = SQL("SELECT {cols} FROM tags t WHERE id = ANY(%s::uuid[])").format(
            cols=_TAG_COLUMNS
        )
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(TagRow))
            await cur.execute(query, (uuid_array(ids),))
            return {row.id: row for row in await cur.fetchall()}

    async def tags_of_partners(self, partner_ids: Sequence[UUID]) -> dict[UUID, list[TagRow]]:
        query = SQL(
            "SELECT pt.partner_id, {cols} FROM partner_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE pt.partner_id = ANY(%s::uuid[]) ORDER BY lower(t.name), t.id"
        ).format(cols=_TAG_COLUMNS)
        found: dict[UUID, list[TagRow]] = {i: [] for i in partner_ids}
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, (uuid_array(partner_ids),))
            for partner_id, *values in await cur.fetchall():
                found[partner_id].append(TagRow(*values))
        return found

    async def entry_page(
        self, catalog: str, *, include_archived: bool, first: int | None, after: str | None
    ) -> Page:
        where = SQL("catalog = {}").format(Literal(catalog))
        return await self._page(
            SQL("SELECT * FROM catalog_entries t"),
            where,
            CatalogRow,
            include_archived=include_archived,
            first=first,
            after=after,
        )

    async def tag_page(
        self,
        *,
        parent_id: UUID | None,
        top_level_only: bool,
        include_archived: bool,
        first: int | None,
        after: str | None,
    ) -> Page:
        if parent_id is not None:
            where: Composable = SQL("t.parent_id = {}").format(Literal(parent_id))
        elif top_level_only:
            where = SQL("t.parent_id IS NULL")
        else:
            where = SQL("TRUE")
        return await self._page(
            SQL("SELECT {cols} FROM tags t").format(cols=_TAG_COLUMNS),
            where,
            TagRow,
            include_archived=include_archived,
            first=first,
            after=after,
        )

    async def _page(
        self,
        select: Composable,
        where: Composable,
        row_type: type[Any],
        *,
        include_archived: bool,
        first: int | None,
        after: str | None,
    ) -> Page:
        size = page_size(first)
        conditions = [where]
        if not include_archived:
            conditions.append(SQL("NOT t.archived"))
        filtered = SQL(" AND ").join(conditions)
        if after is not None:
            name, ident = decode_name_cursor(after)
            conditions.append(
                SQL("(lower(t.name), t.id) > ({}, {})").format(Literal(name), Literal(ident))
            )
        query = SQL("{select} WHERE {w} ORDER BY lower(t.name), t.id LIMIT {n}").format(
            select=select, w=SQL(" AND ").join(conditions), n=Literal(size + 1)
        )
        rows = await self._rows(query, row_type)
        table = Identifier("tags" if row_type is TagRow else "catalog_entries")
        return page_of(
            rows,
            size,
            after,
            _name_cursor,
            SQL("SELECT count(*) FROM {} t WHERE {}").format(table, filtered),
        )


@dataclass(frozen=True)
class SegmentRow:
    id: UUID
    name: str
    description: str | None
    filter: dict[str, Any] | None
    search: str | None
    version: int
    created_at: datetime
    updated_at: datetime


async def segments(pool: AsyncConnectionPool[Any], ids: Sequence[UUID]) -> dict[UUID, SegmentRow]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dataclass_row(SegmentRow))
        await cur.execute("SELECT * FROM segments WHERE id = ANY(%s)", (list(ids),))
        return {row.id: row for row in await cur.fetchall()}


async def segment_page(
    pool: AsyncConnectionPool[Any], *, first: int | None, after: str | None
) -> Page:
    size = page_size(first)
    seek: Composable = SQL("TRUE")
    if after is not None:
        name, ident = decode_name_cursor(after)
        seek = SQL("(lower(t.name), t.id) > ({}, {})").format(Literal(name), Literal(ident))
    query = SQL("SELECT * FROM segments t WHERE {} ORDER BY lower(t.name), t.id LIMIT {}").format(
        seek, Literal(size + 1)
    )
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dataclass_row(SegmentRow))
        await cur.execute(query)
        rows = await cur.fetchall()
    return page_of(rows, size, after, _name_cursor, SQL("SELECT count(*) FROM segments t"))


def _name_cursor(row: CatalogRow | TagRow | SegmentRow) -> str:
    return encode_name_cursor(row.name, row.id)


async def setting_ids(pool: AsyncConnectionPool[Any], app_name: str) -> tuple[list[UUID], int]:
    """Every segment's and webhook endpoint's id, and the position of the log the read
    models showed then (one snapshot): the settings an erasure searches for the person's
    values, besides those the log holds after it (app/application/saved_text_erasure.py)."""
    statement = SQL(
        "SELECT ARRAY(SELECT id FROM segments UNION ALL SELECT id FROM webhook_endpoints), "
        "(SELECT coalesce(max(notification_id), 0) FROM {} WHERE application_name = %s)"
    ).format(Identifier(REGISTRY_TRACKING))
    async with pool.connection() as conn:
        cur = await conn.execute(statement, (app_name,))
        row = await cur.fetchone()
    assert row is not None
    return sorted(row[0]), int(row[1])
