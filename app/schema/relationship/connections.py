"""Pages of activities and documents as Relay connections."""

from __future__ import annotations

from uuid import UUID

from app.queries.activity_queries import ActivityFilter
from app.queries.document_queries import DocumentFilter
from app.schema.context import Info
from app.schema.relationship.documents import Document
from app.schema.relationship.types import Activity, TimelineEntry
from app.schema.relay import Connection, check_page_args, page_connection, read_page


async def activity_connection(
    info: Info, f: ActivityFilter, first: int | None, after: str | None
) -> Connection[Activity]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    page = await read_page(
        relationships.activity_page(f, info.context.now, first=first, after=after)
    )
    return page_connection(page, Activity.from_row, relationships.count)


async def document_connection(
    info: Info, f: DocumentFilter, first: int | None, after: str | None
) -> Connection[Document]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    page = await read_page(
        relationships.document_page(f, info.context.now, first=first, after=after)
    )
    return page_connection(page, Document.from_row, relationships.count)


async def timeline_connection(
    info: Info, partner_id: UUID, kinds: list[str] | None, first: int | None, after: str | None
) -> Connection[TimelineEntry]:
    check_page_args(first, after, None, None)
    relationships = info.context.services.relationships
    page = await read_page(relationships.timeline_page(partner_id, kinds, first=first, after=after))
    return page_connection(page, TimelineEntry.from_row, relationships.count)
