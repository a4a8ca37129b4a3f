"""Notes: what a team logs about a partner ("called, wants a quote by Friday"), in a
thread on the partner, like Odoo's "Log note".

A note's author is the API key that logged it; only its author or an admin may edit or
delete it. Every edit and the deletion are events: the thread shows the latest body,
history keeps every one. The body is plain text (no markup is interpreted), at most
MAX_BODY characters, without control characters other than tab and line breaks. It is
encrypted with the key of the partner it is about (app/domain/erasure.py): erasing a
person erases the notes about them."""

from __future__ import annotations

import unicodedata
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import Message

MAX_BODY = 10_000
_ALLOWED_CONTROLS = frozenset("\t\n")


def clean_body(body: str) -> str:
    """The body to store: line breaks as `\\n`, outer blank space trimmed; VALIDATION when
    empty, too long or holding other control characters."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DomainError.single(ErrorCode.VALIDATION, "a note needs a body", "body")
    if len(text) > MAX_BODY:
        raise DomainError.single(
            ErrorCode.VALIDATION,
            Message("a note holds at most %(max)s characters", max=f"{MAX_BODY:,}"),
            "body",
        )
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message(
                    "a note is plain text: U+%(code)s (a control character) is refused",
                    code=f"{ord(char):04X}",
                ),
                "body",
            )
    return text


class Note(Aggregate):
    """A note on a partner's thread."""

    class Logged(AuditedCreated):
        partner_id: str
        body: str

    class Edited(AuditedEvent):
        body: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Note)
            aggregate.body = self.body

    class Deleted(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Note)
            aggregate.deleted = True

    def __init__(self, partner_id: str, body: str, actor: str) -> None:
        self.partner_id = partner_id
        self.body = body
        self.author = actor
        self.deleted = False

    @classmethod
    def log(cls, *, note_id: UUID, partner_id: UUID, body: str, audit: Audit) -> Note:
        return cls._create(
            cls.Logged,
            id=note_id,
            partner_id=str(partner_id),
            body=clean_body(body),
            **audit.as_event_fields(),
        )

    def edit(self, body: str, audit: Audit, *, admin: bool) -> bool:
        self._check_may_change(audit, admin)
        text = clean_body(body)
        if text == self.body:
            return False
        self.trigger_event(self.Edited, body=text, **audit.as_event_fields())
        return True

    def delete(self, audit: Audit, *, admin: bool) -> bool:
        self._check_may_change(audit, admin)
        self.trigger_event(self.Deleted, **audit.as_event_fields())
        return True

    def _check_may_change(self, audit: Audit, admin: bool) -> None:
        if self.deleted:
            raise DomainError.single(ErrorCode.NOT_FOUND, "this note was deleted", "id")
        if audit.actor != self.author and not admin:
            raise DomainError.single(
                ErrorCode.FORBIDDEN, "only the note's author or an admin may change it", "id"
            )
