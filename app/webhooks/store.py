"""What the delivery worker keeps in PostgreSQL: each endpoint's cursor (the last
acknowledged position, the failures of the event at its head, when to try it next) and
its attempts (listed by `webhookDeliveries`, the oldest dropped past a bound); and what it
reads: the endpoints, and the timeline rows an endpoint wants."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.sql import SQL, Composable, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra import schema_marks
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
    """The tables and their index, unless they are there as made (app/infra/schema_marks.py:
    CREATE INDEX locks the table even when the index exists)."""
    schema_marks.ensure(
        conninfo, "webhook_cursors", _CREATE, ["webhook_cursors", "webhook_attempts"]
    )


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


_WAKE = SQL(
    "SELECT s.stamp, f.* FROM (SELECT md5(coalesce(string_agg(e.id::text || ':' || e.version, "
    "',' ORDER BY e.id), '')) AS stamp FROM webhook_endpoints e) s "
    "LEFT JOIN LATERAL ({feed}) f ON true ORDER BY f.position"
).format(
    feed=_FEED.format(
        after=SQL("%(after)s"),
        upto=SQL("%(upto)s"),
        kinds=SQL("TRUE"),
        where=SQL("TRUE"),
        limit=SQL("%(limit)s"),
    )
)
"""What the dispatcher reads at each wake, in one statement: a fingerprint of the
endpoints (their ids and versions: every change of one is an event that moves its
version) and the timeline rows of every kind and partner since the last wake."""

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
_ACKNOWLEDGE = (
    "WITH moved AS (UPDATE webhook_cursors SET position = greatest(position, %(position)s), "
    "failures = %(failures)s, next_attempt_at = %(next_attempt_at)s "
    "WHERE endpoint_id = %(endpoint)s), "
    "recorded AS (INSERT INTO webhook_attempts ({}) SELECT {} FROM unnest("
    "%(c0)s::uuid[], %(c1)s::bigint[], %(c2)s::text[], %(c3)s::text[], %(c4)s::integer[], "
    "%(c5)s::integer[], %(c6)s::real[], %(c7)s::text[], %(c8)s::timestamptz[]) "
    "WITH ORDINALITY AS a({}, n) ORDER BY n) "
    "DELETE FROM webhook_attempts WHERE %(prune)s AND endpoint_id = %(endpoint)s AND id <= "
    "(SELECT id FROM webhook_attempts WHERE endpoint_id = %(endpoint)s "
    "ORDER BY id DESC OFFSET %(keep)s LIMIT 1)"
).format(", ".join(_COLUMNS), ", ".join(_COLUMNS), ", ".join(_COLUMNS))
"""A flush in one statement (one transaction, one round trip): the cursor, the attempts
(one array per column, in their order) and, when pruning, the endpoint's oldest attempts
past `keep` (the statement's parts see the table as it was before it: `keep` less the
new attempts are kept of those already there)."""


def _attempt_values(attempt: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(attempt[c] for c in _COLUMNS)


ENDPOINTS_LOCK = 0x7062_7768_6570
"""The advisory lock a create of an endpoint holds (any process): its count, then its
create, with no other create between them."""


class DeliveryStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool
        self._creating = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def creating(self) -> AsyncIterator[None]:
        """One endpoint created at a time, in every process, so that a count of the
        endpoints holds until the create it allowed is recorded and projected: this
        process's lock first (its waiters hold no connection), then PostgreSQL's, held by
        a transaction (its end lets it go, however the create ends: a session's lock on a
        pooled connection would outlive an unlock cut short by a cancellation)."""
        async with self._creating, self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (ENDPOINTS_LOCK,))
            yield

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

    async def erasure_projected(self, partner_id: UUID) -> bool:
        """Whether the read models show the partner's erasure: its PARTNER_ANONYMIZED
        row, written in the transaction that scrubbed them."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM timeline WHERE partner_id = %s "
                "AND kind = 'PARTNER_ANONYMIZED')",
                (partner_id,),
            )
            row = await cur.fetchone()
        return bool(row and row[0])

    async def wake(
        self, conn: psycopg.AsyncConnection[Any], after: int, upto: int, limit: int
    ) -> tuple[str, list[TimelineRow]]:
        """The endpoints' fingerprint and the timeline rows in (after, upto] (every kind
        and partner, in log order), in one statement on `conn`."""
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(_WAKE, {"after": after, "upto": upto, "limit": limit})
        found = await cur.fetchall()
        stamp = str(found[0]["stamp"]) if found else ""
        rows = [
            TimelineRow(**{k: v for k, v in r.items() if k != "stamp"})
            for r in found
            if r["position"] is not None
        ]
        return stamp, rows

    async def acknowledge(
        self,
        endpoint_id: UUID,
        cursor: Cursor,
        attempts: list[dict[str, Any]],
        keep: int | None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> None:
        """One statement: the cursor (its position only ever moves forward, to an event a
        2xx acknowledged or past events it does not want), its failures and next attempt,
        the attempts made since the last call, and when `keep` is given the oldest
        attempts of the endpoint dropped past `keep`. On `conn` (the dispatcher's, whose
        session does not wait for the WAL flush) when given, else on a pooled one."""
        columns = [list(c) for c in zip(*map(_attempt_values, attempts), strict=True)]
        params: dict[str, Any] = {f"c{i}": c for i, c in enumerate(columns or [[]] * 9)}
        params |= {
            "endpoint": endpoint_id,
            "position": cursor.position,
            "failures": cursor.failures,
            "next_attempt_at": cursor.next_attempt_at,
            "prune": keep is not None,
            # The new attempts are the newest: keep that many fewer of those recorded.
            "keep": max(0, (keep or 0) - len(attempts)),
        }
        if conn is not None:
            await conn.execute(_ACKNOWLEDGE, params)
            return
        async with self.pool.connection() as pooled, pooled.transaction():
            # Not waiting for the WAL flush: a crash of PostgreSQL may lose the last
            # fraction of a second of acknowledgements (re-sent, never skipped: the WAL
            # keeps their order), and delivery does not wait on the disk.
            await pooled.execute("SET LOCAL synchronous_commit = off")
            await pooled.execute(_ACKNOWLEDGE, params)

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
