"""The event store's recorder, with a cheaper way of sending a batch of events.

eventsourcing's PostgreSQL recorder sends a batch as one array of a composite type,
which psycopg writes as text in Python, escaping every byte of every event's state:
about a third of the CPU of saving 400 new partners. This one sends four arrays (ids,
versions, topics, states) in binary (a state goes as it is), and unnests them side by
side: the same rows, in the same order, in the same statement of the same transaction
(table lock, NOTIFY, INSERT ... RETURNING notification_id), so the notification ids are
given out as before.

Also: how a write whose commit was not confirmed is recognised as ours (`recorded_earlier`),
and which aggregates of some kinds were written after a position (`originators_after`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import (
    ApplicationRecorder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from app.infra import schema_marks


class ArrayRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=Identifier(datastore.originator_id_type),
        )

    def create_table(self) -> None:
        """The event store's tables, functions and types, unless they are as these
        statements make them (app/infra/schema_marks.py)."""
        schema_marks.create_once(
            self.datastore,
            self.events_table_name,
            self.sql_create_statements,
            [self.events_table_name],
            super().create_table,
        )

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_arrays_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    def originators_after(
        self, position: int, topic_prefixes: Sequence[str]
    ) -> tuple[list[UUID], int]:
        """The aggregates with an event after `position` whose topic begins with one of
        `topic_prefixes`, and the last position then (one snapshot: the table lock makes
        positions committed in their order, so every event up to it is counted)."""
        statement = SQL(
            "SELECT (SELECT coalesce(max(notification_id), 0) FROM {t}) AS head, "
            "ARRAY(SELECT DISTINCT originator_id FROM {t} WHERE notification_id > %s "
            "AND EXISTS (SELECT FROM unnest(%s::text[]) p WHERE starts_with(topic, p))) AS found"
        ).format(t=Identifier(self.datastore.schema, self.events_table_name))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (position, list(topic_prefixes)))
            row = curs.fetchone()
        assert row is not None
        return list(row["found"]), int(row["head"])


def recorded_earlier(
    recorder: ApplicationRecorder, mapper: Mapper[Any], events: ProcessingEvent[Any]
) -> list[Recording[Any]] | None:
    """The recordings of `events` when they are already stored, or None.

    eventsourcing retries an insert whose connection broke (10 times); when the break
    came after the commit, the retry is refused as a duplicate although the events
    are ours. They are ours when every stored event at their (id, version) is of the
    same type with the same timestamp (taken in this process, to the microsecond)."""
    if not events.events or not isinstance(recorder, PostgresApplicationRecorder):
        return None
    statement = SQL(
        "SELECT notification_id, topic, state FROM {} "
        "WHERE originator_id = %s AND originator_version = %s"
    ).format(Identifier(recorder.events_table_name))
    recordings: list[Recording[Any]] = []
    with recorder.datastore.transaction(commit=False) as curs:
        for event in events.events:
            ident, version = event.originator_id, event.originator_version
            curs.execute(statement, (ident, version))
            row = curs.fetchone()
            if row is None:
                return None
            notification = Notification(
                id=row["notification_id"],
                originator_id=ident,
                originator_version=version,
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            stored = mapper.to_domain_event(notification)
            when = getattr(stored, "timestamp", None)
            if type(stored) is not type(event) or when is None:
                return None
            if when != getattr(event, "timestamp", None):
                return None
            recordings.append(Recording(event, notification))
    return recordings
