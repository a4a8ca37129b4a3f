"""Read-your-writes' positions read again without opening a connection each time.

The change feed's followers (subscription hub, webhooks) wait for the next position at
most 5 s at a time and then read the positions again, in case a NOTIFY was missed: each
of those reads opened a new connection, two every 5 s on an idle server."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from app.infra.database import Database
from app.infra.positions import ProjectionWaiter
from app.infra.read_routing import RoutedPool


def _tracking_table(db: Database) -> str:
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS waiter_tracking "
            "(application_name text NOT NULL, notification_id bigint NOT NULL)"
        )
        conn.execute("DELETE FROM waiter_tracking")
    return "waiter_tracking"


def _projected(db: Database, position: int) -> None:
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("INSERT INTO waiter_tracking VALUES ('app', %s)", (position,))


def test_timed_out_waits_read_the_positions_on_the_pool_not_new_connections(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _tracking_table(db)

    async def scenario() -> tuple[list[bool], int]:
        pool = RoutedPool(db.conninfo(), min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        opened = 0
        connect = psycopg.AsyncConnection.connect

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal opened
            opened += 1
            return await connect(*args, **kwargs)

        monkeypatch.setattr(psycopg.AsyncConnection, "connect", counted)
        try:
            waiter = ProjectionWaiter("app", {"registry": table}, connect=pool.primary)
            await waiter.start()
            # No NOTIFY comes (nothing listens here): every wait times out and reads again.
            missed = [await waiter.wait_for(3, within=0.01) for _ in range(5)]
            _projected(db, 3)  # projected, its NOTIFY missed
            found = await waiter.wait_for(3, within=0.01)
            return [*missed, found], opened
        finally:
            await pool.close()

    answers, opened = asyncio.run(scenario())
    assert answers == [False] * 5 + [True]
    assert opened == 0
