"""Keeps the read models up to date: reads the notification log in batches and applies
each batch with its tracking record in one transaction (exactly once), then announces
its new position with NOTIFY so that waiting mutations wake at once."""

from __future__ import annotations

import logging
import select
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import InfrastructureFactory, Notification, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from app.application import Partnerbook
from app.domain.messages import Message
from app.domain.text import storable
from app.infra.database import Database
from app.infra.positions import PROJECTED_CHANNEL
from app.projections import stuck
from app.projections.applying import AnyProjection as AnyProjection
from app.projections.applying import AuditProjection as AuditProjection
from app.projections.applying import RegistryProjection as RegistryProjection
from app.projections.audit import AuditView
from app.projections.read_ahead import Batch, ReadAhead
from app.projections.registry import RegistryView
from app.projections.storable_text import write_storable_text

log = logging.getLogger(__name__)
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0
"""Backoff while the database is away: 0.5 s, doubling up to 5 s."""
STUCK_RETRY = 5.0
"""Seconds between two tries of an event a projection could not apply."""
NEWS_WAIT = 5.0
"""Without a NOTIFY, a waiting projector looks for new events after this long anyway."""
STOP_SEEN_WITHIN = 1.0
"""The longest a waiting projector sleeps before it looks at its stop request (the
server's shutdown also wakes it at once, `wake_projectors`)."""
TRANSIENT_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)
"""The database's failures (connection lost, restarted, cancelled): the batch is tried
again as it is once the projector has reconnected; no event is to blame."""


class EventNotApplied(Exception):
    """An event of the log the projection cannot apply, even with its text made storable."""

    def __init__(self, name: str, position: int, topic: str, error: BaseException) -> None:
        detail = storable(f"{type(error).__name__}: {error}".strip())
        self.at = stuck.StuckAt(name, position, storable(topic), detail)
        super().__init__(self.at.describe())


@dataclass
class _Care:
    """Up to which positions a catch-up applies with care after a failed batch."""

    careful_until: int = 0
    """Text made storable (app/projections/storable_text.py)."""
    one_by_one_until: int = 0
    """One event a transaction."""


class _BatchFailed(Exception):
    def __init__(self, read: Sequence[Notification], error: Exception) -> None:
        super().__init__(str(error))
        self.read, self.error = read, error


ViewT = TypeVar("ViewT", RegistryView, AuditView)


def construct_view(env: dict[str, str], *, prefix: str = "") -> RegistryView:
    """The registry view on its own small connection pool; tables created if missing."""
    return _construct(RegistryProjection.name, RegistryView, env, prefix)


def construct_audit_view(env: dict[str, str], *, prefix: str = "") -> AuditView:
    """The audit view on its own small connection pool; tables created if missing."""
    return _construct(AuditProjection.name, AuditView, env, prefix)


def _construct(name: str, view_class: type[ViewT], env: dict[str, str], prefix: str) -> ViewT:
    factory = InfrastructureFactory.construct(Environment(name, env))
    assert isinstance(factory, PostgresFactory)
    view = view_class(factory.datastore, prefix=prefix)
    view.create_table()
    _ensure_stuck_table(factory.datastore)
    return view


def _ensure_stuck_table(datastore: PostgresDatastore) -> None:
    with datastore.transaction(commit=True) as curs:
        stuck.ensure_table(curs.connection)


def construct_projection(env: dict[str, str], name: str, *, prefix: str = "") -> AnyProjection:
    """A projection by name ("registry" or "audit") over its (prefixed) tables."""
    if name == RegistryProjection.name:
        return RegistryProjection(construct_view(env, prefix=prefix))
    if name == AuditProjection.name:
        return AuditProjection(construct_audit_view(env, prefix=prefix))
    raise ValueError(
        Message(
            "no projection named %(name)r; known: %(value)s",
            name=name,
            value=", ".join(PROJECTION_NAMES),
        )
    )


PROJECTION_NAMES = (RegistryProjection.name, AuditProjection.name)


def swap_lock_key(name: str) -> int:
    """The advisory lock a projector holds (shared) for each batch, and a rebuild holds
    (exclusive) while it swaps its tables in: batches and the swap never overlap."""
    return zlib.crc32(f"partnerbook:swap:{name}".encode())


