"""Each projection's position against the log's last event (its lag), and the event it
is stuck on if any: what `partnerbook projections status` prints."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.sql import SQL, Identifier

from app.infra.database import Database
from app.projections import stuck


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    max_notification_id: int
    stuck: stuck.StuckAt | None = None
    """The event it cannot apply, when its projector says so."""

    @property
    def lag(self) -> int:
        return max(0, self.max_notification_id - self.position)


def status(db: Database, app_name: str = "Partnerbook") -> list[Status]:
    """Each projection's position, against the log's last notification id, and the
    event it is stuck on if any."""
    tracking = {"registry": "registry_tracking", "audit": "audit_tracking"}
    result = []
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        try:
            row = conn.execute("SELECT max(notification_id) FROM partnerbook_events").fetchone()
            last = int(row[0]) if row and row[0] is not None else 0
        except psycopg.errors.UndefinedTable:
            last = 0
        stuck_at = {s.name: s for s in stuck.read(conn)}
        for name, table in tracking.items():
            try:
                row = conn.execute(
                    SQL("SELECT max(notification_id) FROM {} WHERE application_name = %s").format(
                        Identifier(table)
                    ),
                    (app_name,),
                ).fetchone()
                position = int(row[0]) if row and row[0] is not None else 0
            except psycopg.errors.UndefinedTable:
                position = 0
            result.append(Status(name, position, last, stuck_at.get(name)))
    return result
