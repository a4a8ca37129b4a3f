"""A group of tables' DDL runs when it changes, not at every start.

A process runs the `CREATE … IF NOT EXISTS` and `ALTER TABLE … ADD COLUMN IF NOT EXISTS`
statements of its tables when it starts. PostgreSQL takes the table's lock before it
finds that there is nothing to do: ACCESS EXCLUSIVE for `ALTER TABLE`, SHARE for `CREATE
INDEX`, SHARE ROW EXCLUSIVE for `CREATE TRIGGER`. A process starting on a registry in use
(a new worker, the heavy lane's process, a restart) waited for every reader and writer,
and made them wait behind it; holding partners while it waited for activities, it
deadlocked with a request that read both, and PostgreSQL aborted the request
(tests/security/test_lock_conflicts.py).

Each group of statements (the event store's, a view's) leaves a mark: a digest of their
text. A start whose statements match the mark, and whose tables are all there, runs none
of them. Other statements (a new version of the code) run once, in their transaction, and
again if PostgreSQL's deadlock detector picks that transaction."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Composable, Identifier

from app.infra import database

log = logging.getLogger("partnerbook.schema")

MARKS = "partnerbook_schema_marks"
ATTEMPTS = 5
"""Runs of a group's DDL before a deadlock is raised (each one a rollback, and a wait)."""

_CREATE = (
    "CREATE TABLE IF NOT EXISTS {t} (name text PRIMARY KEY, digest text NOT NULL, "
    "marked_at timestamptz NOT NULL DEFAULT now())"
)
_READ = (
    "SELECT digest FROM {t} WHERE name = %s AND (SELECT bool_and(to_regclass(format("
    "'%%I.%%I', %s::text, n)) IS NOT NULL) FROM unnest(%s::text[]) AS n)"
)
_WRITE = (
    "INSERT INTO {t} (name, digest) VALUES (%s, %s) "
    "ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, marked_at = now()"
)


def digest(statements: Sequence[str | Composable]) -> str:
    """The statements' text, as a digest (a Composed as psycopg writes it)."""
    text = "\x00".join(s if isinstance(s, str) else s.as_string() for s in statements)
    return hashlib.sha256(text.encode()).hexdigest()


def create_once(
    datastore: PostgresDatastore,
    name: str,
    statements: Sequence[str | Composable],
    tables: Sequence[str],
    create: Callable[[], None],
) -> bool:
    """Runs `create` (which runs `statements`) unless the mark `name` holds their digest
    and every one of `tables` exists; then marks them. Whether it ran."""
    mark = digest(statements)
    with datastore.transaction(commit=True) as curs:
        if _marked(curs, datastore.schema, name, mark, tables):
            return False
    for attempt in range(1, ATTEMPTS + 1):
        try:
            create()
            break
        except Exception as error:
            if attempt == ATTEMPTS or not database.raised_from(
                error, psycopg.errors.DeadlockDetected
            ):
                raise
            log.warning("creating the tables of %s: deadlock, run again (%d)", name, attempt)
            time.sleep(0.05 * attempt)
    with datastore.transaction(commit=True) as curs:
        _mark(curs, datastore.schema, name, mark)
    return True


def ensure(conninfo: str, name: str, statements: Sequence[str], tables: Sequence[str]) -> None:
    """Runs `statements` in one transaction (one process at a time) unless the mark `name`
    holds their digest and every one of `tables` exists; then marks them."""
    mark = digest(statements)
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        curs = conn.cursor()
        schema = str(curs.execute("SELECT current_schema() AS s").fetchone()["s"])  # type: ignore[index]
        if _marked(curs, schema, name, mark, tables):
            return
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"partnerbook:{name}",))
        for statement in statements:
            curs.execute(statement)
        _mark(curs, schema, name, mark)


def _marked(
    curs: psycopg.Cursor[DictRow], schema: str, name: str, mark: str, tables: Sequence[str]
) -> bool:
    marks = Identifier(schema, MARKS)
    # Processes starting together would race on CREATE TABLE IF NOT EXISTS (a unique
    # violation in pg_type): one creates, the others wait (a table already there takes no
    # lock).
    curs.execute("SELECT pg_advisory_xact_lock(hashtext('partnerbook:schema_marks'))")
    curs.execute(SQL(_CREATE).format(t=marks))
    curs.execute(SQL(_READ).format(t=marks), (name, schema, list(tables)))
    row = curs.fetchone()
    return row is not None and row["digest"] == mark


def _mark(curs: psycopg.Cursor[DictRow], schema: str, name: str, mark: str) -> None:
    curs.execute(SQL(_WRITE).format(t=Identifier(schema, MARKS)), (name, mark))
