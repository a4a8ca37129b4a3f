"""The `notes` read model: each partner's thread of notes, newest first. A deleted note
keeps its row (the timeline finds its partner there) without its body; erasing a person
empties the bodies of the notes about them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.domain.note import Note
from app.domain.partner import Partner


class NotesTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}notes",)
        self.table = t = Identifier(schema, self.names[0])
        self._insert = SQL(
            "INSERT INTO {t} (id, partner_id, body, author, deleted, version, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, false, %s, %s, %s)"
        ).format(t=t)
        self._edit = SQL(
            "UPDATE {t} SET body = %s, version = %s, updated_at = %s WHERE id = %s"
        ).format(t=t)
        self._delete = SQL(
            "UPDATE {t} SET body = NULL, deleted = true, version = %s, updated_at = %s "
            "WHERE id = %s"
        ).format(t=t)
        self._erase = SQL("UPDATE {t} SET body = NULL WHERE partner_id = %s").format(t=t)

    def create_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "body text, author text NOT NULL, deleted boolean NOT NULL, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL)"
            ).format(t=self.table)
        ]

    def query_index_statements(self) -> list[Composed]:
        return [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, created_at DESC, id)").format(
                Identifier(f"{self.names[0]}_partner"), t=self.table
            )
        ]

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None:
        """The bodies of the notes about an erased person go."""
        curs.execute(self._erase, (partner_id,))

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Note.Logged():
                row = (event.originator_id, event.partner_id, event.body, event.actor)
                times = (event.originator_version, event.timestamp, event.timestamp)
                curs.execute(self._insert, (*row, *times))
            case Note.Edited():
                edited = (event.body, event.originator_version, event.timestamp)
                curs.execute(self._edit, (*edited, event.originator_id))
            case Note.Deleted():
                deleted = (event.originator_version, event.timestamp, event.originator_id)
                curs.execute(self._delete, deleted)
            case Partner.Anonymized():
                self.erase(curs, event.originator_id)
