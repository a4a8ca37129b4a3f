"""What history is read from besides the chained events, checked against them.

The chain covers the event table. History and as-of also read two things it does not
cover: the **snapshots** (a partner loaded at a version starts from its latest snapshot
at or before it, so a snapshot edited in place changes what `partnerHistory`,
`partnerAsOf` and every command see), and **`partner_versions`** (an instant to a
version, for `partnerAsOf(at:)`). `partnerbook audit verify` checks both here: each
snapshot against the replay of its aggregate's events up to its version, and
`partner_versions` against the partner events the audit projection has chained, row for
row (the time each version was recorded is the event's own timestamp)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, Notification, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from app.infra.shredding.mapper import ShreddingMapper
from app.projections.audit import PARTNER_TOPIC


@dataclass(frozen=True)
class ReplayCheck:
    ok: bool
    snapshots: int
    """How many snapshots were checked."""
    versions: int
    """How many `partner_versions` rows were checked."""
    problem: str = ""
    """The first disagreement, e.g. `snapshot of <id> at version 2: …`."""


def check(
    app: Application[Any], conninfo: str, events_table: str = "partnerbook_events"
) -> ReplayCheck:
    """The first snapshot or `partner_versions` row that disagrees with the events."""
    snapshots, problem = _check_snapshots(app, conninfo)
    if problem:
        return ReplayCheck(False, snapshots, 0, problem)
    versions, problem = _check_versions(app, conninfo, events_table)
    return ReplayCheck(not problem, snapshots, versions, problem)


# -- snapshots ---------------------------------------------------------------------------


def _differences(restored: Any, replayed: Any) -> list[str]:
    """The attributes whose values differ, read as the application reads them (an
    attribute a snapshot of an older release lacks falls back to the class's default)."""
    names = {*vars(restored), *vars(replayed)} - {"_pending_events"}
    return sorted(n for n in names if getattr(restored, n, None) != getattr(replayed, n, None))


def _snapshot_rows(conninfo: str, table: str) -> Iterator[StoredEvent]:
    with psycopg.connect(conninfo) as conn, conn.cursor(name="audit_snapshots") as cur:
        cur.itersize = 500
        cur.execute(
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {} "
                "ORDER BY originator_id, originator_version"
            ).format(Identifier(table))
        )
        for originator, version, topic, state in cur:
            yield StoredEvent(originator, int(version), topic or "", bytes(state or b""))


def _check_snapshots(app: Application[Any], conninfo: str) -> tuple[int, str]:
    store = app.snapshots
    if store is None or not isinstance(store.recorder, PostgresAggregateRecorder):
        return 0, ""
    count = 0
    pending: list[StoredEvent] = []
    for row in _snapshot_rows(conninfo, store.recorder.events_table_name):
        if pending and pending[0].originator_id != row.originator_id:
            problem = _check_aggregate(app, pending)
            if problem:
                return count, problem
            count += len(pending)
            pending = []
        pending.append(row)
    problem = _check_aggregate(app, pending) if pending else ""
    return count + (0 if problem else len(pending)), problem


def _check_aggregate(app: Application[Any], snapshots: list[StoredEvent]) -> str:
    """Replays the aggregate's events once, comparing its state at each snapshot's version
    with the state the snapshot restores."""
    assert app.snapshots is not None
    ident = snapshots[0].originator_id
    events = iter(app.events.get(ident, lte=snapshots[-1].originator_version))
    aggregate: Any = None
    for stored in snapshots:
        where = f"snapshot of {ident} at version {stored.originator_version}"
        try:
            restored = app.snapshots.mapper.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
        except Exception as error:  # any failure to load it is the finding
            return f"{where}: it does not load ({error.__class__.__name__})"
        while aggregate is None or aggregate.version < stored.originator_version:
            event = next(events, None)
            if event is None:
                reached = 0 if aggregate is None else aggregate.version
                return f"{where}: the events end at version {reached}"
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        if not isinstance(restored, Aggregate) or type(restored) is not type(aggregate):
            return f"{where}: it restores a {type(restored).__name__}, not a {type(aggregate).__name__}"
        fields = _differences(restored, aggregate)
        if fields:
            return f"{where}: it differs from the replay of its events ({', '.join(fields)})"
    return ""


# -- partner_versions --------------------------------------------------------------------

_VERSIONS = (
    "SELECT coalesce(e.originator_id, v.partner_id), coalesce(e.originator_version, v.version), "
    "e.notification_id, e.topic, e.state, v.occurred_at "
    "FROM (SELECT notification_id, originator_id, originator_version, topic, state FROM {events} "
    "      WHERE notification_id <= %(upto)s AND topic LIKE %(partner)s) e "
    "FULL JOIN partner_versions v "
    "ON v.partner_id = e.originator_id AND v.version = e.originator_version "
    "ORDER BY 1, 2"
)


def _check_versions(app: Application[Any], conninfo: str, events_table: str) -> tuple[int, str]:
    """`partner_versions` as the audit projection wrote it up to its tracking position, in
    one snapshot of the database (the projection commits both in one transaction)."""
    count = 0
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            row = conn.execute("SELECT max(notification_id) FROM audit_tracking").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0, ""
        upto = int(row[0]) if row and row[0] is not None else 0
        statement = SQL(_VERSIONS).format(events=Identifier(events_table))
        with conn.cursor(name="audit_versions") as cur:
            cur.itersize = 2000
            cur.execute(statement, {"upto": upto, "partner": PARTNER_TOPIC + "%"})
            for partner, version, nid, topic, state, occurred in cur:
                where = f"partner_versions: partner {partner} version {version}"
                if nid is None:
                    return count, f"{where}: no chained event of the partner has that version"
                if occurred is None:
                    return count, f"{where}: missing (notification {nid} recorded it)"
                stored = Notification(
                    id=int(nid),
                    originator_id=partner,
                    originator_version=int(version),
                    topic=topic,
                    state=bytes(state),
                )
                try:
                    timestamp = _timestamp(app.mapper, stored)
                except Exception as error:  # reported, not raised
                    return count, f"{where}: notification {nid} does not load ({error!r})"
                if occurred != timestamp:
                    return count, (
                        f"{where}: at {occurred.isoformat()}, but notification {nid} "
                        f"recorded it at {timestamp.isoformat()}"
                    )
                count += 1
    return count, ""


def _timestamp(mapper: Mapper[Any], stored: Notification) -> datetime:
    """The event's timestamp, as the audit projection read it. The shredding mapper stores
    the state as its transcoder encodes it (only personal fields sealed): decoding that
    alone spares decrypting them."""
    if isinstance(mapper, ShreddingMapper):
        when = mapper.transcoder.decode(stored.state)["timestamp"]
    else:
        when = mapper.to_domain_event(stored).timestamp  # type: ignore[attr-defined]
    if not isinstance(when, datetime):
        raise TypeError(f"its timestamp is {when!r}")
    return when
