"""What the timeline says about notes (kind NOTE): registered with the other describers
of app/projections/timeline_entries.py. The summary never quotes the body (it is the
person's data, erased from `changes` with the rest)."""

from __future__ import annotations

from typing import Any

from app.domain.note import Note
from app.projections.timeline_entries import Entry, describes


@describes(Note.Logged)
def _logged(event: Any) -> Entry:
    return Entry("NOTE", "Note", "Note logged", {"body": event.body}, event.partner_id)


@describes(Note.Edited)
def _edited(event: Any) -> Entry:
    return Entry("NOTE", "Note", "Note edited", {"body": event.body}, None)


@describes(Note.Deleted)
def _deleted(event: Any) -> Entry:
    return Entry("NOTE", "Note", "Note deleted", {}, None)
