"""The "audit" projection: tamper evidence and a time index of partner versions.

It keeps a chain hash over the stored events in notification order,
`h_n = SHA-256(h_{n-1} || stored(n))` with `h_0` 32 zero bytes, one row per notification
(`audit_chain(position, hash)`), so that `partnerbook audit verify` can recompute the
chain from the event table and name the first notification whose stored bytes changed.
`stored(n)` is canonical (see `stored_bytes`). It also keeps `partner_versions(partner_id,
version, occurred_at)`, which maps an instant to a partner's version for `partnerAsOf`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.projections.tables import ReadModelView

GENESIS = bytes(32)
PARTNER_TOPIC = "app.domain.partner:Partner."


def stored_bytes(
    notification_id: int, originator_id: UUID | str, version: int, topic: str, state: bytes
) -> bytes:
    """The canonical bytes of one stored event: notification id (8 bytes, big-endian),
    originator id (16 bytes), originator version (8 bytes), topic (4-byte length + UTF-8),
    state (4-byte length + the stored bytes, exactly as in the event table)."""
    uid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    topic_bytes = topic.encode()
    return b"".join(
        (
            struct.pack(">q", notification_id),
            uid.bytes,
            struct.pack(">q", version),
            struct.pack(">I", len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            bytes(state),
        )
    )


def link(previous: bytes, stored: bytes) -> bytes:
    return hashlib.sha256(previous + stored).digest()


class AuditView(ReadModelView):
    """The audit tables with their tracking table; `prefix` names a second set (rebuild)."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "audit_tracking",
        prefix: str = "",
    ) -> None:
        super().__init__(datastore, tracking_table_name=prefix + tracking_table_name)
        schema = datastore.schema
        self.prefix = prefix
        self.chain_name = f"{prefix}audit_chain"
        self.versions_name = f"{prefix}partner_versions"
        self.chain = Identifier(schema, self.chain_name)
        self.versions = Identifier(schema, self.versions_name)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (position bigint PRIMARY KEY, hash bytea NOT NULL)"
            ).format(t=self.chain),
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (partner_id uuid NOT NULL, version int NOT NULL, "
                "occurred_at timestamptz NOT NULL, PRIMARY KEY (partner_id, version))"
            ).format(t=self.versions),
        ]
        # Only `partnerAsOf` reads it: a rebuild makes it last (as RegistryView does).
        self.query_index_statements = [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, occurred_at)").format(
                Identifier(f"{self.versions_name}_at"), t=self.versions
            ),
        ]
        self._head = SQL("SELECT hash FROM {t} ORDER BY position DESC LIMIT 1").format(t=self.chain)
        self._insert_chain = SQL("INSERT INTO {t} (position, hash) VALUES (%s, %s)").format(
            t=self.chain
        )
        self._insert_version = SQL(
            "INSERT INTO {t} (partner_id, version, occurred_at) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING"
        ).format(t=self.versions)

    @property
    def table_names(self) -> list[str]:
        return [self.chain_name, self.versions_name]

    def create_statements(self) -> list[Composed]:
        return []

    def apply_notifications(
        self, curs: Cursor[DictRow], notifications: Sequence[Notification], mapper: Mapper[Any]
    ) -> None:
        """Extends the chain by these notifications (in order) and indexes partner versions."""
        row = curs.execute(self._head).fetchone()
        previous = bytes(row["hash"]) if row else GENESIS
        links = []
        versions = []
        for n in notifications:
            previous = link(
                previous,
                stored_bytes(n.id, n.originator_id, n.originator_version, n.topic, n.state),
            )
            links.append((n.id, previous))
            if n.topic.startswith(PARTNER_TOPIC):
                event = mapper.to_domain_event(n)
                occurred = event.timestamp  # type: ignore[attr-defined]
                versions.append((n.originator_id, n.originator_version, occurred))
        curs.executemany(self._insert_chain, links)
        if versions:
            curs.executemany(self._insert_version, versions)


# -- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    position: int
    """The last verified position (the audit head when ok)."""
    chain_hash: bytes
    broken_at: int | None = None
    problem: str = ""
    unprojected: int = 0
    """Events after the audit projection's position (not yet covered by the chain)."""


def _events(
    conn: psycopg.Connection[Any], table: str, batch: int
) -> Generator[tuple[Any, ...], None, None]:
    with conn.cursor(name="audit_verify_events") as cur:
        cur.itersize = batch
        cur.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {} ORDER BY notification_id"
            ).format(Identifier(table))
        )
        yield from cur


def _chain(conn: psycopg.Connection[Any], batch: int) -> Iterator[tuple[int, bytes]]:
    with conn.cursor(name="audit_verify_chain") as cur:
        cur.itersize = batch
        cur.execute("SELECT position, hash FROM audit_chain ORDER BY position")
        for position, digest in cur:
            yield int(position), bytes(digest)


