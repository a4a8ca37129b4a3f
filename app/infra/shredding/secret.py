"""The `installation_secrets` table: random secrets made once per installation (e.g.
the key of the idempotency digests), kept in the database every process shares."""

from __future__ import annotations

import os

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

SECRET_BYTES = 32


def installation_secret(datastore: PostgresDatastore, name: str) -> bytes:
    """The secret called `name`, made on first use; every process gets the same one."""
    t = Identifier(datastore.schema, "installation_secrets")
    with datastore.transaction(commit=True) as curs:
        # Processes starting together would race on CREATE TABLE IF NOT EXISTS.
        curs.execute("SELECT pg_advisory_xact_lock(hashtext('partnerbook:installation_secrets'))")
        curs.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (name text PRIMARY KEY, secret bytea NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            ).format(t=t)
        )
        curs.execute(
            SQL("INSERT INTO {t} (name, secret) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                t=t
            ),
            (name, os.urandom(SECRET_BYTES)),
        )
        curs.execute(SQL("SELECT secret FROM {t} WHERE name = %s").format(t=t), (name,))
        row = curs.fetchone()
    assert row is not None
    return bytes(row["secret"])
