"""What the delivery worker keeps in PostgreSQL: each endpoint's cursor (the last
acknowledged position, the failures of the event at its head, when to try it next) and
its attempts (listed by `webhookDeliveries`, the oldest dropped past a bound); and what it
reads: the endpoints, and the timeline rows an endpoint wants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.sql import SQL, Composable, Literal
from psycopg_pool import AsyncConnectionPool

from app.queries.timeline_queries import TimelineRow

_CREATE = (
    "CREATE TABLE IF NOT EXISTS webhook_cursors (endpoint_id uuid PRIMARY KEY, "
    "position bigint NOT NULL, replay_position bigint NOT NULL DEFAULT 0, "
    "failures integer NOT NULL DEFAULT 0, next_attempt_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS webhook_attempts (id bigserial PRIMARY KEY, "
    "endpoint_id uuid NOT NULL, position bigint NOT NULL, webhook_id text NOT NULL, "
    "kind text NOT NULL, attempt integer NOT NULL, status integer, duration_ms real NOT NULL, "
    "error text, next_attempt_at timestamptz, "
    "attempted_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE INDEX IF NOT EXISTS webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id)",
)


def ensure_tables(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('partnerbook:webhook_cursors'))")
        for statement in _CREATE:
            conn.execute(statement)


@dataclass(frozen=True)
class EndpointRow:
    id: UUID
    url: str
    description: str | None
    event_kinds: list[str] | None
    filter: dict[str, Any] | None
    enabled: bool
    disabled_reason: str | None
    created_position: int
    replay_after: int | None
    replay_position: int
    secret_rotated_at: datetime | None
    grace_seconds: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Cursor:
    position: int
    replay_position: int
    failures: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class AttemptRow:
    id: int
    endpoint_id: UUID
    position: int
    webhook_id: str
    kind: str
    attempt: int
    status: int | None
    duration_ms: float
    error: str | None
    next_attempt_at: datetime | None
    attempted_at: datetime


_FEED = SQL(
    "SELECT t.position, t.occurred_at, t.kind, t.actor, t.request_id, t.reason, t.summary, "
    "t.subject_type, t.subject_id, t.changes, t.partner_id, pp.commercial_partner_id "
    "FROM timeline t JOIN partners pp ON pp.id = t.partner_id "
    "WHERE t.position > {after} AND t.position <= {upto} AND {kinds} AND {where} "
    "ORDER BY t.position LIMIT {limit}"
)


_COLUMNS = (
    "endpoint_id",
    "position",
    "webhook_id",
    "kind",
    "attempt",
    "status",
    "duration_ms",
    "error",
    "next_attempt_at",
)
_RECORD = (
    "INSERT INTO webhook_attempts ({}) SELECT {} FROM unnest("
    "%s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::integer[], %s::integer[], "
    "%s::real[], %s::text[], %s::timestamptz[]) WITH ORDINALITY AS a({}, n) ORDER BY n"
).format(", ".join(_COLUMNS), ", ".join(_COLUMNS), ", ".join(_COLUMNS))
"""The attempts of a flush in one statement (one array per column), in their order."""


def _attempt_values(attempt: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(attempt[c] for c in _COLUMNS)


class DeliveryStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def endpoints(self, ids: list[UUID] | None = None) -> list[EndpointRow]:
        where = SQL("TRUE") if ids is None else SQL("id = ANY({})").format(Literal(ids))
        query = SQL("SELECT * FROM webhook_endpoints WHERE {} ORDER BY created_at, id").format(
            where
        )
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(EndpointRow))
            await cur.execute(query)
            rows: list[EndpointRow] = await cur.fetchall()
            return rows

    async def cursor(self, endpoint: EndpointRow) -> Cursor:
        """The endpoint's cursor (made at the position it was created at); a replay
        requested since it was last read moves it back first."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Cursor))
            await cur.execute(
                "INSERT INTO webhook_cursors (endpoint_id, position, replay_position) "
                "VALUES (%s, %s, %s) ON CONFLICT (endpoint_id) DO NOTHING",
                (endpoint.id, endpoint.created_position, endpoint.replay_position),
            )
            if endpoint.replay_after is not None:
                await cur.execute(
                    "UPDATE webhook_cursors SET position = %s, replay_position = %s, "
                    "failures = 0, next_attempt_at = NULL "
                    "WHERE endpoint_id = %s AND replay_position < %s",
                    (
                        endpoint.replay_after,
                        endpoint.replay_position,
                        endpoint.id,
                        endpoint.replay_position,
                    ),
                )
            await cur.execute(
                "SELECT position, replay_position, failures, next_attempt_at "
                "FROM webhook_cursors WHERE endpoint_id = %s",
                (endpoint.id,),
            )
            found: Cursor | None = await cur.fetchone()
        assert found is not None
        return found

    async def pending(
        self,
        kinds: list[str] | None,
        after: int,
        upto: int,
        where: Composable | None,
        limit: int,
    ) -> list[TimelineRow]:
        """The timeline rows in (after, upto] of these kinds (None: all) whose partner
        matches `where` (None: any), in log order."""
        matches: Composable = SQL("TRUE")
        if where is not None:
            # The filter's columns are the partners table's, unqualified (alias p).
            matches = SQL(
                "EXISTS (SELECT 1 FROM partners p WHERE p.id = t.partner_id AND ({}))"
            ).format(where)
        query = _FEED.format(
            after=Literal(after),
            upto=Literal(upto),
            kinds=SQL("TRUE") if kinds is None else SQL("t.kind = ANY({})").format(Literal(kinds)),
            where=matches,
            limit=Literal(limit),
        )
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(TimelineRow))
            await cur.execute(query)
            rows: list[TimelineRow] = await cur.fetchall()
            return rows

    async def advance(self, endpoint_id: UUID, position: int) -> None:
        """Nothing it wants up to `position` (the cursor moves past events it skips)."""
        await self.acknowledge(endpoint_id, Cursor(position, 0, 0, None), [], None)

    async def acknowledge(
        self,
        endpoint_id: UUID,
        cursor: Cursor,
        attempts: list[dict[str, Any]],
        keep: int | None,
    ) -> None:
        """One transaction: the cursor (its position only ever moves forward, to an event a
        2xx acknowledged or past events it does not want), its failures and next attempt,
        the attempts made since the last call, and when `keep` is given the oldest
        attempts of the endpoint dropped past `keep`."""
        async with self.pool.connection() as conn, conn.transaction():
            # Not waiting for the WAL flush: a crash of PostgreSQL may lose the last
            # fraction of a second of acknowledgements (re-sent, never skipped: the WAL
            # keeps their order), and delivery does not wait on the disk.
            await conn.execute("SET LOCAL synchronous_commit = off")
            await conn.execute(
                "UPDATE webhook_cursors SET position = greatest(position, %s), failures = %s, "
                "next_attempt_at = %s WHERE endpoint_id = %s",
                (cursor.position, cursor.failures, cursor.next_attempt_at, endpoint_id),
            )
            if attempts:
                columns = [list(c) for c in zip(*map(_attempt_values, attempts), strict=True)]
                await conn.execute(_RECORD, columns)
            if keep is not None:
                await conn.execute(
                    "DELETE FROM webhook_attempts WHERE endpoint_id = %s AND id <= "
                    "(SELECT id FROM webhook_attempts WHERE endpoint_id = %s "
                    "ORDER BY id DESC OFFSET %s LIMIT 1)",
                    (endpoint_id, endpoint_id, keep),
                )

    async def attempts(self, endpoint_id: UUID, before: int | None, limit: int) -> list[AttemptRow]:
        """Newest first."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(AttemptRow))
            await cur.execute(
                "SELECT * FROM webhook_attempts WHERE endpoint_id = %s AND id < %s "
                "ORDER BY id DESC LIMIT %s",
                (endpoint_id, before if before is not None else 2**62, limit),
            )
            rows: list[AttemptRow] = await cur.fetchall()
            return rows

    async def attempt_count(self, endpoint_id: UUID) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM webhook_attempts WHERE endpoint_id = %s", (endpoint_id,)
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def forget(self, endpoint_id: UUID) -> None:
        """A deleted endpoint's cursor and attempts."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM webhook_cursors WHERE endpoint_id = %s", (endpoint_id,))
            await conn.execute(
                "DELETE FROM webhook_attempts WHERE endpoint_id = %s", (endpoint_id,)
            )

    async def cursors(self) -> dict[UUID, int]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT endpoint_id, position FROM webhook_cursors")
            return {row[0]: int(row[1]) for row in await cur.fetchall()}

    async def position_at(self, at: datetime) -> int:
        """The last position of the log before `at` (a replay from a time)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(max(position), 0) FROM timeline WHERE occurred_at < %s", (at,)
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0


@dataclass(frozen=True)
class WebhookStores:
    """What the API's webhook fields use: the secrets and the delivery records."""

    secrets: Any
    """app/infra/webhook_secrets.SecretStore"""
    deliveries: DeliveryStore
