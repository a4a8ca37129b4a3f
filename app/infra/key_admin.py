"""API keys changed through the API: created, listed and revoked, never leaving the
installation without an active admin key.

Every change takes one transaction-scoped advisory lock, so two revocations (or a
revocation and an expiry check) never both count the same admins: the second one waits,
then sees the first one's revocation. The audit event is saved (by `record`, in the
event store) before the key's transaction commits, so a refused event leaves no change."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from app.infra import notices
from app.infra.api_keys import _COLUMNS, ApiKeyError, KeyRow, _digest, ensure_table

ADMIN_LOCK = 0x7062_6B65_7973  # "pbkeys": the advisory lock every key change takes
MAX_NAME = 200
MAX_EXPIRES_DAYS = 3650


class LastAdmin(ApiKeyError):
    """The change would leave no active admin key."""


class KeyNotFound(ApiKeyError):
    """No key has this id."""


class DuplicateName(ApiKeyError):
    """Another key has this name."""


Record = Callable[[KeyRow], None]
"""Saves the audit event of a change (raises to refuse it: the change is rolled back)."""


def list_all(conninfo: str) -> list[KeyRow]:
    """Every key, oldest first: a table of as many rows as an admin made (no secrets)."""
    ensure_table(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name")
        return [KeyRow(*row) for row in rows.fetchall()]


def create(
    conninfo: str, name: str, role: str, expires_days: int | None, record: Record
) -> tuple[KeyRow, str]:
    """Stores a key and records its event in one go; returns it and its secret (the only
    time the secret exists outside the caller's hands)."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    ensure_table(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADMIN_LOCK,))
        try:
            row = conn.execute(
                "INSERT INTO api_keys (id, name, role, prefix, hash, expires_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (uuid.uuid4(), name, role, prefix, _digest(secret), expires),
            ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise DuplicateName(f"a key named {name!r} exists already") from None
        assert row is not None
        key = KeyRow(*row)
        record(key)
    return key, f"pb_{prefix}_{secret}"


def revoke(conninfo: str, key_id: uuid.UUID, record: Record) -> tuple[KeyRow, bool]:
    """Revokes a key, unless it is the last active admin key (LastAdmin). Returns the
    key and whether this call revoked it (False: it was revoked already). Answers once
    every server process dropped the key (app/infra/notices.py)."""
    ensure_table(conninfo)

    def change(cur: psycopg.Cursor[Any]) -> tuple[KeyRow, bool]:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (ADMIN_LOCK,))
        found = cur.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)).fetchone()
        if found is None:
            raise KeyNotFound("no API key with this id")
        key = KeyRow(*found)
        if key.revoked_at is not None:
            return key, False
        if key.role == "admin" and _other_active_admins(cur, key_id) == 0:
            raise LastAdmin("the last active admin key cannot be revoked: create another first")
        row = cur.execute(
            f"UPDATE api_keys SET revoked_at = now() WHERE id = %s RETURNING {_COLUMNS}",
            (key_id,),
        ).fetchone()
        assert row is not None
        revoked = KeyRow(*row)
        record(revoked)
        return revoked, True

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return notices.publish(
            conn, notices.API_KEY_REVOKED, change, lambda result: str(result[0].id)
        )


def _other_active_admins(cur: psycopg.Cursor[Any], key_id: uuid.UUID) -> int:
    row = cur.execute(
        "SELECT count(*) FROM api_keys WHERE role = 'admin' AND id <> %s "
        "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        (key_id,),
    ).fetchone()
    return int(row[0]) if row else 0
