"""Read replicas: PostgreSQL streaming standbys (`PARTNERBOOK_READ_DATABASE_URLS`) that
serve the reads of GraphQL queries, and what keeps read-your-writes true with them.

- Each standby has a pool of its own and a watcher: one connection that reads its replay
  position (`pg_last_wal_replay_lsn()`) every `replica_check_interval` seconds, and
  continuously (every few milliseconds) while a mutation waits for it. A standby that
  cannot be reached, is no longer in recovery, or is more than `replica_max_lag_bytes`
  behind the primary serves no read; it is taken back once it is reachable and close
  again.
- `required` is the WAL position of the newest commit this process has promised to show
  (a mutation's projection). A standby serves a read only if its replay position, as last
  seen, is at or past it: every read this process makes after a mutation has answered
  sees that mutation, whichever standby (or the primary) serves it.
- A mutation, once the projections show it, takes the primary's WAL insert position and
  waits (at most `replica_wait_timeout`) until every standby in service has replayed it;
  one that has not is left out of reads until it has (reads go to the others, or to the
  primary).
- The standbys cannot LISTEN (NOTIFY is not replicated), hence polling while a mutation
  waits: one query for all the waiters of a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import anyio.to_thread
import psycopg
from psycopg_pool import AsyncConnectionPool

from app.infra import notices
from app.infra.database import Database

log = logging.getLogger(__name__)

PRIMARY_POSITION = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
"""The primary's WAL insert position, in bytes: at or past every commit made before it."""
REPLAY_POSITION = (
    "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, pg_is_in_recovery(), "
    "pg_postmaster_start_time()"
)
FLOOR_CHANNEL = "partnerbook_replica_floor"
"""A published notice (confirmed by every process): the WAL position below which no
standby may serve a read any more, sent when a mutation answers while a standby had not
replayed it (another process may see that standby in service)."""
FAST_POLL_SECONDS = 0.002
"""How often a standby's replay position is read while a mutation waits for it."""

State = Literal["up", "lagging", "down", "not_standby"]

RESTARTED = "restarted"
NO_POSITION = "no replay position yet"
PROMOTED = "not in recovery (promoted?)"
OWN_REASONS = frozenset({RESTARTED, NO_POSITION, PROMOTED})
"""Why a standby serves no read, in this module's words: /readyz shows them."""
REPLICA_ERROR = "it does not answer (this process's log says why)"
"""What /readyz shows in place of a standby's error: a connection error names the host
and the user, a failed query's error can quote values."""


@dataclass(eq=False)
class Replica:
    """One standby, as this process sees it."""

    name: str
    """host:port/dbname (never the password): the label of its metrics."""
    db: Database
    pool: AsyncConnectionPool[Any]
    state: State = "down"
    replayed: int | None = None
    """Its replay position (bytes), as last read; None while it is down."""
    lag_bytes: int | None = None
    started: datetime | None = None
    error: str | None = None
    reads: int = 0
    failures: int = 0
    since: float = field(default_factory=time.monotonic)
    """When it entered its present state (monotonic)."""


def replica_name(db: Database) -> str:
    return f"{db.host}:{db.port}/{db.dbname}"


