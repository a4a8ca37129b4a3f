"""Audit metadata carried by every event: who, under which request, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Audit:
    """Who asked for a change, under which request, and why."""

    actor: str
    request_id: str
    reason: str | None = None

    def as_event_fields(self) -> dict[str, Any]:
        return {"actor": self.actor, "request_id": self.request_id, "reason": self.reason}


class AuditedEvent(Aggregate.Event):
    """An event of an aggregate, with its audit fields (stored as they always were:
    `actor`, `request_id`, `reason` beside the event's own attributes)."""

    actor: str
    request_id: str
    reason: str | None

    @property
    def audit(self) -> Audit:
        return Audit(self.actor, self.request_id, self.reason)


class AuditedCreated(Aggregate.Created, AuditedEvent):
    """The event that creates an aggregate, with its audit fields."""
