"""Keeps the read models up to date: reads the notification log in batches and applies
each batch with its tracking record in one transaction (exactly once), then announces
its new position with NOTIFY so that waiting mutations wake at once."""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.projection import Projection
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from app.application import Partnerbook
from app.database import Database
from app.projections.registry import RegistryView

log = logging.getLogger(__name__)
PROJECTED_CHANNEL = "partnerbook_projected"
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0
"""Backoff while the database is away: 0.5 s, doubling up to 5 s."""


class RegistryProjection(Projection[RegistryView]):
    """eventsourcing's projection interface over the registry view, plus batches."""

    name = "registry"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking)])

    def process_batch(self, items: Sequence[tuple[DomainEventProtocol[Any], Tracking]]) -> None:
        if not items:
            return
        last = items[-1][1]
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.apply_batch(
                curs, [(event, tracking.notification_id) for event, tracking in items]
            )
            self.view._insert_tracking(curs, last)
            curs.execute(
                "SELECT pg_notify(%s, %s)",
                (PROJECTED_CHANNEL, f"{self.name}:{last.notification_id}"),
            )


def construct_view(env: dict[str, str], *, prefix: str = "") -> RegistryView:
    """The registry view on its own small connection pool; tables created if missing."""
    factory = InfrastructureFactory.construct(Environment(RegistryProjection.name, env))
    assert isinstance(factory, PostgresFactory)
    view = RegistryView(factory.datastore, prefix=prefix)
    view.create_table()
    return view


class Projector:
    """Runs one projection for one application, as the only writer of its tables.

    `run()` takes a PostgreSQL advisory lock first: in a deployment of many processes one
    projects and the others stand by, taking over when it goes away."""

    def __init__(
        self,
        app: Partnerbook,
        projection: RegistryProjection,
        db: Database,
        *,
        batch_size: int = 500,
    ) -> None:
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        self.lock_key = zlib.crc32(f"partnerbook:projector:{projection.name}".encode())
        self.is_active = threading.Event()

    @property
    def position(self) -> int:
        return self.projection.view.max_tracking_id(self.app.name) or 0

    def catch_up(self) -> int:
        """Applies every notification not yet projected; returns how many it applied."""
        done = 0
        position = self.position
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        while True:
            notifications = recorder.select_notifications(
                start=position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return done
            items = [
                (self.app.mapper.to_domain_event(n), Tracking(self.app.name, n.id))
                for n in notifications
            ]
            self.projection.process_batch(items)
            position = notifications[-1].id
            done += len(items)

    def run(self, stop: threading.Event) -> None:
        """Projects until `stop` is set; survives database restarts by reconnecting."""
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
                    while not stop.is_set():
                        self.catch_up()
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

    @staticmethod
    def _wait_for_news(conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Until a NOTIFY says events were written (or 5 s pass, as a safety net); short
        waits so that a stop request is seen within 0.1 s. Idle, it sends no query."""
        deadline = time.monotonic() + 5.0
        while not stop.is_set() and time.monotonic() < deadline:
            for _ in conn.notifies(timeout=0.1, stop_after=1):
                return

    def _acquire_lock(self, conn: psycopg.Connection[Any], stop: threading.Event) -> bool:
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
            if row is not None and row[0]:
                return True
            stop.wait(1.0)
        return False