class ReplicaSet:
    def __init__(
        self,
        primary: AsyncConnectionPool[Any],
        replicas: Sequence[Replica],
        *,
        max_lag_bytes: int,
        wait_timeout: float,
        check_interval: float,
        connect_timeout: float,
    ) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.max_lag_bytes = max_lag_bytes
        self.wait_timeout = wait_timeout
        self.check_interval = check_interval
        self.connect_timeout = connect_timeout
        self.required = 0
        """No standby replayed below this serves a read (see the module's text)."""
        self.primary_position: int | None = None
        self.blind = False
        """The notice listener is down: floors raised by other processes may be missed,
        so no standby serves until it is back (see `follow`)."""
        self.unsure = False
        """A mutation answered without knowing its WAL position: no standby serves until
        the primary's position is read again (it is then the floor)."""
        self.primary_conninfo: str | None = None
        """Where floors are published (None: this process alone, as in unit tests)."""
        self.primary_reads = 0
        self._turn = itertools.count()
        self._changed = asyncio.Condition()
        self._waiting = 0
        self._hurry = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- routing ----------------------------------------------------------------------

    def serving(self) -> list[Replica]:
        if self.blind or self.unsure:
            return []
        return [
            r
            for r in self.replicas
            if r.state == "up" and r.replayed is not None and r.replayed >= self.required
        ]

    def choose(self, at_least: int = 0) -> Replica | None:
        """A standby for the next read (in turn) that has replayed `at_least` too, or
        None: read on the primary."""
        ready = [r for r in self.serving() if r.replayed is not None and r.replayed >= at_least]
        if not ready:
            self.primary_reads += 1
            return None
        replica = ready[next(self._turn) % len(ready)]
        replica.reads += 1
        return replica

    def failed(self, replica: Replica, error: BaseException) -> None:
        """Its connection broke (or could not be had): out of service until its watcher
        reads its position again."""
        replica.failures += 1
        self._set(replica, "down", str(error).strip().splitlines()[0] if str(error) else "")
        self._hurry.set()

    async def check_new_connection(
        self, replica: Replica, conn: psycopg.AsyncConnection[Any]
    ) -> None:
        """The pool's `configure`: a connection to a standby that restarted since its
        watcher last looked takes it out of service until the watcher reads its (maybe
        earlier) replay position."""
        cur = await conn.execute("SELECT pg_postmaster_start_time()")
        row = await cur.fetchone()
        if row is not None and replica.started is not None and row[0] != replica.started:
            self._set(replica, "down", RESTARTED)
            self._hurry.set()

    # -- read-your-writes ---------------------------------------------------------------

    async def primary_now(self) -> int:
        async with self.primary.connection() as conn:
            cur = await conn.execute(PRIMARY_POSITION)
            row = await cur.fetchone()
        position = int(row[0]) if row is not None else 0
        self.primary_position = max(self.primary_position or 0, position)
        return position

    async def show(self, position: int) -> bool:
        """Waits (at most `wait_timeout`) until every standby in service has replayed
        `position`; from then on no standby behind it serves a read. True if one has."""
        waiting_for = [r for r in self.replicas if r.state == "up"]
        self._waiting += 1
        self._hurry.set()
        try:
            async with asyncio.timeout(self.wait_timeout), self._changed:
                await self._changed.wait_for(
                    lambda: all(
                        r.state != "up" or (r.replayed or 0) >= position for r in waiting_for
                    )
                )
        except TimeoutError:
            log.info("a standby did not replay position %s in time: reads go elsewhere", position)
        finally:
            self._waiting -= 1
            self.required = max(self.required, position)
        behind = [r for r in self.replicas if r.replayed is None or r.replayed < position]
        if behind and self.primary_conninfo is not None:
            # Another process may see one of them in service: it must not read there.
            await anyio.to_thread.run_sync(self._publish_floor, self.primary_conninfo, position)
        return any(r.replayed is not None and r.replayed >= position for r in self.serving())

    async def replayed(self, position: int) -> bool:
        """Waits (at most `wait_timeout`) until some standby in service has replayed
        `position`, for one read that needs it (no floor is raised)."""

        def caught_up() -> bool:
            return any(r.replayed is not None and r.replayed >= position for r in self.serving())

        if caught_up():
            return True
        self._waiting += 1
        self._hurry.set()
        try:
            async with asyncio.timeout(self.wait_timeout), self._changed:
                await self._changed.wait_for(caught_up)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1

    @staticmethod
    def _publish_floor(conninfo: str, position: int) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            notices.publish(conn, FLOOR_CHANNEL, lambda _: position, str)

    def follow(self, listener: notices.NoticeListener, primary_conninfo: str) -> None:
        """Takes the floors other processes publish. While the listener is down none can
        be heard: no standby serves; once it is back, the floor is the primary's
        position then (every commit made meanwhile is below it)."""
        self.primary_conninfo = primary_conninfo
        self.blind = True
        listener.on(FLOOR_CHANNEL, self._raise_floor)
        listener.when_lost(self._lose_sight)
        listener.when_connected(self._regain_sight)

    async def _raise_floor(self, subject: str) -> None:
        self.required = max(self.required, int(subject))
        self._hurry.set()

    def _lose_sight(self) -> None:
        self.blind = True

    async def _regain_sight(self) -> None:
        self.required = max(self.required, await self.primary_now())
        self.blind = False
        self._hurry.set()

    # -- watching -----------------------------------------------------------------------

    async def start(self) -> None:
        for replica in self.replicas:
            await replica.pool.open(wait=False)
            self._tasks.append(asyncio.create_task(self._watch(replica), name=replica.name))
        self._tasks.append(asyncio.create_task(self._follow_primary(), name="replica-primary"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for replica in self.replicas:
            await replica.pool.close()

    async def _follow_primary(self) -> None:
        while True:
            try:
                unsure = self.unsure
                position = await self.primary_now()
                if unsure:
                    self.required = max(self.required, position)
                    self.unsure = False
            except Exception:  # the primary is away: the standbys' lag keeps its last value
                log.debug("cannot read the primary's WAL position", exc_info=True)
            await asyncio.sleep(self.check_interval)

    async def _watch(self, replica: Replica) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    replica.db.conninfo(
                        application_name="partnerbook-replica-watch",
                        connect_timeout=max(1, round(self.connect_timeout)),
                    ),
                    autocommit=True,
                ) as conn:
                    while True:
                        await self._read_position(replica, conn)
                        await self._pause()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if replica.state != "down":
                    log.warning("standby %s is out of service: %s", replica.name, error)
                self._set(replica, "down", str(error).strip().splitlines()[0] if str(error) else "")
                async with self._changed:  # a mutation waiting for it waits no more
                    self._changed.notify_all()
                await asyncio.sleep(self.check_interval)

    async def _pause(self) -> None:
        if self._waiting:
            await asyncio.sleep(FAST_POLL_SECONDS)
            return
        self._hurry.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.check_interval):
                await self._hurry.wait()

    async def _read_position(self, replica: Replica, conn: psycopg.AsyncConnection[Any]) -> None:
        cur = await conn.execute(REPLAY_POSITION)
        row = await cur.fetchone()
        if row is None:
            return
        replayed, in_recovery, started = row
        if not in_recovery:  # promoted: it no longer follows the primary we write to
            self._set(replica, "not_standby", PROMOTED)
            return
        if replica.started is not None and started != replica.started:
            # Restarted since last seen: its replay position may have gone back.
            replica.replayed = None
        replica.started = started
        replica.replayed = None if replayed is None else int(replayed)
        primary = self.primary_position
        replica.lag_bytes = (
            None
            if primary is None or replica.replayed is None
            else max(0, primary - replica.replayed)
        )
        lagging = replica.lag_bytes is not None and replica.lag_bytes > self.max_lag_bytes
        if replica.replayed is None:
            self._set(replica, "down", NO_POSITION)
        else:
            self._set(replica, "lagging" if lagging else "up", None)
        async with self._changed:
            self._changed.notify_all()

    def _set(self, replica: Replica, state: State, error: str | None) -> None:
        if state != replica.state:
            if state == "up":
                log.info("standby %s serves reads", replica.name)
            elif replica.state == "up":
                log.warning("standby %s serves no read: %s (%s)", replica.name, state, error)
            replica.since = time.monotonic()
        elif state != "up" and error is not None and error != replica.error:
            # Down from the start, or down for another reason now: the log says why
            # (/readyz does not).
            log.warning("standby %s serves no read: %s (%s)", replica.name, state, error)
        if state == "down":
            replica.replayed = None
            replica.lag_bytes = None
        replica.state = state
        replica.error = error

    def describe(self) -> list[dict[str, Any]]:
        """What /readyz shows of each standby: its error when it is one of this module's
        own words, else REPLICA_ERROR (/readyz answers anyone; the log has the text)."""
        return [
            {
                "name": r.name,
                "state": r.state,
                "serving": r in self.serving(),
                "lagBytes": r.lag_bytes,
                "replayedPosition": r.replayed,
                "error": r.error if r.error is None or r.error in OWN_REASONS else REPLICA_ERROR,
            }
            for r in self.replicas
        ]
