"""A statement sent in psycopg's pipeline mode is sent whole, however large.

psycopg 3.3.9's pipeline loop stops once its queue of commands is empty, even when its
last flush left part of a statement in libpq's buffer; it then waits for results that the
server, still reading that statement, never sends. Over a Unix socket (the embedded
server) a statement of ~1 MB was enough: the event store inserts a batch in one
statement in a pipeline (eventsourcing), so an editor's import of 20 rows with notes of
19,000 accented letters hung for ever, holding the events table's lock, and every other
write in the system waited behind it (found attacking the heavy lane over WebSocket). Over
TCP the kernel's larger buffers hid it; these tests pass there either way.

Each test runs its action in a thread and, should it not finish, ends the stuck server
sessions (`ClientRead`) so that the failure is reported instead of the suite hanging."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql

HANG_SECONDS = 90
"""Far above what these take (milliseconds): only a hang reaches it."""

IMPORT = """mutation($i: ImportPartnersInput!) { importPartners(input: $i) {
  created userErrors { code message } } }"""


def finishes(db: Database, action: Callable[[], Any]) -> Any:
    """`action`'s result; fails, after ending the stuck sessions, when it hangs."""
    done: list[Any] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(action())
        except BaseException as error:  # reported below
            failed.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    hung = thread.is_alive()
    while thread.is_alive():
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE wait_event = 'ClientRead' AND state = 'active' AND pid <> pg_backend_pid()"
            )
        thread.join(5)
    assert not hung, "the statement was never sent whole: client and server waited for ever"
    if failed:
        raise failed[0]
    return done[0]


def test_a_large_statement_in_a_pipeline_is_sent_whole(db: Database) -> None:
    states = [os.urandom(400_000) for _ in range(3)]

    def insert() -> list[Any]:
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE TEMP TABLE big (state bytea)")
            with conn.pipeline() as pipeline, conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.execute(
                    "INSERT INTO big SELECT * FROM unnest(%b::bytea[]) RETURNING 1", (states,)
                )
                pipeline.sync()
                return cur.fetchall()

    assert finishes(db, insert) == [(1,), (1,), (1,)]


def test_an_import_of_long_notes_is_recorded(db: Database, client: TestClient) -> None:
    rows = [
        {"externalId": f"n{n}", "name": f"Notes {n}", "comment": "é" * 19_000} for n in range(20)
    ]
    found = finishes(db, lambda: gql(client, IMPORT, {"i": {"rows": rows}}))
    assert found["importPartners"] == {"created": 20, "userErrors": []}
