"""The `catalog_entries` read model: every catalog in one table, its own fields as JSON."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from app.domain.catalog import CatalogEntry


class CatalogTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}catalog_entries",)
        self.table = Identifier(schema, self.names[0])
        t = self.table
        self._insert = SQL(
            "INSERT INTO {t} (id, catalog, name, data, archived, version, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, false, %s, %s, %s)"
        ).format(t=t)
        self._update = SQL(
            "UPDATE {t} SET data = data || %s, name = COALESCE((data || %s)->>'name', "
            "(data || %s)->>'code'), version = %s, updated_at = %s WHERE id = %s"
        ).format(t=t)
        self._archive = SQL(
            "UPDATE {t} SET archived = %s, version = %s, updated_at = %s WHERE id = %s"
        ).format(t=t)

    def create_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, catalog text NOT NULL, "
                "name text NOT NULL, data jsonb NOT NULL, archived boolean NOT NULL, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL)"
            ).format(t=t),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (catalog, lower(name), id)").format(
                Identifier(f"{self.names[0]}_catalog_name"), t=t
            ),
        ]

    def query_index_statements(self) -> list[Composed]:
        return []  # a small table: its indexes are made with it

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case CatalogEntry.Registered():
                name = event.values.get("name") or event.values.get("code") or ""
                curs.execute(
                    self._insert,
                    (
                        event.originator_id,
                        event.catalog,
                        name,
                        Jsonb(event.values),
                        event.originator_version,
                        event.timestamp,
                        event.timestamp,
                    ),
                    prepare=True,
                )
            case CatalogEntry.Updated():
                changes = Jsonb(event.changes)
                curs.execute(
                    self._update,
                    (
                        changes,
                        changes,
                        changes,
                        event.originator_version,
                        event.timestamp,
                        event.originator_id,
                    ),
                    prepare=True,
                )
            case CatalogEntry.Archived() | CatalogEntry.Restored():
                curs.execute(
                    self._archive,
                    (
                        isinstance(event, CatalogEntry.Archived),
                        event.originator_version,
                        event.timestamp,
                        event.originator_id,
                    ),
                    prepare=True,
                )
