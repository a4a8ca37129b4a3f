"""The pools' check: a connection checked less than a second ago is handed out without a
round trip; one that is broken, or whose last check is older, is checked (and replaced if
dead). Both the read pool (async) and the event store's pool (threads) use it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra import pool_check
from app.infra.database import Database


def test_a_connection_checked_just_now_is_not_checked_again(db: Database) -> None:
    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
            sent: list[str] = []
            original = conn.execute

            async def counting(query, *args, **kwargs):  # type: ignore[no-untyped-def]
                sent.append(str(query))
                return await original(query, *args, **kwargs)

            conn.execute = counting  # type: ignore[method-assign]
            await pool_check.check_unless_fresh(conn)
            assert sent == [""]  # never checked: a round trip
            await pool_check.check_unless_fresh(conn)
            await pool_check.check_unless_fresh(conn)
            assert sent == [""]  # checked moments ago: none

    asyncio.run(scenario())


def test_a_dead_connection_fails_the_check_even_when_checked_just_now(db: Database) -> None:
    async def scenario() -> None:
        conn = await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True)
        await pool_check.check_unless_fresh(conn)
        await conn.close()
        with pytest.raises(psycopg.OperationalError):
            await pool_check.check_unless_fresh(conn)

    asyncio.run(scenario())


def test_a_connection_whose_check_is_old_is_checked_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_check, "FRESH_SECONDS", 0.0)
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        sent: list[str] = []
        original = conn.execute

        def counting(query, *args, **kwargs):  # type: ignore[no-untyped-def]
            sent.append(str(query))
            return original(query, *args, **kwargs)

        conn.execute = counting  # type: ignore[method-assign]
        pool_check.check_unless_fresh_sync(conn)
        pool_check.check_unless_fresh_sync(conn)
        assert sent == ["", ""]


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    env = {**db.eventsourcing_env(4, 5)}
    application = Partnerbook(env=env)
    yield application
    application.close()


def test_the_event_store_pool_checks_lazily_and_recovers_from_dead_connections(
    app: Partnerbook, db: Database
) -> None:
    """eventsourcing's POSTGRES_PRE_PING pool gets the lazy check (set on psycopg_pool's
    `_check`: this fails if a new psycopg_pool keeps it elsewhere). Loading an aggregate
    then costs its two queries, not four; and after the server ended every connection,
    the next command still works (the broken connections are checked and replaced)."""
    pool: Any = app.factory.datastore.pool  # type: ignore[attr-defined]
    assert pool._check is pool_check.check_unless_fresh_sync
    audit = Audit(actor="test", request_id="r-1")
    ident = app.create_partner("COMPANY", {"name": "Acme"}, audit).id
    checks: list[object] = []
    original = psycopg.Connection.execute

    def counting(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(query) == "":
            checks.append(query)
        return original(self, query, *args, **kwargs)

    psycopg.Connection.execute = counting  # type: ignore[method-assign]
    try:
        for _ in range(20):
            app.repository.get(ident)
    finally:
        psycopg.Connection.execute = original  # type: ignore[method-assign]
    # 40 queries (a snapshot and the events after it, 20 times): with a check on every
    # hand-out, 40 checks; now at most one per pooled connection (4), in its first use.
    assert len(checks) <= 4

    with psycopg.connect(db.conninfo(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    result = app.update_partner(ident, {"name": "Acme 2"}, audit, None)
    assert result.version == 2
    assert app.repository.get(ident).values["name"] == "Acme 2"
