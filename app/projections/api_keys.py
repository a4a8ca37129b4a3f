"""API keys in PostgreSQL: created and revoked by the CLI, looked up (with a short cache)
by the server. A key is `pb_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of
the 256-bit secret is compared in constant time. The secret itself is never stored."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.projections.rows import dataclass_row

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


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "pb" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


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
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor(row_factory=dataclass_row(KeyRow))
        row = cur.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
            f"WHERE name = %s OR id = %s RETURNING {_COLUMNS}",
            (name_or_id, key_id),
        ).fetchone()
    if row is None:
        raise ApiKeyError(f"no key named {name_or_id!r}")
    return row


class KeyStore:
    """The server's look-up: one query per key per `ttl` seconds (so a revocation is
    seen within `ttl`), `last_used_at` written at most once per `touch_every` seconds."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        ttl: float = 5.0,
        touch_every: float = 60.0,
        max_entries: int = 10_000,
    ) -> None:
        self.pool = pool
        self.ttl = ttl
        self.touch_every = touch_every
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._touched: dict[uuid.UUID, float] = {}

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
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await self._load(prefix, digest)
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[cache_key] = (now + self.ttl, principal)
        if principal is None:
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

    async def _load(self, prefix: str, digest: str) -> Principal | None:
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
