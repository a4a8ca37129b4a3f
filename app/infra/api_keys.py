"""API keys in PostgreSQL: created and revoked by the CLI, looked up (with a cache) by the
server. A key is `pb_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the
256-bit secret is compared in constant time. The secret itself is never stored.

A revocation is published (app/infra/notices.py) and answers once every server process dropped
the key and closed its WebSockets; expiry is checked against the clock on every use. The
cache is for look-ups only: it never decides that a revoked key is still good."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.infra import notices
from app.infra.rows import dataclass_row

ROLES = ("admin", "editor", "viewer", "auditor")

_CREATE = (
    "CREATE TABLE IF NOT EXISTS api_keys ("
    " id uuid PRIMARY KEY,"
    " name text NOT NULL UNIQUE,"
    " role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'auditor')),"
    " prefix text NOT NULL UNIQUE,"
    " hash text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " expires_at timestamptz,"
    " revoked_at timestamptz,"
    " last_used_at timestamptz)"
)
_COLUMNS = "id, name, role, prefix, created_at, expires_at, revoked_at, last_used_at"


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked (the message says why)."""


@dataclass(frozen=True)
class KeyRow:
    id: uuid.UUID
    name: str
    role: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the key's name (recorded as the actor) and role."""

    key_id: uuid.UUID
    name: str
    role: str
    expires_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_WELL_FORMED = re.compile(r"pb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
"""What `create_key` makes: 6 random bytes in hex, then `token_urlsafe(32)`."""


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None: a key of another length, prefix
    or alphabet cannot exist, so it is refused without asking the database."""
    found = _WELL_FORMED.fullmatch(key)
    return (found[1], found[2]) if found else None


def ensure_table(conninfo: str) -> None:
    # Another process may create it at the same moment.
    with (
        psycopg.connect(conninfo, autocommit=True) as conn,
        contextlib.suppress(psycopg.errors.UniqueViolation),
    ):
        conn.execute(_CREATE)


def create_key(conninfo: str, name: str, role: str, expires_days: int | None = None) -> str:
    """Stores a new key and returns it: the only time the secret is seen."""
    name = name.strip()
    if not name:
        raise ApiKeyError("the name must not be empty")
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if expires_days is not None and expires_days <= 0:
        raise ApiKeyError("--expires must be a positive number of days")
    ensure_table(conninfo)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute(
                "INSERT INTO api_keys (id, name, role, prefix, hash, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (uuid.uuid4(), name, role, prefix, _digest(secret), expires),
            )
        except psycopg.errors.UniqueViolation:
            raise ApiKeyError(f"a key named {name!r} exists already") from None
    return f"pb_{prefix}_{secret}"


def list_keys(conninfo: str) -> list[KeyRow]:
    ensure_table(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor(row_factory=dataclass_row(KeyRow))
        return cur.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name").fetchall()


def count_keys(conninfo: str) -> int:
    ensure_table(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM api_keys").fetchone()
        return int(row[0]) if row else 0


def revoke_key(conninfo: str, name_or_id: str) -> KeyRow:
    """Revokes by name or id; revoking a revoked key keeps its first revocation time."""
    ensure_table(conninfo)
    try:
        key_id: uuid.UUID | None = uuid.UUID(name_or_id)
    except ValueError:
        key_id = None

    def revoke(cur: psycopg.Cursor[Any]) -> KeyRow:
        row = cur.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
            f"WHERE name = %s OR id = %s RETURNING {_COLUMNS}",
            (name_or_id, key_id),
        ).fetchone()
        if row is None:  # nothing to publish: the transaction ends without a notice
            raise ApiKeyError(f"no key named {name_or_id!r}")
        return KeyRow(*row)

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return notices.publish(conn, notices.API_KEY_REVOKED, revoke, lambda row: str(row.id))


Close = Callable[[], Awaitable[None]]
"""Closes one WebSocket (4401)."""


class KeyStore:
    """The server's look-up. Good keys are cached for `ttl` seconds (a re-read, for the
    role and expiry; never the way a revocation is learnt), unknown ones in a separate
    small cache that a flood can empty but that never evicts a good key; malformed keys
    never reach the database. `last_used_at` is written at most once per `touch_every`
    seconds. With `follow`, revocations arrive as notices: the key is refused from the
    next request on, and the WebSockets opened with it are closed at once."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        ttl: float = 5.0,
        touch_every: float = 60.0,
        max_entries: int = 10_000,
        max_unknown: int = 1024,
    ) -> None:
        self.pool = pool
        self.ttl = ttl
        self.touch_every = touch_every
        self.max_entries = max_entries
        self.max_unknown = max_unknown
        self.lookups = 0
        """Queries made to find a key (a test sees what the cache spared)."""
        self._known: dict[str, tuple[float, Principal]] = {}
        self._unknown: dict[str, float] = {}
        self._touched: dict[uuid.UUID, float] = {}
        self._revoked: set[uuid.UUID] = set()
        """Keys this process was told are revoked (a look-up in flight cannot bring one back)."""
        self._epoch = 0
        self._trusted = True
        self._sockets: dict[uuid.UUID, set[Close]] = {}
        self._closing: set[asyncio.Future[None]] = set()

    async def authenticate(self, key: str) -> Principal | None:
        """The principal of a valid key; None for a malformed, unknown, revoked or
        expired one."""
        parts = split_key(key)
        if parts is None:
            return None
        prefix, secret = parts
        digest = _digest(secret)
        cache_key = f"{prefix}:{digest}"
        now = time.monotonic()
        known = self._known.get(cache_key)
        if known is not None and known[0] > now and self._trusted:
            principal: Principal | None = known[1]
        elif self._unknown.get(cache_key, 0.0) > now:
            return None
        else:
            epoch = self._epoch
            principal = await self._load(prefix, digest)
            # A revocation handled while this look-up ran may be the one it missed.
            if epoch == self._epoch and self._trusted:
                self._remember(cache_key, now + self.ttl, principal)
        if principal is None or principal.key_id in self._revoked:
            return None
        if principal.expires_at is not None and principal.expires_at <= datetime.now(UTC):
            return None
        if now - self._touched.get(principal.key_id, -1e18) >= self.touch_every:
            self._touched[principal.key_id] = now
            async with self.pool.connection() as conn:
                await conn.execute(
                    "UPDATE api_keys SET last_used_at = now() WHERE id = %s", (principal.key_id,)
                )
        return principal

    def _remember(self, cache_key: str, until: float, principal: Principal | None) -> None:
        if principal is None:
            if len(self._unknown) >= self.max_unknown:
                self._unknown.clear()
            self._unknown[cache_key] = until
            return
        if len(self._known) >= self.max_entries:
            # Only good keys are here: as many as the table holds, so this is a safety net.
            self._known.clear()
        self._known[cache_key] = (until, principal)

    async def _load(self, prefix: str, digest: str) -> Principal | None:
        self.lookups += 1
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, name, role, hash, expires_at FROM api_keys "
                "WHERE prefix = %s AND revoked_at IS NULL",
                (prefix,),
            )
            row = await cur.fetchone()
        if row is None or not hmac.compare_digest(str(row[3]), digest):
            return None
        return Principal(key_id=row[0], name=row[1], role=row[2], expires_at=row[4])

    # -- revocation ---------------------------------------------------------------------

    def follow(self, listener: notices.NoticeListener) -> None:
        """Takes revocations from `listener`. While it is not connected, every request
        looks its key up; on each (re)connection the open WebSockets' keys are checked
        again (a revocation may have been missed)."""
        self._trust(False)
        listener.on(notices.API_KEY_REVOKED, lambda subject: self.revoked(uuid.UUID(subject)))
        listener.when_connected(self._reconnected)
        listener.when_lost(lambda: self._trust(False))

    def revoked(self, key_id: uuid.UUID) -> None:
        """A revocation notice: the key is refused from now on, its WebSockets closed."""
        self._revoked.add(key_id)
        self._epoch += 1
        for cache_key in [k for k, (_, p) in self._known.items() if p.key_id == key_id]:
            del self._known[cache_key]
        self._close(key_id)

    def watch(self, principal: Principal, close: Close) -> Callable[[], None]:
        """Calls `close` once the key is revoked; returns what stops watching."""
        closers = self._sockets.setdefault(principal.key_id, set())
        closers.add(close)
        if principal.key_id in self._revoked:  # revoked while the socket was opening
            self._close(principal.key_id)

        def unwatch() -> None:
            closers.discard(close)
            if not closers and self._sockets.get(principal.key_id) is closers:
                del self._sockets[principal.key_id]

        return unwatch

    def _close(self, key_id: uuid.UUID) -> None:
        for close in list(self._sockets.pop(key_id, ())):
            task = asyncio.ensure_future(close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _trust(self, trusted: bool) -> None:
        self._trusted = trusted
        self._epoch += 1
        self._known.clear()

    async def _reconnected(self) -> None:
        self._trust(True)
        watched = list(self._sockets)
        if not watched:
            return
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM api_keys WHERE id = ANY(%s) AND revoked_at IS NULL", (watched,)
            )
            valid = {row[0] for row in await cur.fetchall()}
        for key_id in watched:
            if key_id not in valid:
                self.revoked(key_id)
