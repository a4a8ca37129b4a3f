"""The notes' query and mutations: thin, the rules are in app/domain/note.py."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.queries.note_queries import NoteDirectory
from app.schema.commands import CommandBuilder, execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, described
from app.schema.errors import ClientError
from app.schema.ids import BadId, expect_id, record_id
from app.schema.notes.types import (
    DeleteNoteInput,
    DeleteNotePayload,
    EditNoteInput,
    LogNoteInput,
    Note,
    NotePayload,
)
from app.schema.partners.inputs import partner_id
from app.schema.relay import Connection, check_page_args, page_connection, read_page


def _directory(info: Info) -> NoteDirectory:
    return NoteDirectory(info.context.services.directory.pool)


def _is_admin(info: Info) -> bool:
    principal = info.context.principal
    return principal is not None and principal.role == "admin"


def _note_id(global_id: str) -> UUID:
    return record_id(global_id, "Note", "id")


async def _respond(info: Info, build: CommandBuilder, reason: str | None) -> NotePayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return NotePayload(note=None, user_errors=outcome)
    row = (await _directory(info).notes([outcome.id])).get(outcome.id)
    return NotePayload(note=Note.from_row(row) if row else None, user_errors=[])


def _edit(info: Info, input: EditNoteInput) -> CommandBuilder:
    app, admin = info.context.services.app, _is_admin(info)

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident = _note_id(input.id)
        return lambda: app.edit_note(
            ident, input.body, audit, admin=admin, expected_version=input.expected_version
        )

    return build


def _delete(info: Info, input: DeleteNoteInput) -> CommandBuilder:
    app, admin = info.context.services.app, _is_admin(info)

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident = _note_id(input.id)
        return lambda: app.delete_note(
            ident, audit, admin=admin, expected_version=input.expected_version
        )

    return build


@described(COMMAND)
@strawberry.type
class NoteMutations:
    @strawberry.mutation(description="Logs a note on a partner's thread; its author is your key.")
    async def log_note(self, info: Info, input: LogNoteInput) -> NotePayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = partner_id(input.partner_id, "partnerId")
            return lambda: app.log_note(ident, input.body, audit, input.idempotency_key)

        return await _respond(info, build, input.reason)

    @strawberry.mutation(
        description="Replaces a note's text (its author or an admin); history keeps the old text."
    )
    async def edit_note(self, info: Info, input: EditNoteInput) -> NotePayload:
        return await _respond(info, _edit(info, input), input.reason)

    @strawberry.mutation(description="Deletes a note (its author or an admin); history keeps it.")
    async def delete_note(self, info: Info, input: DeleteNoteInput) -> DeleteNotePayload:
        outcome = await execute(info, _delete(info, input), input.reason)
        if isinstance(outcome, list):
            return DeleteNotePayload(deleted_id=None, user_errors=outcome)
        return DeleteNotePayload(deleted_id=strawberry.ID(input.id), user_errors=[])


@described(PAGING, {"partner_id": "The partner whose thread to read."})
@strawberry.type
class NoteQueries:
    @strawberry.field(description="A partner's notes, newest first (deleted ones left out).")
    async def notes(
        self,
        info: Info,
        partner_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Note]:
        check_page_args(first, after, None, None)
        directory = _directory(info)
        try:
            ident = expect_id(partner_id, "Partner")
        except BadId as error:
            raise ClientError(str(error), "BAD_REQUEST") from None
        page = await read_page(directory.thread(ident, first, after))
        return page_connection(page, Note.from_row, directory.count)
