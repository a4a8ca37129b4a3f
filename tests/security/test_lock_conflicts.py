"""A process that starts while the registry is in use (a new worker, the heavy lane's
process, a restart) must not lock the tables others read and write.

CI saw it (the fuzz run): the heavy lane's process started while a request read
activities and partners in one statement. Its start ran `ALTER TABLE … ADD COLUMN IF NOT
EXISTS` on every read-model table in one transaction, which takes an ACCESS EXCLUSIVE
lock even when the column is there; the request held activities and waited for partners,
the start held partners and waited for activities, and PostgreSQL's deadlock detector
aborted the request: a 503 `DATABASE_UNAVAILABLE` for a plain read. A start on tables
already as they should be now takes no lock that conflicts with a reader or a writer.

A query a deadlock aborts is run again (a rebuild's swap drops and renames the live
tables in one transaction, as a start of a new version alters them): a reader gets its
answer, not a 503.

Driven by progress, not by the clock: the start either finishes or shows up in `pg_locks`
waiting behind the test's transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from app.infra.database import Database
from app.main import create_app
from app.settings import Settings

WAITING = (
    "SELECT l.pid, l.mode, l.relation::regclass::text AS rel, a.query "
    "FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
    "WHERE NOT l.granted AND l.pid <> pg_backend_pid() AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database())"
)


class Start:
    """The app's start, in a thread of its own: `started` once it is up or has failed
    (`failed` says how)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = threading.Event()
        self.failed: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with TestClient(create_app(self.settings)):
                self.started.set()
        except BaseException as error:
            self.failed.append(error)
            self.started.set()


@pytest.fixture
def in_use(db: Database) -> Iterator[psycopg.Connection]:
    """A transaction holding what readers and writers hold: ROW EXCLUSIVE on every table
    of the database (it conflicts with SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE and ACCESS
    EXCLUSIVE: an index built, a trigger replaced, a column added)."""
    with psycopg.connect(db.conninfo()) as conn:
        tables = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
        ).fetchall()
        assert tables
        for (table,) in tables:
            conn.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(sql.SQL(table)))
        yield conn
        conn.rollback()


def test_a_process_starting_on_current_tables_waits_for_no_reader_or_writer(
    db: Database, settings: Settings, in_use: psycopg.Connection
) -> None:
    start = Start(settings)
    waiting: list[tuple[object, ...]] = []
    with psycopg.connect(db.conninfo(), autocommit=True) as watcher:
        while not start.started.is_set():
            waiting = watcher.execute(WAITING).fetchall()
            if waiting:
                break
            time.sleep(0.01)
    in_use.rollback()  # let a start that waits go on, then report what it waited for
    start.thread.join()
    assert not waiting, f"the start waited on the tables in use: {waiting}"
    assert not start.failed, start.failed


def test_a_start_that_changes_the_tables_yields_to_a_reader_it_deadlocks_with(
    db: Database, settings: Settings, log: pytest.LogCaptureFixture
) -> None:
    """A new version's start does change the tables, and takes their locks: partners,
    then activities. A reader holding activities that then reads partners closes the
    cycle. PostgreSQL aborts whichever waited first, the start: it runs its statements
    again once the reader is done, and the reader's statement succeeds."""
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE partnerbook_schema_marks")  # tables of an older version
    with (
        psycopg.connect(db.conninfo()) as reader,
        psycopg.connect(db.conninfo(), autocommit=True) as watcher,
    ):
        reader.execute("SELECT count(*) FROM activities")
        start = Start(settings)
        waiting: list[tuple[object, ...]] = []
        while not start.started.is_set() and not any(w[2] == "activities" for w in waiting):
            waiting = watcher.execute(WAITING).fetchall()
            time.sleep(0.01)
        assert not start.started.is_set(), "the start changed no table while the reader held one"
        reader.execute("SELECT count(*) FROM partners")  # the cycle: the start gives way
        reader.commit()
    start.thread.join()
    assert not start.failed, start.failed
    with psycopg.connect(db.conninfo()) as conn:
        marks = conn.execute("SELECT count(*) FROM partnerbook_schema_marks").fetchone()
    assert marks is not None and marks[0] > 0
    assert any("deadlock, run again" in r.getMessage() for r in log.records)


def test_a_query_a_deadlock_aborts_is_run_again(client: TestClient, db: Database) -> None:
    """The swap of a rebuild (or a start that alters tables) holds partners and asks for
    activities, while an activities query holds activities and asks for partners. The
    query waited first, so PostgreSQL aborts it; the API runs it again and answers."""
    query = "{ activities(first: 5) { totalCount edges { node { id } } } }"
    assert "errors" not in client.post("/graphql", json={"query": query}).json()
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(client.post("/graphql", json={"query": query})),
        daemon=True,
    )
    with (
        psycopg.connect(db.conninfo()) as swap,
        psycopg.connect(db.conninfo(), autocommit=True) as watcher,
    ):
        swap.execute("LOCK TABLE partners IN ACCESS EXCLUSIVE MODE")
        thread.start()
        waiting: list[tuple[object, ...]] = []
        while not any(w[2] == "partners" for w in waiting):
            waiting = watcher.execute(WAITING).fetchall()
            time.sleep(0.01)
        swap.execute("LOCK TABLE activities IN ACCESS EXCLUSIVE MODE")  # the cycle
        swap.rollback()
    thread.join()
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    assert body["data"]["activities"]["totalCount"] == 0
