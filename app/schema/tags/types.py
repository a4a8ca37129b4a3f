"""The `Tag` type: a label in a hierarchy, shown with its full name."""

from __future__ import annotations

from uuid import UUID

import strawberry

from app.queries.catalog_queries import TagRow
from app.schema.context import Info
from app.schema.descriptions import PAGING, RECORD, described
from app.schema.ids import to_global_id
from app.schema.relay import (
    Connection,
    Node,
    check_page_args,
    page_connection,
    read_page,
)

TAG_FIELDS = {
    "name": "Its name: 1 to 100 characters, no `/`, unique among its siblings (any case).",
    "color": "0 to 11, the palette index.",
    "parent_id": "The tag it sits under (a `Tag` id); none for a top-level tag.",
}
"""The fields of a tag, as the type and the inputs show them."""


@described(TAG_FIELDS, RECORD, PAGING)
@strawberry.type(description="A tag (VIP, Region / EMEA…); filtering by it includes sub-tags.")
class Tag(Node):
    row: strawberry.Private[TagRow]
    name: str
    color: int = strawberry.field(description="0 to 11, the palette index.")
    full_name: str = strawberry.field(description='"Parent / Child"')
    archived: bool
    version: int

    @classmethod
    def from_row(cls, row: TagRow) -> Tag:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Tag", row.id)),
            name=row.name,
            color=row.color,
            full_name=row.full_name,
            archived=row.archived,
            version=row.version,
        )

    @strawberry.field(description="The tag it sits under; null for a top-level tag.")
    async def parent(self, info: Info) -> Tag | None:
        if self.row.parent_id is None:
            return None
        row = await info.context.tags.load(self.row.parent_id)
        return Tag.from_row(row) if row else None

    @strawberry.field(description="Active sub-tags.")
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Tag]:
        return await tag_connection(info, parent_id=self.row.id, first=first, after=after)


async def tag_connection(
    info: Info,
    parent_id: UUID | None = None,
    top_level_only: bool = False,
    include_archived: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> Connection[Tag]:
    check_page_args(first, after, None, None)
    catalogs = info.context.services.catalogs
    page = await read_page(
        catalogs.tag_page(
            parent_id=parent_id,
            top_level_only=top_level_only,
            include_archived=include_archived,
            first=first,
            after=after,
        )
    )
    return page_connection(page, Tag.from_row, catalogs.count)
