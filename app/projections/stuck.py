"""Which projection is stuck on which event: one row per projection that cannot apply
the next event of the log (position, topic, error), kept by its projector and read by
`/readyz`, `/metrics` and `partnerbook projections status` in any process; and the
events an operator chose to skip (`partnerbook projections skip`), which every projector
of that projection, a rebuild's included, passes over the same way."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, Connection

TABLE = "projection_stuck"
_CREATE = (
    "CREATE TABLE IF NOT EXISTS projection_stuck (name text PRIMARY KEY, "
    "position bigint NOT NULL, topic text NOT NULL, error text NOT NULL, "
    "since timestamptz NOT NULL DEFAULT now())"
)
_SELECT = "SELECT name, position, topic, error, since FROM projection_stuck ORDER BY name"
MAX_ERROR = 1000
"""Characters of the error kept: enough for a message, never a whole traceback."""


@dataclass(frozen=True)
class StuckAt:
    name: str
    position: int
    topic: str
    error: str
    since: datetime | None = None

    def describe(self) -> str:
        return f"{self.name} cannot apply event {self.position} ({self.topic}): {self.error}"


_CREATE_SKIPS = (
    "CREATE TABLE IF NOT EXISTS projection_skips (name text NOT NULL, "
    "position bigint NOT NULL, topic text NOT NULL, reason text NOT NULL, "
    "actor text NOT NULL, skipped_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (name, position))"
)


def ensure_table(conn: Connection[Any]) -> None:
    # Another process may create them at the same moment.
    with contextlib.suppress(psycopg.errors.UniqueViolation):
        conn.execute(_CREATE)
        conn.execute(_CREATE_SKIPS)


@dataclass(frozen=True)
class Skip:
    name: str
    position: int
    topic: str
    reason: str
    actor: str


def add_skip(conn: Connection[Any], skip: Skip) -> None:
    """Records (autocommit) that `skip.name` passes over the event at `skip.position`."""
    ensure_table(conn)
    conn.execute(
        "INSERT INTO projection_skips (name, position, topic, reason, actor) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, position) DO NOTHING",
        (skip.name, skip.position, skip.topic, skip.reason, skip.actor),
    )


def skip_of(curs: Any, name: str, position: int) -> Skip | None:
    """The operator's decision to skip this event of this projection, if any."""
    curs.execute(
        "SELECT topic, reason, actor FROM projection_skips WHERE name = %s AND position = %s",
        (name, position),
    )
    row = curs.fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return Skip(name, position, str(values[0]), str(values[1]), str(values[2]))


def record(conn: Connection[Any], stuck: StuckAt) -> None:
    """Says (autocommit) that `stuck.name` cannot pass `stuck.position`; `since` is kept
    while it stays stuck on the same event."""
    conn.execute(
        "INSERT INTO projection_stuck (name, position, topic, error) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET topic = excluded.topic, error = excluded.error, "
        "since = CASE WHEN projection_stuck.position = excluded.position "
        "THEN projection_stuck.since ELSE now() END, position = excluded.position",
        (stuck.name, stuck.position, stuck.topic, stuck.error[:MAX_ERROR]),
    )


def clear(conn: Connection[Any], name: str, passed: int) -> bool:
    """Forgets that `name` was stuck on an event it has now passed; True if it was."""
    cursor = conn.execute(
        "DELETE FROM projection_stuck WHERE name = %s AND position <= %s", (name, passed)
    )
    return cursor.rowcount > 0


def _rows(rows: list[Any]) -> list[StuckAt]:
    return [StuckAt(str(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4]) for r in rows]


def read(conn: Connection[Any]) -> list[StuckAt]:
    try:
        return _rows(conn.execute(_SELECT).fetchall())
    except psycopg.errors.UndefinedTable:  # no projector ever ran here
        return []


async def read_async(conn: AsyncConnection[Any]) -> list[StuckAt]:
    try:
        cursor = await conn.execute(_SELECT)
        return _rows(await cursor.fetchall())
    except psycopg.errors.UndefinedTable:
        return []
