"""The event of a record (activity, document, opportunity) that a merge, or its undoing,
moved to another partner: one shape, declared once. Each aggregate keeps its own
`Moved` class (its own topic), a subclass of this one."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from app.domain.audited import AuditedEvent


class MovedToPartner(AuditedEvent):
    """Now belongs to another partner: a merge (or its undoing) moved it."""

    partner_id: str
    previous_partner_id: str
    merge_id: str

    def apply(self, aggregate: Aggregate) -> None:
        aggregate.partner_id = self.partner_id  # type: ignore[attr-defined]
