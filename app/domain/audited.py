"""Audit metadata carried by every event: who, under which request, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Audit:
    """Who asked for a change, under which request, and why."""

    actor: str
    request_id: str
    reason: str | None = None

    def as_event_fields(self) -> dict[str, Any]:
        return {"actor": self.actor, "request_id": self.request_id, "reason": self.reason}
