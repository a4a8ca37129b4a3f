"""The `segments` read model: saved filters by name (deleted ones removed)."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from app.domain.erasure import ERASED_TEXT
from app.domain.segment import Segment

COLUMNS = frozenset({"name", "description", "filter", "search"})


class SegmentsTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}segments",)
        self.table = Identifier(schema, self.names[0])

    def create_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, name text NOT NULL, "
                "description text, filter jsonb, search text, version integer NOT NULL, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)"
            ).format(t=self.table)
        ]

    def query_index_statements(self) -> list[Composed]:
        return []  # a small table: its indexes are made with it

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        t = self.table
        match event:
            case Segment.Created():
                v = event.values
                curs.execute(
                    SQL(
                        "INSERT INTO {t} (id, name, description, filter, search, version, "
                        "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    ).format(t=t),
                    (
                        event.originator_id,
                        # Null once the key of its text was erased (a later Resealed names it).
                        v.get("name") or ERASED_TEXT,
                        v.get("description"),
                        Jsonb(v["filter"]) if v.get("filter") is not None else None,
                        v.get("search"),
                        event.originator_version,
                        event.timestamp,
                        event.timestamp,
                    ),
                )
            case Segment.Updated() | Segment.Resealed():
                changes = event.changes if isinstance(event, Segment.Updated) else event.values
                values = {
                    k: (Jsonb(v) if k == "filter" and v is not None else v)
                    for k, v in changes.items()
                    if k in COLUMNS
                }
                if "name" in values:
                    values["name"] = values["name"] or ERASED_TEXT
                values |= {"version": event.originator_version, "updated_at": event.timestamp}
                curs.execute(
                    SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
                        t=t,
                        sets=SQL(", ").join(SQL("{} = %s").format(Identifier(k)) for k in values),
                    ),
                    [*values.values(), event.originator_id],
                )
            case Segment.Deleted():
                curs.execute(
                    SQL("DELETE FROM {t} WHERE id = %s").format(t=t), (event.originator_id,)
                )
