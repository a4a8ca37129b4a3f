"""The `activities` read model: one row per activity; its OVERDUE/TODAY/PLANNED state is
computed when asked, against the clock in the assignee's time zone."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.domain.activity import Activity
from app.domain.partner import Partner
from app.projections.erasing import carried


class ActivitiesTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}activities",)
        self.table = Identifier(schema, self.names[0])
        t = self.table
        self._insert = SQL(
            "INSERT INTO {t} (id, partner_id, activity_type, summary, note, due_date, "
            "assignee_id, status, version, created_at, updated_at, company_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 'OPEN', %s, %s, %s, %s)"
        ).format(t=t)
        # A merge moves the partner's side, the named company's, or both (Activity.Moved).
        self._move = SQL(
            "UPDATE {t} SET company_id = CASE WHEN company_id = %(from)s::uuid THEN %(to)s::uuid "
            "ELSE company_id END, partner_id = CASE WHEN partner_id = %(from)s::uuid "
            "OR company_id IS DISTINCT FROM %(from)s::uuid THEN %(to)s::uuid ELSE partner_id END "
            "WHERE id = %(id)s"
        ).format(t=t)
        self._touch = SQL("UPDATE {t} SET version = %s, updated_at = %s WHERE id = %s").format(t=t)
        # Erasure: what was written about the person goes (as a rebuild reads it: null).
        self._erase = SQL(
            "UPDATE {t} SET summary = NULL, note = NULL, feedback = NULL WHERE partner_id = %s"
        ).format(t=t)

    def create_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "activity_type text NOT NULL, summary text, note text, due_date date NOT NULL, "
                "assignee_id uuid, status text NOT NULL, feedback text, done_at timestamptz, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL, company_id uuid)"
            ).format(t=t),
            # Tables made before activities could name a company (issue 21) gain it.
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS company_id uuid").format(t=t),
        ]

    def query_index_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, due_date)").format(
                Identifier(f"{self.names[0]}_partner"), t=t
            ),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (assignee_id, due_date)").format(
                Identifier(f"{self.names[0]}_assignee"), t=t
            ),
            SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {t} (company_id, due_date) "
                "WHERE company_id IS NOT NULL"
            ).format(Identifier(f"{self.names[0]}_company"), t=t),
        ]

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None:
        """The texts of an erased person's activities go."""
        curs.execute(self._erase, (partner_id,), prepare=True)

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Partner.Anonymized():
                self.erase(curs, event.originator_id)
                return
            case Activity.Scheduled():
                curs.execute(
                    self._insert,
                    (
                        event.originator_id,
                        event.partner_id,
                        event.activity_type,
                        event.summary,
                        event.note,
                        event.due_date,
                        event.assignee_id,
                        event.originator_version,
                        event.timestamp,
                        event.timestamp,
                        event.company_id,
                    ),
                    prepare=True,
                )
                return
            case Activity.Edited():
                self._set(curs, event, dict(event.changes))
            case Activity.Rescheduled():
                self._set(curs, event, {"due_date": event.due_date})
            case Activity.Reassigned():
                self._set(curs, event, {"assignee_id": event.assignee_id})
            case Activity.Completed():
                self._set(
                    curs,
                    event,
                    {"status": "DONE", "feedback": event.feedback, "done_at": event.timestamp},
                )
            case Activity.Cancelled():
                self._set(curs, event, {"status": "CANCELLED", "done_at": event.timestamp})
            case Activity.Moved():
                moved = {"from": event.previous_partner_id, "to": event.partner_id}
                curs.execute(self._move, {**moved, "id": event.originator_id}, prepare=True)
                if texts := carried(event, ("summary", "note", "feedback")):
                    self._set(curs, event, texts)
            case _:
                return
        curs.execute(
            self._touch,
            (event.originator_version, event.timestamp, event.originator_id),
            prepare=True,
        )

    def _set(self, curs: Cursor[DictRow], event: Any, values: dict[str, Any]) -> None:
        columns = sorted(values.items())
        curs.execute(
            SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
                t=self.table,
                sets=SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c, _ in columns),
            ),
            [*(v for _, v in columns), event.originator_id],
        )
