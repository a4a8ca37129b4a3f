"""What every read-model table of the registry projection provides, and what the views
that keep tables with their tracking record share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier

from app.infra import schema_marks


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


class ReadModelView(PostgresTrackingRecorder):
    """Read-model tables kept with their tracking table: `query_index_statements` are
    the indexes only queries use, which a rebuild makes once its tables are filled."""

    query_index_statements: list[Composed]

    @property
    def table_names(self) -> list[str]:
        raise NotImplementedError

    def create_table(self, *, query_indexes: bool = True) -> None:
        """The tables, and unless told otherwise the indexes only queries use; nothing
        when they are as these statements make them (app/infra/schema_marks.py)."""
        statements = [*self.sql_create_statements]
        if query_indexes:
            statements += self.query_index_statements

        def create() -> None:
            super(ReadModelView, self).create_table()
            if query_indexes:
                self.create_query_indexes()

        names = [*self.table_names, self.tracking_table_name]
        schema_marks.create_once(
            self.datastore, self.tracking_table_name, statements, names, create
        )

    def create_query_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.query_index_statements:
                curs.execute(statement, prepare=False)

    def drop_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for name in [*self.table_names, self.tracking_table_name]:
                curs.execute(
                    SQL("DROP TABLE IF EXISTS {}").format(Identifier(self.datastore.schema, name))
                )


TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
"""What a statement-level trigger of each event sees of the rows it changed."""


def statement_triggers(
    name: str, table: Composable, function: Callable[[str], Composable]
) -> list[Composed]:
    """A statement-level trigger `{name}_{event}` on `table` for each event of
    TRANSITION_TABLES, running `function(event)` with the rows changed (`new_rows`,
    `old_rows`): what keeps the partner cube and the document totals in the same
    transaction as the rows."""
    return [
        SQL(
            "CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {t} REFERENCING {ref} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {f}()"
        ).format(
            name=Identifier(f"{name}_{event.lower()}"),
            event=SQL(event),
            t=table,
            ref=SQL(ref),
            f=function(event),
        )
        for event, ref in TRANSITION_TABLES.items()
    ]
