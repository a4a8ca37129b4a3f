"""What every read-model table of the registry projection provides."""

from __future__ import annotations

from collections.abc import Sequence
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


COPY_FROM = 16
"""Rows from which COPY beats pipelined INSERTs: COPY costs a round trip of its own
(~0.2 ms) and then ~5 µs a row, an INSERT in the batch's pipeline ~20 µs a row."""


def add_rows(
    curs: Cursor[DictRow],
    rows: Sequence[Sequence[Any]],
    *,
    by_copy: bool,
    copy: str | Composed,
    insert: str | Composed,
) -> None:
    """New rows, by `copy` (COPY … FROM STDIN: never inside a pipeline) or by `insert`
    (an INSERT with one placeholder a column, pipelined when the caller is)."""
    if not rows:
        return
    if by_copy:
        with curs.copy(copy) as writer:
            for row in rows:
                writer.write_row(row)
    else:
        curs.executemany(insert, rows)
