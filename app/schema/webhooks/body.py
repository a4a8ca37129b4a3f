"""The body of a webhook: the `timeline` subscription's event as a client gets it
(`data.timeline`, the same field names), plus the event's position and id. Built from the
read model at send time."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.queries.timeline_queries import TimelineRow
from app.schema.ids import to_global_id
from app.schema.live.cursors import encode_cursor


def webhook_body(row: TimelineRow) -> dict[str, Any]:
    entry_id = to_global_id("TimelineEntry", UUID(int=row.position))
    occurred = row.occurred_at.isoformat()
    entry = {
        "id": entry_id,
        "cursor": encode_cursor(row.position),
        "occurredAt": occurred,
        "kind": row.kind,
        "actor": row.actor,
        "requestId": row.request_id,
        "reason": row.reason,
        "summary": row.summary,
        "changes": row.changes,
        "partner": {"id": to_global_id("Partner", row.partner_id)},
        "subject": {
            "__typename": row.subject_type,
            "id": to_global_id(row.subject_type, row.subject_id),
        },
    }
    return {
        "type": row.kind,
        "timestamp": occurred,
        "position": row.position,
        "eventId": entry_id,
        "data": {"timeline": entry},
    }
