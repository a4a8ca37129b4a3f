"""Webhook endpoints and their delivery attempts as the API shows them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.schema.descriptions import PAYLOAD, RECORD, described
from app.schema.errors import UserError
from app.schema.ids import to_global_id
from app.schema.relationship.enums import TimelineKind
from app.schema.relay import Node
from app.webhooks.store import AttemptRow, EndpointRow

_ENDPOINT = {
    "url": "Where events are POSTed (https; http and private addresses only where the "
    "server allows them).",
    "description": "What it is for.",
    "enabled": "Whether events are delivered; false after an admin disabled it or after "
    "the last retry of an event failed.",
    "disabled_reason": "Why it is disabled (null when enabled).",
    "event_kinds": "The kinds delivered (null: every kind).",
    "secret": "The signing secret (`whsec_…`): shown once, in the answer of "
    "createWebhookEndpoint or rotateWebhookSecret; null everywhere else.",
    "created_at": "When it was created.",
    "updated_at": "When it last changed.",
}


@described(_ENDPOINT, RECORD)
@strawberry.type(description="Where the events of the log are delivered (Standard Webhooks).")
class WebhookEndpoint(Node):
    row: strawberry.Private[EndpointRow]
    url: str
    description: str | None
    enabled: bool
    disabled_reason: str | None
    event_kinds: list[TimelineKind] | None
    secret: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: EndpointRow, secret: str | None = None) -> WebhookEndpoint:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("WebhookEndpoint", row.id)),
            url=row.url,
            description=row.description,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            event_kinds=[TimelineKind(k) for k in row.event_kinds]
            if row.event_kinds is not None
            else None,
            secret=secret,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The PartnerFilter events' partners must match, as JSON.")
    def filter(self) -> JSON | None:
        return JSON(self.row.filter) if self.row.filter is not None else None


@strawberry.type(description="One attempt to deliver an event to a webhook endpoint.")
class WebhookDelivery:
    event_id: str = strawberry.field(description="The `webhook-id` sent (the same on retries).")
    position: int = strawberry.field(description="The event's position in the log.")
    kind: TimelineKind = strawberry.field(description="The event's kind.")
    attempt: int = strawberry.field(description="1 for the first attempt of this event, …")
    status_code: int | None = strawberry.field(description="The HTTP status (null: none came).")
    duration_ms: float = strawberry.field(description="How long the attempt took.")
    error: str | None = strawberry.field(description="Why it failed (null: delivered).")
    next_attempt_at: datetime | None = strawberry.field(
        description="When the event is tried again (null: delivered, or no more retries)."
    )
    attempted_at: datetime = strawberry.field(description="When the attempt was made.")

    @classmethod
    def from_row(cls, row: AttemptRow) -> WebhookDelivery:
        return cls(
            event_id=row.webhook_id,
            position=row.position,
            kind=TimelineKind(row.kind),
            attempt=row.attempt,
            status_code=row.status,
            duration_ms=row.duration_ms,
            error=row.error,
            next_attempt_at=row.next_attempt_at,
            attempted_at=row.attempted_at,
        )


@described(PAYLOAD)
@strawberry.type(description="The outcome of a webhook endpoint mutation.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(
        description="The endpoint after the change; null when refused or deleted."
    )
    user_errors: list[UserError]
