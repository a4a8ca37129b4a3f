"""Reads made slow deterministically, and what the server shows of them: another
connection holds ACCESS EXCLUSIVE on a table, so every statement reading it waits,
holding its pooled connection, while reads of other tables need none of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2 as httpx
import psycopg

from tests.security.conftest import Live

GUARD = 60.0
"""Seconds after which a wait gives up (a bound, never an expectation)."""


@contextmanager
def locked(live: Live, table: str) -> Iterator[None]:
    with psycopg.connect(live.db.conninfo()) as locker:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            locker.rollback()


def waiting_on_lock(live: Live, text: str) -> int:
    """Statements of the database waiting for a lock whose text holds `text`."""
    with psycopg.connect(live.db.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND strpos(query, %s) > 0",
            (text,),
        ).fetchone()
    return int(row[0]) if row else 0


def gauge(live: Live, name: str) -> float:
    """A gauge of the server's /metrics (0 when it is not there)."""
    metrics = httpx.get(live.base + "/metrics", timeout=GUARD).text
    found = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
