"""Pages of activities and documents as Relay connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from app.queries.keyset import BadCursor
from app.queries.relationship_queries import ActivityFilter, DocumentFilter, Page
from app.schema.context import Info
from app.schema.errors import ClientError
from app.schema.relationship.types import Activity, Document, TimelineEntry
from app.schema.relay import Connection, check_page_args, make_connection


def page_connection(page: Page, build: Callable[[Any], Any], count: Any) -> Connection[Any]:
    return make_connection(
        [build(row) for row in page.rows],
        page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        count=lambda: count(page.count_query),
    )


async def activity_connection(
    info: Info, f: ActivityFilter, first: int | None, after: str | None
) -> Connection[Activity]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    try:
        page = await relationships.activity_page(f, info.context.now, first=first, after=after)
    except BadCursor as error:
        raise ClientError(str(error), "BAD_REQUEST") from None
    return page_connection(page, Activity.from_row, relationships.count)


async def document_connection(
    info: Info, f: DocumentFilter, first: int | None, after: str | None
) -> Connection[Document]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    try:
        page = await relationships.document_page(f, first=first, after=after)
    except BadCursor as error:
        raise ClientError(str(error), "BAD_REQUEST") from None
    return page_connection(page, Document.from_row, relationships.count)


async def timeline_connection(
    info: Info, partner_id: UUID, kinds: list[str] | None, first: int | None, after: str | None
) -> Connection[TimelineEntry]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    try:
        page = await relationships.timeline_page(partner_id, kinds, first=first, after=after)
    except BadCursor as error:
        raise ClientError(str(error), "BAD_REQUEST") from None
    return page_connection(page, TimelineEntry.from_row, relationships.count)
