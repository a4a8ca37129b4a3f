"""Commands on notes: log one on a partner's thread, edit or delete it (its author or an
admin)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandBase, CommandResult
from app.domain.audited import Audit
from app.domain.errors import validation
from app.domain.note import Note
from app.domain.partner import Partner


class NoteCommands(CommandBase):
    """Notes on partners."""

    def log_note(
        self, partner_id: UUID, body: str, audit: Audit, idempotency_key: str | None = None
    ) -> CommandResult:
        def log(note_id: UUID) -> list[Aggregate]:
            partner = self._get(partner_id, Partner, "partnerId")
            if partner.anonymized:
                # Its key is gone: a note about it could not be erased with the rest.
                raise validation("the partner was anonymized: no notes about it", "partnerId")
            return [Note.log(note_id=note_id, partner_id=partner_id, body=body, audit=audit)]

        request = {"partner_id": str(partner_id), "body": body}
        return self._create("note", Note, idempotency_key, request, log)

    def edit_note(
        self,
        note_id: UUID,
        body: str,
        audit: Audit,
        *,
        admin: bool,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Note, note_id, expected_version, lambda n: n.edit(body, audit, admin=admin)
        )

    def delete_note(
        self, note_id: UUID, audit: Audit, *, admin: bool, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Note, note_id, expected_version, lambda n: n.delete(audit, admin=admin))
