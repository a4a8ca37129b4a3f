"""What every read-model table of the registry projection provides."""

from __future__ import annotations

from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import Composed


class Table(Protocol):
    """A read-model table: its DDL, and how an event changes it (inside the batch's
    transaction; events it does not know are ignored)."""

    names: tuple[str, ...]

    def create_statements(self) -> list[Composed]: ...

    def query_index_statements(self) -> list[Composed]:
        """Indexes only queries use: a rebuild makes them once its tables are filled
        (building an index at once is much cheaper than keeping it up row by row)."""
        ...

    def apply(
        self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int
    ) -> None: ...