async def wake_projectors(conn: psycopg.AsyncConnection[Any], app: Partnerbook) -> None:
    """Wakes the projectors of `app`'s log waiting for news (`Projector._wait_for_news`),
    e.g. so that they see a stop request at once; an active one catches up, finding
    nothing new."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    await conn.execute(SQL("NOTIFY {}").format(Identifier(recorder.channel_name)))


def wait_readable(fd: int, seconds: float) -> None:
    """Until `fd` has something to read (or has ended), or `seconds` pass: `poll`, which
    takes a descriptor of any number (`select` refuses those over 1023, which a busy
    server's connections reach)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll(seconds * 1000)


class Projector:
    """Runs one projection for one application, as the only writer of its tables.

    `run()` takes a PostgreSQL advisory lock first: in a deployment of many processes one
    projects and the others stand by, taking over when it goes away."""

    def __init__(
        self,
        app: Partnerbook,
        projection: AnyProjection,
        db: Database,
        *,
        batch_size: int = 500,
        swap_lock: bool = True,
    ) -> None:
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        self.lock_key = zlib.crc32(f"partnerbook:projector:{projection.name}".encode())
        self.is_active = threading.Event()
        self.swap_lock = swap_lock
        self.swap_key = swap_lock_key(projection.name)
        self.stuck: stuck.StuckAt | None = None
        """The event it could not apply when it last tried (None: it is not stuck)."""
        projection.app_name = app.name

    @property
    def position(self) -> int:
        return self.projection.view.max_tracking_id(self.app.name) or 0

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Applies every notification written before it last read the log; returns how
        many it applied.
        Each batch is one transaction that first takes the swap lock (shared) and reads
        the position from the tracking table, so a rebuild swapping the tables in between
        two batches is simply continued from.

        Totality: a batch that fails (not for the database's sake) is tried again with
        its text made storable (app/projections/storable_text.py), then event by event;
        the events before the one that still fails are applied, and that one raises
        `EventNotApplied` (position, topic, error)."""
        done = 0
        care = _Care()
        ahead = ReadAhead(self._read_batch)
        try:
            while True:
                try:
                    read, limit = self._apply_next(ahead, care)
                except _BatchFailed as failed:
                    done += self._after_failure(failed.read, failed.error, care)
                    continue
                if not read:
                    return done
                done += len(read)
                if progress is not None:
                    progress(len(read))
                if len(read) < limit:
                    # The log held no more when this batch was read: asking again would
                    # cost a transaction for nothing (events written since send a NOTIFY).
                    return done
        finally:
            ahead.close()

    def _apply_next(self, ahead: ReadAhead, care: _Care) -> tuple[Sequence[Notification], int]:
        """One batch in one transaction: the notifications it applied (none: the log
        held no more) and how many it asked for."""
        view = self.projection.view
        read: Sequence[Notification] = ()
        try:
            with view.datastore.transaction(commit=True) as curs:
                if self.swap_lock:
                    curs.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self.swap_key,))
                curs.execute(view.max_tracking_id_statement, (self.app.name,))
                row = curs.fetchone()
                position = (row["max"] if row else None) or 0
                limit = 1 if position < care.one_by_one_until else self.batch_size
                batch = ahead.take(position) if limit == self.batch_size else None
                if batch is None:
                    batch = self._read_batch(position, limit, decode=False)
                read = batch.notifications
                if not read:
                    return read, limit
                if len(read) == self.batch_size:  # more may follow: read them meanwhile
                    ahead.prepare(read[-1].id)
                if position < care.careful_until:
                    write_storable_text(curs)
                self.projection.process_in(curs, read, self.app.mapper, batch.events)
            return read, limit
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            if not read:
                raise  # before any event was read: not an event's doing
            raise _BatchFailed(read, error) from error

    def _after_failure(self, read: Sequence[Notification], error: Exception, care: _Care) -> int:
        """After a batch failed: tries it again with its text made storable, then event by
        event; an event that still fails is passed over if an operator skipped it (1:
        counted as done), else raises `EventNotApplied`."""
        last = read[-1].id
        if care.careful_until < last:
            care.careful_until = last
        elif len(read) > 1:
            care.one_by_one_until = last
        elif self._pass_over_if_skipped(read[0]):
            return 1
        else:
            raise EventNotApplied(self.projection.name, read[0].id, read[0].topic, error) from error
        return 0

    def _read_batch(self, position: int, limit: int = 0, *, decode: bool = True) -> Batch:
        """The notifications after `position` (`limit`, or a batch), their keys loaded,
        decoded when `decode` and the projection takes events."""
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        read = recorder.select_notifications(
            start=position, limit=limit or self.batch_size, inclusive_of_start=False
        )
        if read:
            self.app.prefetch_keys(read)
        if not (decode and isinstance(self.projection, RegistryProjection)):
            return Batch(read, None)
        return Batch(read, [self.app.mapper.to_domain_event(n) for n in read])

    def catch_up_unless_running(self) -> bool:
        """`catch_up` when no other process runs this projector (holds its lock), holding
        the lock meanwhile; False, with nothing done, when one does."""
        with psycopg.connect(self.db.conninfo(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
            if row is None or not row[0]:
                return False
            try:
                self.catch_up()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
            return True

    def _pass_over_if_skipped(self, notification: Notification) -> bool:
        """Moves past an event it cannot apply when an operator chose to skip it
        (`partnerbook projections skip`): its tracking record only, nothing applied."""
        view = self.projection.view
        with view.datastore.transaction(commit=True) as curs:
            if self.swap_lock:
                curs.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self.swap_key,))
            skip = stuck.skip_of(curs, self.projection.name, notification.id)
            if skip is None:
                return False
            view._insert_tracking(curs, Tracking(self.projection.app_name, notification.id))
            curs.execute(
                "SELECT pg_notify(%s, %s)",
                (PROJECTED_CHANNEL, f"{self.projection.name}:{notification.id}"),
            )
        log.warning(
            "projection %s skipped event %d (%s), as %s decided with `projections skip`: %s",
            self.projection.name,
            notification.id,
            skip.topic,
            skip.actor,
            skip.reason,
        )
        return True

    def run(self, stop: threading.Event) -> None:
        """Projects until `stop` is set; survives database restarts by reconnecting.
        Stuck on an event (`EventNotApplied`), it says so (log, `projection_stuck`) and
        tries that event again every `STUCK_RETRY` seconds, holding its lock."""
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        delay = RECONNECT_MIN
        while not stop.is_set():
            try:
                with psycopg.connect(self.db.conninfo(), autocommit=True) as conn:
                    if not self._acquire_lock(conn, stop):
                        return
                    self.is_active.set()
                    conn.execute(SQL("LISTEN {}").format(Identifier(recorder.channel_name)))
                    may_be_stuck = True  # a previous holder of the lock may have said so
                    while not stop.is_set():
                        try:
                            self.catch_up()
                        except EventNotApplied as error:
                            self._report_stuck(conn, error)
                            may_be_stuck = True
                            stop.wait(STUCK_RETRY)
                            continue
                        if may_be_stuck:
                            self._report_passed(conn)
                            may_be_stuck = False
                        delay = RECONNECT_MIN  # connected and caught up: start afresh
                        self._wait_for_news(conn, stop)
            except Exception:
                log.exception(
                    "projector %s failed; retrying in %.1f s", self.projection.name, delay
                )
                stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX)
            finally:
                self.is_active.clear()

    def _report_stuck(self, conn: psycopg.Connection[Any], error: EventNotApplied) -> None:
        """One ERROR line when it gets stuck on an event (or on it for another reason),
        then quiet retries; the row in `projection_stuck` says it to every process."""
        known = self.stuck
        self.stuck = error.at
        stuck.record(conn, error.at)
        if known is None or (known.position, known.error) != (error.at.position, error.at.error):
            log.error(
                "projection %s is stuck: %s; it tries again every %.0f s "
                '(docs/operations.md, "A projection is stuck")',
                self.projection.name,
                error.at.describe(),
                STUCK_RETRY,
                exc_info=error.__cause__,
            )

    def _report_passed(self, conn: psycopg.Connection[Any]) -> None:
        if stuck.clear(conn, self.projection.name, self.position) or self.stuck is not None:
            log.warning(
                "projection %s is no longer stuck: it is at %d",
                self.projection.name,
                self.position,
            )
        self.stuck = None

    @staticmethod
    def _wait_for_news(conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Until a NOTIFY says events were written (or NEWS_WAIT passes, as a safety
        net), asleep in the kernel on the connection's socket, at most STOP_SEEN_WITHIN
        at a time. Idle, it sends no query. (psycopg's own wait for notifies wakes every
        0.1 s to look for signals: an idle server's two projector threads cost it ~11 ms
        of CPU a second.)"""
        deadline = time.monotonic() + NEWS_WAIT
        while not stop.is_set():
            # What has arrived, whether read from the socket here or meanwhile by a
            # query of the projector's (psycopg's backlog).
            for _ in conn.notifies(timeout=0, stop_after=1):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wait_readable(conn.fileno(), min(remaining, STOP_SEEN_WITHIN))

    def _acquire_lock(self, conn: psycopg.Connection[Any], stop: threading.Event) -> bool:
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
            if row is not None and row[0]:
                return True
            stop.wait(1.0)
        return False
