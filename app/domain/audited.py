"""Audit metadata carried by every event: who, under which request, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate

from app.domain.errors import validation
from app.domain.messages import Message

MAX_REASON_CHARS = 500
"""Characters of a command's `reason` (stored in its events, which nothing rewrites)."""
MAX_IDEMPOTENCY_KEY_CHARS = 255
"""Characters of an `idempotencyKey` (as Stripe's: a UUID, or a client's own composite)."""


def check_reason(reason: str | None) -> None:
    """A VALIDATION error for a reason past MAX_REASON_CHARS (900 KB were stored)."""
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise validation(
            Message("reason is longer than %(limit)s characters", limit=MAX_REASON_CHARS),
            "reason",
        )


def check_idempotency_key(key: str | None) -> None:
    """A VALIDATION error for a key past MAX_IDEMPOTENCY_KEY_CHARS."""
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise validation(
            Message(
                "idempotencyKey is longer than %(limit)s characters",
                limit=MAX_IDEMPOTENCY_KEY_CHARS,
            ),
            "idempotencyKey",
        )


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
