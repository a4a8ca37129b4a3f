"""Loading many aggregates at once: their events read in one query (keys for decryption in
one more), instead of two queries for each (`repository.get`). For a bulk edit of 10,000
partners that is ~20,000 round trips fewer.

What it folds is what `repository.get` folds (`project_aggregate`'s fold over the events, in
version order, through the application's mapper); an aggregate that has a snapshot is
loaded by `repository.get` (rare for the few-event partners a bulk edit touches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

_EVENTS = SQL(
    "SELECT originator_id, originator_version, topic, state FROM {s}.{t} "
    "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
)
_SNAPSHOTTED = SQL("SELECT DISTINCT originator_id FROM {s}.{t} WHERE originator_id = ANY(%s)")


def load_many(app: Application[UUID], ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
    """The current state of each aggregate found (ids with no events are left out)."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return _one_by_one(app, ids)
    datastore = recorder.datastore
    schema = Identifier(datastore.schema or "public")
    wanted = list(dict.fromkeys(ids))
    snapshotted: set[UUID] = set()
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        snapshots = app.snapshots
        if snapshots is not None and isinstance(snapshots.recorder, PostgresAggregateRecorder):
            table = Identifier(snapshots.recorder.events_table_name)
            cur.execute(_SNAPSHOTTED.format(s=schema, t=table), (wanted,))
            snapshotted = {row[0] for row in cur.fetchall()}
        rest = [i for i in wanted if i not in snapshotted]
        table = Identifier(recorder.events_table_name)
        cur.execute(_EVENTS.format(s=schema, t=table), (rest,))
        rows = cur.fetchall()
    stored = [StoredEvent(r[0], r[1], r[2], bytes(r[3])) for r in rows]
    prefetch = getattr(app.mapper, "prefetch", None)
    if prefetch is not None:
        prefetch(stored)  # the data keys of all of them in one query
    by_id: dict[Any, list[Any]] = {}
    for event in stored:
        by_id.setdefault(event.originator_id, []).append(app.mapper.to_domain_event(event))
    found: dict[UUID, Aggregate] = {}
    for aggregate_id, events in by_id.items():
        # `project_aggregate` without its assertion against a runtime-checkable protocol
        # (~10 % of the time of a bulk edit): the mapper made these events.
        aggregate = None
        for event in events:
            aggregate = event.mutate(aggregate)
        if aggregate is not None:
            found[aggregate_id] = aggregate
    found.update(_one_by_one(app, list(snapshotted)))
    return found


def _one_by_one(app: Application[UUID], ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
    found: dict[UUID, Aggregate] = {}
    for aggregate_id in ids:
        try:
            found[aggregate_id] = app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            continue
    return found
