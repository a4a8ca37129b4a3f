"""How far the read models are behind the event log (for /metrics and /readyz)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier


async def positions(
    conn: AsyncConnection[Any], events_table: str, tracking_table: str, app_name: str
) -> tuple[int, int]:
    """(the last notification id in the event log, the position the projection passed)."""
    query = SQL(
        "SELECT (SELECT coalesce(max(notification_id), 0) FROM {events}),"
        " (SELECT coalesce(max(notification_id), 0) FROM {tracking}"
        "  WHERE application_name = %s)"
    ).format(events=Identifier(events_table), tracking=Identifier(tracking_table))
    cursor = await conn.execute(query, (app_name,))
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