def verify(conninfo: str, events_table: str = "partnerbook_events", batch: int = 5000) -> Verdict:
    """Recomputes the chain from the event table and compares it with the recorded one,
    link by link. The first difference names a notification: its stored bytes changed, it
    was removed, or one was inserted before it."""
    with (
        psycopg.connect(conninfo) as events_conn,
        psycopg.connect(conninfo) as chain_conn,
    ):
        # Read first: the chain read after it holds at least the rows it counts (they
        # commit with it); read after, it could count rows chained meanwhile.
        chained = _chained_upto(chain_conn)
        previous = GENESIS
        position = 0
        events = _events(events_conn, events_table, batch)
        for recorded_position, recorded in _chain(chain_conn, batch):
            event = next(events, None)
            if event is None:
                return Verdict(False, position, previous, recorded_position, "the event is missing")
            nid = int(event[0])
            if nid != recorded_position:
                at = min(nid, recorded_position)
                what = "the event is missing" if nid > recorded_position else "unexpected event"
                return Verdict(False, position, previous, at, what)
            digest = link(previous, stored_bytes(nid, event[1], int(event[2]), event[3], event[4]))
            if digest != recorded:
                return Verdict(False, position, previous, nid, _CHANGED)
            previous, position = digest, nid
        if chained > position:  # the projection chained them: their rows were removed
            after = next(events, None)
            at = int(after[0]) if after is not None else chained
            return Verdict(False, position, previous, at, _ENDS_EARLY % chained)
        unprojected = sum(1 for _ in events)
        return Verdict(True, position, previous, unprojected=unprojected)


_CHANGED = (
    "its stored bytes do not match the chain (it was changed, or an event before it was "
    "removed with its chain row)"
)
_ENDS_EARLY = "the chain ends here, but the audit projection had chained up to notification %d"


def _chained_upto(conn: psycopg.Connection[Any]) -> int:
    """How far the audit projection says it chained (its tracking record)."""
    try:
        row = conn.execute("SELECT max(notification_id) FROM audit_tracking").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


# -- noted heads -------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadCheck:
    """The event table recomputed against heads noted earlier (position -> chain hash)."""

    ok: bool
    checked: int
    """How many noted heads still match (all of them when ok)."""
    differs_at: int | None = None
    """The first noted position whose recomputed hash differs."""
    matches_up_to: int = 0
    """The last noted position before it that still matches (0: none)."""
    found: bytes = b""
    """What the log up to `differs_at` hashes to now (empty: the log ends before it)."""
    last_position: int = 0
    """The last notification read from the event table."""


def check_heads(
    conninfo: str,
    expected: dict[int, bytes],
    events_table: str = "partnerbook_events",
    batch: int = 5000,
) -> HeadCheck:
    """Recomputes the chain from the event table alone (not from `audit_chain`, which whoever
    rewrote an event could have rewritten too) and compares it with each noted head: the
    hash over every event up to and including that notification id."""
    pending = sorted(expected)
    previous, last, matched = GENESIS, 0, 0
    with psycopg.connect(conninfo) as conn, closing(_events(conn, events_table, batch)) as events:
        for event in events:
            nid = int(event[0])
            while pending and pending[0] < nid:  # `previous` covers every event up to it
                if previous != expected[pending[0]]:
                    return HeadCheck(
                        False, len(expected) - len(pending), pending[0], matched, previous, last
                    )
                matched = pending.pop(0)
            if not pending:
                break
            previous = link(
                previous, stored_bytes(nid, event[1], int(event[2]), event[3], event[4])
            )
            last = nid
    while pending:  # noted at or after the last event
        position, checked = pending[0], len(expected) - len(pending)
        if position > last:
            return HeadCheck(False, checked, position, matched, b"", last)
        if previous != expected[position]:
            return HeadCheck(False, checked, position, matched, previous, last)
        matched = pending.pop(0)
    return HeadCheck(True, len(expected), matches_up_to=matched, last_position=last)


# -- export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainedEvent:
    """One stored event as the event table holds it, with the chain hash before and after it
    as `audit_chain` records them."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes
    previous: bytes
    chain: bytes


_EXPORT = (
    "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
    "coalesce((SELECT p.hash FROM audit_chain p WHERE p.position < e.notification_id "
    "ORDER BY p.position DESC LIMIT 1), %(genesis)s), c.hash "
    "FROM {events} e JOIN audit_chain c ON c.position = e.notification_id "
    "WHERE %(partner)s::uuid IS NULL OR e.originator_id = %(partner)s "
    "ORDER BY e.notification_id"
)


def chained_events(
    conninfo: str,
    partner_id: UUID | None = None,
    events_table: str = "partnerbook_events",
    batch: int = 2000,
) -> Iterator[ChainedEvent]:
    """The chained events in notification order (one partner's: those it originated), read
    with a server-side cursor. Events the audit projection has not chained yet are left out."""
    with psycopg.connect(conninfo) as conn, conn.cursor(name="audit_export") as cur:
        cur.itersize = batch
        cur.execute(
            SQL(_EXPORT).format(events=Identifier(events_table)),
            {"genesis": GENESIS, "partner": partner_id},
        )
        for nid, originator, version, topic, state, previous, chain in cur:
            yield ChainedEvent(
                int(nid),
                originator if isinstance(originator, UUID) else UUID(str(originator)),
                int(version),
                topic,
                bytes(state),
                bytes(previous),
                bytes(chain),
            )
