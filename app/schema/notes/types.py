"""The `Note` type and what its mutations take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from app.queries.note_queries import NoteDirectory, NoteRow
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, RECORD, described
from app.schema.errors import UserError
from app.schema.ids import to_global_id
from app.schema.relationship.types import load_partner
from app.schema.relay import Node

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]

_BODY = (
    "Plain text (no markup is interpreted), 1 to 10,000 characters; tabs and line breaks "
    "are the only control characters allowed."
)


@described(RECORD)
@strawberry.type(description="A note logged on a partner's thread.")
class Note(Node):
    row: strawberry.Private[NoteRow]
    body: str | None = strawberry.field(
        description="The latest text; null once the person it is about was erased."
    )
    author: str = strawberry.field(description="The name of the API key that logged it.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: NoteRow) -> Note:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Note", row.id)),
            body=row.body,
            author=row.author,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The partner it is about.")
    async def partner(self, info: Info) -> PartnerRef | None:
        return await load_partner(info, self.row.partner_id)


@described(COMMAND)
@strawberry.input(description="A note to log on a partner's thread.")
class LogNoteInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner it is about.")
    body: str = strawberry.field(description=_BODY)
    idempotency_key: str | None = None
    reason: str | None = None


@described(COMMAND)
@strawberry.input(description="A note's new text (its author or an admin).")
class EditNoteInput:
    id: strawberry.ID
    body: str = strawberry.field(description=_BODY)
    expected_version: int | None = None
    reason: str | None = None


@described(COMMAND)
@strawberry.input(description="The note to delete (its author or an admin).")
class DeleteNoteInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="The outcome of logNote or editNote.")
class NotePayload:
    note: Note | None = strawberry.field(
        description="The note after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of deleteNote.")
class DeleteNotePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The id of the note deleted; null when refused."
    )
    user_errors: list[UserError]


async def resolve_note(info: Info, note_id: UUID) -> Note | None:
    """`node(id)` of a note (None when deleted or unknown)."""
    found = await NoteDirectory(info.context.services.directory.pool).notes([note_id])
    row = found.get(note_id)
    return Note.from_row(row) if row else None
