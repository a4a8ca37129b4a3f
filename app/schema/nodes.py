"""`node(id)` and `nodes(ids)`: any record by its global id."""

from __future__ import annotations

from uuid import UUID

import strawberry

from app.queries.catalog_queries import segments
from app.schema.affiliations.types import Affiliation, BankAccount, directory
from app.schema.catalogs.types import TYPE_CATALOGS, catalog_item
from app.schema.context import Info
from app.schema.descriptions import described
from app.schema.errors import ClientError
from app.schema.ids import BadId, from_global_id
from app.schema.notes.types import resolve_note
from app.schema.partners.types import Partner
from app.schema.relationship.documents import Document
from app.schema.relationship.types import Activity, Opportunity
from app.schema.relay import Node
from app.schema.segments import Segment
from app.schema.tags.types import Tag


async def resolve_node(info: Info, global_id: str) -> Node | None:
    try:
        type_name, ident = from_global_id(global_id)
    except BadId:
        return None
    if type_name == "Partner":
        row = await info.context.partners.load(ident)
        return Partner.from_row(row) if row else None
    if type_name == "Tag":
        tag = await info.context.tags.load(ident)
        return Tag.from_row(tag) if tag else None
    if type_name == "Activity":
        activity = await info.context.activities.load(ident)
        return Activity.from_row(activity) if activity else None
    if type_name == "Document":
        document = await info.context.documents.load(ident)
        return Document.from_row(document) if document else None
    if type_name == "Opportunity":
        opportunity = await info.context.opportunities.load(ident)
        return Opportunity.from_row(opportunity) if opportunity else None
    if type_name in ("Affiliation", "BankAccount"):
        return await _affiliation_or_account(info, type_name, ident)
    if type_name == "Segment":
        found = await segments(info.context.services.directory.pool, [ident])
        return Segment.from_row(found[ident]) if ident in found else None
    if type_name == "Note":
        return await resolve_note(info, ident)
    if type_name in TYPE_CATALOGS:
        entry = await info.context.catalog_entries.load(ident)
        if entry is not None and entry.catalog == TYPE_CATALOGS[type_name]:
            return catalog_item(entry)
    return None


async def _affiliation_or_account(info: Info, type_name: str, ident: UUID) -> Node | None:
    reads = directory(info)
    if type_name == "Affiliation":
        found = (await reads.affiliations([ident])).get(ident)
        return Affiliation.from_row(found) if found else None
    account = (await reads.bank_accounts([ident])).get(ident)
    return BankAccount.from_row(account) if account else None


@described({"id": "A global id.", "ids": "Global ids (at most 100)."})
@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any record by its global id; null when there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Records by global id, in the order asked (null where none).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise ClientError("at most 100 ids at once", "LIMIT_EXCEEDED")
        return [await resolve_node(info, i) for i in ids]
