"""The `webhook_secrets` table: the signing secrets of webhook endpoints, sealed with
AES-GCM under an installation secret (app/infra/shredding/secret.py). A rotation keeps
the previous secret until its grace period ends (both sign meanwhile); deleting an
endpoint deletes its secrets. Secrets are never logged: they leave only in the answer of
the mutation that made them, and as signatures."""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import AsyncConnectionPool

from app.infra import schema_marks

SECRET_BYTES = 32
NONCE_BYTES = 12
PREFIX = "whsec_"
"""The Standard Webhooks spelling of a secret: `whsec_` + base64 of its bytes."""

_CREATE = (
    "CREATE TABLE IF NOT EXISTS webhook_secrets (endpoint_id uuid NOT NULL, "
    "sealed bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
    "retire_at timestamptz)"
)
_INDEX = "CREATE INDEX IF NOT EXISTS webhook_secrets_endpoint ON webhook_secrets (endpoint_id)"


def ensure_table(conninfo: str) -> None:
    """The table and its index, unless they are there as made (app/infra/schema_marks.py:
    CREATE INDEX locks the table even when the index exists)."""
    schema_marks.ensure(conninfo, "webhook_secrets", (_CREATE, _INDEX), ["webhook_secrets"])


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


KEPT_SECRETS = 2
"""Secrets before the newest that still sign, within their grace: a rotation drops the
older ones at once (60 rotations in a row left 61 signing, 61 HMACs a delivery)."""


class SecretStore:
    """Seals and opens endpoint secrets; `key` is the installation's 32-byte secret."""

    def __init__(self, pool: AsyncConnectionPool[Any], key: bytes) -> None:
        self.pool = pool
        self._aead = AESGCM(key)

    def _seal(self, endpoint_id: UUID, secret: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), endpoint_id.bytes)

    def _open(self, endpoint_id: UUID, sealed: bytes) -> str:
        raw = bytes(sealed)
        return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], endpoint_id.bytes).decode()

    async def add(self, endpoint_id: UUID, secret: str, grace_seconds: int) -> None:
        """`secret` signs from now on; the `KEPT_SECRETS` before it for `grace_seconds`
        more, older ones no more."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE webhook_secrets SET retire_at = clock_timestamp() + make_interval("
                "secs => %s) WHERE endpoint_id = %s AND (retire_at IS NULL OR retire_at > "
                "clock_timestamp() + make_interval(secs => %s))",
                (grace_seconds, endpoint_id, grace_seconds),
            )
            await conn.execute(
                "DELETE FROM webhook_secrets WHERE endpoint_id = %s "
                "AND retire_at <= clock_timestamp()",
                (endpoint_id,),
            )
            await conn.execute(
                "INSERT INTO webhook_secrets (endpoint_id, sealed) VALUES (%s, %s)",
                (endpoint_id, self._seal(endpoint_id, secret)),
            )
            await conn.execute(
                "DELETE FROM webhook_secrets WHERE endpoint_id = %s AND created_at < ("
                "SELECT created_at FROM webhook_secrets WHERE endpoint_id = %s "
                "ORDER BY created_at DESC OFFSET %s LIMIT 1)",
                (endpoint_id, endpoint_id, KEPT_SECRETS),
            )

    async def signing(self, endpoint_id: UUID) -> list[str]:
        """The secrets that sign now, newest first."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT sealed FROM webhook_secrets WHERE endpoint_id = %s AND "
                "(retire_at IS NULL OR retire_at > clock_timestamp()) ORDER BY created_at DESC",
                (endpoint_id,),
            )
            rows = await cur.fetchall()
        return [self._open(endpoint_id, row[0]) for row in rows]

    async def delete(self, endpoint_id: UUID) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM webhook_secrets WHERE endpoint_id = %s", (endpoint_id,))
