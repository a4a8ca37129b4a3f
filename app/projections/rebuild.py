"""`partnerbook projections rebuild`: the whole log replayed into fresh tables next to
the live ones, then swapped in while the live projector is between batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from app.application import Partnerbook
from app.infra.database import Database
from app.projections.projector import (
    AnyProjection,
    Projector,
    construct_projection,
    swap_lock_key,
)

REBUILD_PREFIX = "rebuild_"


def _live_names(projection: AnyProjection) -> list[str]:
    view = projection.view
    return [*view.table_names, view.tracking_table_name]


def rebuild(
    app: Partnerbook,
    db: Database,
    env: dict[str, str],
    name: str,
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Replays the whole log into fresh tables (`rebuild_*`) next to the live ones, then
    swaps them in: holding the swap lock (so the live projector is between batches), it
    catches the fresh tables up with the last events and, in one transaction, drops the
    live tables and renames the fresh ones (tables, their indexes, the tracking table)
    into their place. Readers see the old tables until the commit, the new ones after.
    Returns how many events the rebuild applied."""
    fresh = construct_projection(env, name, prefix=REBUILD_PREFIX)
    try:
        fresh.view.drop_tables()  # leftovers of an interrupted rebuild
        # The indexes only queries use are built once the tables are filled: keeping
        # them up row by row took half the time of a rebuild (docs/performance.md).
        fresh.view.create_table(query_indexes=False)
        builder = Projector(app, fresh, db, batch_size=batch_size, swap_lock=False)
        done = builder.catch_up(progress)
        fresh.view.create_query_indexes()
        with psycopg.connect(db.conninfo()) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (swap_lock_key(name),))
            done += builder.catch_up(progress)
            _swap(conn, fresh, REBUILD_PREFIX)
            conn.commit()
        return done
    finally:
        fresh.view.datastore.close()


def _swap(conn: psycopg.Connection[Any], fresh: AnyProjection, prefix: str) -> None:
    schema = fresh.view.datastore.schema
    for fresh_name in _live_names(fresh):
        live = fresh_name.removeprefix(prefix)
        conn.execute(SQL("DROP TABLE IF EXISTS {}").format(Identifier(schema, live)))
    for fresh_name in _live_names(fresh):
        live = fresh_name.removeprefix(prefix)
        # Indexes (primary keys included) carry the prefix too: rename them with the
        # table, so that the next rebuild can create its own.
        indexes = conn.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE t.relname = %s AND n.nspname = %s",
            (fresh_name, schema),
        ).fetchall()
        conn.execute(
            SQL("ALTER TABLE {} RENAME TO {}").format(
                Identifier(schema, fresh_name), Identifier(live)
            )
        )
        for (index,) in indexes:
            if index.startswith(prefix):
                conn.execute(
                    SQL("ALTER INDEX {} RENAME TO {}").format(
                        Identifier(schema, index), Identifier(index.removeprefix(prefix))
                    )
                )
