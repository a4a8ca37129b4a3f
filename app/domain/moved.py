"""The event of a record (activity, document, opportunity) that a merge, or its undoing,
moved to another partner: one shape, declared once. Each aggregate keeps its own
`Moved` class (its own topic), a subclass of this one.

A moved record's text written before the move was sealed with the key of the partner it
belonged to. The move carries the record's text as it is (`carried`, sealed with the key
of the partner it belongs to now), so that erasing the partner it came from later does
not take the text of what is now another partner's record: a rebuild of the read models
gives what the live rows kept."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from app.domain.audited import AuditedEvent
from app.domain.erasure import AUDIT_TEXT_FIELDS, RELATED_TEXT_FIELDS


class MovedToPartner(AuditedEvent):
    """Now belongs to another partner: a merge (or its undoing) moved it."""

    partner_id: str
    previous_partner_id: str
    merge_id: str
    carried: dict[str, Any] | None = None
    """The record's text when it moved (None in events recorded before it was carried)."""

    def apply(self, aggregate: Aggregate) -> None:
        aggregate.partner_id = self.partner_id  # type: ignore[attr-defined]
        take_carried(aggregate, self.carried)


def carried_text(aggregate: Aggregate) -> dict[str, Any]:
    """The record's text fields that hold a value (an attribute, or an entry of its
    `values`), as a move carries them."""
    fields = RELATED_TEXT_FIELDS.get(type(aggregate).__name__, frozenset()) - AUDIT_TEXT_FIELDS
    values = getattr(aggregate, "values", None)
    found: dict[str, Any] = {}
    for name in sorted(fields):
        if isinstance(values, dict) and name in values:
            found[name] = values[name]
        elif name in vars(aggregate):
            found[name] = vars(aggregate)[name]
    return {name: value for name, value in found.items() if value is not None}


def take_carried(aggregate: Aggregate, carried: dict[str, Any] | None) -> None:
    """Sets the text a move carried. A move carries only values, so a None read back is
    an erased one (the partner it moved to was erased): the text goes, whatever earlier
    events (sealed with another key) gave."""
    values = getattr(aggregate, "values", None)
    for name, value in (carried or {}).items():
        if isinstance(values, dict) and name in values:
            values[name] = value
        else:
            setattr(aggregate, name, value)
