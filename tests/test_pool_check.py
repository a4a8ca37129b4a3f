"""The read pool's check: a connection just given back is handed out without a round
trip; one that is broken, or idle for a while, is checked (and replaced if dead)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from app import pool_check
from app.database import Database


def test_a_connection_just_returned_is_not_checked(db: Database) -> None:
    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
            await pool_check.note_returned(conn)
            sent: list[str] = []
            original = conn.execute

            async def counting(query, *args, **kwargs):  # type: ignore[no-untyped-def]
                sent.append(str(query))
                return await original(query, *args, **kwargs)

            conn.execute = counting  # type: ignore[method-assign]
            await pool_check.check_unless_fresh(conn)
            assert sent == []
            # Handed out once; the next check (not returned since) goes to the server.
            await pool_check.check_unless_fresh(conn)
            assert sent == [""]

    asyncio.run(scenario())


def test_a_dead_connection_fails_the_check_even_when_just_returned(db: Database) -> None:
    async def scenario() -> None:
        conn = await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True)
        await pool_check.note_returned(conn)
        await conn.close()
        with pytest.raises(psycopg.OperationalError):
            await pool_check.check_unless_fresh(conn)

    asyncio.run(scenario())


def test_an_idle_connection_is_checked(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_check, "FRESH_SECONDS", 0.0)

    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(db.conninfo(), autocommit=True) as conn:
            await pool_check.note_returned(conn)
            await pool_check.check_unless_fresh(conn)  # checked, and alive: no error

    asyncio.run(scenario())
