"""The `webhook_endpoints` read model: each endpoint's address, what it wants, whether it
is enabled (and why not), the position it was created at and its latest replay request
(deleted endpoints removed). The delivery worker reads it; it never holds a secret."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from app.domain.webhook import WebhookEndpoint


class WebhookEndpointsTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}webhook_endpoints",)
        self.table = Identifier(schema, self.names[0])

    def create_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, url text NOT NULL, "
                "description text, event_kinds text[], filter jsonb, "
                "enabled boolean NOT NULL DEFAULT true, disabled_reason text, "
                "created_position bigint NOT NULL, replay_after bigint, "
                "replay_position bigint NOT NULL DEFAULT 0, "
                "secret_rotated_at timestamptz, grace_seconds integer NOT NULL DEFAULT 0, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL)"
            ).format(t=self.table)
        ]

    def query_index_statements(self) -> list[Composed]:
        return []  # a small table

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        if not isinstance(event, WebhookEndpoint.Event):
            return
        if isinstance(event, WebhookEndpoint.Created):
            v = event.values
            curs.execute(
                SQL(
                    "INSERT INTO {t} (id, url, description, event_kinds, filter, "
                    "created_position, version, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(t=self.table),
                (
                    event.originator_id,
                    v["url"],
                    v.get("description"),
                    v.get("event_kinds"),
                    Jsonb(v["filter"]) if v.get("filter") is not None else None,
                    position,
                    event.originator_version,
                    event.timestamp,
                    event.timestamp,
                ),
            )
            return
        if isinstance(event, WebhookEndpoint.Deleted):
            curs.execute(
                SQL("DELETE FROM {t} WHERE id = %s").format(t=self.table), (event.originator_id,)
            )
            return
        values = _changed_columns(event, position)
        values |= {"version": event.originator_version, "updated_at": event.timestamp}
        curs.execute(
            SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
                t=self.table,
                sets=SQL(", ").join(SQL("{} = %s").format(Identifier(k)) for k in values),
            ),
            [*values.values(), event.originator_id],
        )


def _changed_columns(event: Any, position: int) -> dict[str, Any]:
    match event:
        case WebhookEndpoint.Updated():
            return {
                k: (Jsonb(v) if k == "filter" and v is not None else v)
                for k, v in event.changes.items()
            }
        case WebhookEndpoint.Resealed():
            v = event.values
            filter_ = v.get("filter")
            return {
                "description": v.get("description"),
                "filter": Jsonb(filter_) if filter_ is not None else None,
                "disabled_reason": event.why,
            }
        case WebhookEndpoint.Disabled():
            return {"enabled": False, "disabled_reason": event.why}
        case WebhookEndpoint.Enabled():
            return {"enabled": True, "disabled_reason": None}
        case WebhookEndpoint.SecretRotated():
            return {"secret_rotated_at": event.timestamp, "grace_seconds": event.grace_seconds}
        case WebhookEndpoint.ReplayRequested():
            return {"replay_after": event.after_position, "replay_position": position}
    return {}
