"""The `tags` read model: one row per tag; full names and sub-trees are resolved in
queries, so renaming or re-parenting a tag shows everywhere at once."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.domain.tag import Tag


class TagsTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}tags",)
        self.table = Identifier(schema, self.names[0])
        t = self.table
        self._insert = SQL(
            "INSERT INTO {t} (id, name, color, parent_id, archived, version, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, false, %s, %s, %s)"
        ).format(t=t)
        self._touch = SQL("UPDATE {t} SET version = %s, updated_at = %s WHERE id = %s").format(t=t)
        self._archive = SQL("UPDATE {t} SET archived = %s WHERE id = %s").format(t=t)

    def create_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, name text NOT NULL, "
                "color integer NOT NULL, parent_id uuid, archived boolean NOT NULL, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL)"
            ).format(t=t),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (parent_id)").format(
                Identifier(f"{self.names[0]}_parent"), t=t
            ),
        ]

    def query_index_statements(self) -> list[Composed]:
        return []  # a small table: its indexes are made with it

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Tag.Registered():
                curs.execute(
                    self._insert,
                    (
                        event.originator_id,
                        event.name,
                        event.color,
                        event.parent_id,
                        event.originator_version,
                        event.timestamp,
                        event.timestamp,
                    ),
                    prepare=True,
                )
            case Tag.Updated():
                columns = sorted(event.changes.items())
                curs.execute(
                    SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
                        t=self.table,
                        sets=SQL(", ").join(
                            SQL("{} = %s").format(Identifier(c)) for c, _ in columns
                        ),
                    ),
                    [*(v for _, v in columns), event.originator_id],
                )
                self._touched(curs, event)
            case Tag.Archived() | Tag.Restored():
                archived = isinstance(event, Tag.Archived)
                curs.execute(self._archive, (archived, event.originator_id), prepare=True)
                self._touched(curs, event)

    def _touched(self, curs: Cursor[DictRow], event: Any) -> None:
        curs.execute(
            self._touch,
            (event.originator_version, event.timestamp, event.originator_id),
            prepare=True,
        )
