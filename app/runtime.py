"""What one API process holds open: the database, the event-store application, the
projectors, the read pool, the notices it listens to and the services a request uses;
opened in order by `open_runtime` and closed in reverse by `close_runtime`."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool

from app.application import Partnerbook
from app.domain.contact_fields import forget_checked_values
from app.infra import api_keys, database, notices, persisted_documents
from app.infra.pool_check import check_unless_fresh
from app.infra.positions import ProjectionWaiter
from app.infra.read_routing import ReplicatedReadSide, RoutedPool
from app.infra.read_share import KeyShares, share_size
from app.infra.replicas import ReplicaSet
from app.lane_process import renice_backend
from app.observability import Metrics
from app.projections.audit import AuditView
from app.projections.projector import (
    AuditProjection,
    Projector,
    RegistryProjection,
    construct_audit_view,
    construct_view,
    wake_projectors,
)
from app.projections.registry import RegistryView
from app.queries.catalog_queries import CatalogDirectory
from app.queries.change_feed import ChangeFeed
from app.queries.partners.directory import PartnerDirectory
from app.queries.relationship_queries import RelationshipDirectory
from app.runtime_replicas import StandbyFeed, open_replicas
from app.runtime_webhooks import open_webhooks
from app.schema.context import Services
from app.schema.live.hub import SubscriptionHub
from app.schema.live.subscriptions import record_loader
from app.schema.parsing import forget_documents
from app.settings import Settings
from app.webhooks.store import WebhookStores
from app.webhooks.worker import WebhookDispatcher

log = logging.getLogger("partnerbook")


@dataclass
class Runtime:
    """Everything the lifespan opened, for health checks and orderly shutdown."""

    db: database.Database
    services: Services
    projector: Projector
    projector_thread: threading.Thread | None
    stop: threading.Event
    pool: RoutedPool
    audit_projector: Projector | None = None
    audit_thread: threading.Thread | None = None
    listener: notices.NoticeListener | None = None
    webhooks: WebhookDispatcher | None = None
    replicas: ReplicaSet | None = None


def open_application(db: database.Database, settings: Settings) -> Partnerbook:
    env = db.eventsourcing_env(settings.event_store_pool_size, settings.connect_timeout)
    # The snapshot interval is a class attribute in eventsourcing: a subclass carries ours.
    intervals = dict.fromkeys(Partnerbook.snapshotting_intervals, settings.snapshot_interval)
    configured = type("Partnerbook", (Partnerbook,), {"snapshotting_intervals": intervals})
    app: Partnerbook = configured(env=env)
    return app


def _forget_cached_values(_subject: str) -> None:
    """Empties the process's caches that hold values as they were sent: the VATs and
    email domains checked, and every parsed operation text (values written inline in a
    mutation) with what was worked out for it. An erasure is rare; refilling is cheap."""
    forget_checked_values()
    forget_documents()


async def open_runtime(settings: Settings, metrics: Metrics | None = None) -> Runtime:
    db = await anyio.to_thread.run_sync(database.resolve, settings.database_url, settings.data_dir)
    await anyio.to_thread.run_sync(database.prepare, db, settings.connect_timeout)
    app, view, audit_view = await anyio.to_thread.run_sync(_open_storage, db, settings)
    batch_size = settings.projection_batch_size
    projector = Projector(app, RegistryProjection(view), db, batch_size=batch_size)
    audit_projector = Projector(app, AuditProjection(audit_view), db, batch_size=batch_size)
    stop = threading.Event()
    thread = audit_thread = None
    if settings.run_projector:
        thread = _start_projector(projector, stop, "projector")
        audit_thread = _start_projector(audit_projector, stop, "audit-projector")
    pool = await open_read_pool(db, settings)
    replicas = await open_replicas(pool, settings)
    waiter = ProjectionWaiter(
        app.name,
        {
            RegistryProjection.name: view.tracking_table_name,
            AuditProjection.name: audit_view.tracking_table_name,
        },
        connect=pool.primary,
    )
    await waiter.start()
    listener, keys = await _listen_for_notices(db, settings, app, waiter, pool, replicas)
    limiter = anyio.CapacityLimiter(settings.command_threads)
    hooks, dispatcher = await open_webhooks(db, settings, app, pool, waiter, limiter, metrics)
    services = await _start_services(
        db, settings, app, pool, waiter, keys, limiter, hooks, replicas
    )
    # Queued subscription deliveries of a partner erased meanwhile are read again.
    listener.on(notices.KEY_ERASED, lambda subject: services.hub.erased(UUID(subject)))
    if dispatcher is not None:  # and webhook rows read before are read again
        listener.on(notices.KEY_ERASED, lambda subject: dispatcher.erased(UUID(subject)))
    listener.on(notices.KEY_ERASED, _forget_cached_values)
    return Runtime(
        db,
        services,
        projector,
        thread,
        stop,
        pool,
        audit_projector,
        audit_thread,
        listener,
        dispatcher,
        replicas,
    )


def _open_storage(
    db: database.Database, settings: Settings
) -> tuple[Partnerbook, RegistryView, AuditView]:
    """The event store, the read-model views, the API key and persisted document tables,
    created if missing (one process at a time)."""
    env = db.eventsourcing_env(2, settings.connect_timeout)
    with database.schema_lock(db, settings.connect_timeout):
        app = open_application(db, settings)
        view = construct_view(env)
        audit_view = construct_audit_view(env)
        api_keys.ensure_table(db.conninfo())
        persisted_documents.ensure_table(db.conninfo())
    return app, view, audit_view


def _start_projector(projector: Projector, stop: threading.Event, name: str) -> threading.Thread:
    thread = threading.Thread(target=projector.run, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread


async def open_read_pool(db: database.Database, settings: Settings) -> RoutedPool:
    """The pool every read query uses, opened (it waits for its first connection); a
    query's reads may go to a standby (app/infra/read_routing.py)."""
    pool = RoutedPool(
        db.conninfo(),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        # Every read statement is time-boxed; the projector and the event store have
        # connections of their own, without this limit.
        kwargs={
            "autocommit": True,
            "options": database.read_options(settings.statement_timeout),
        },
        # While the database is down (or every connection is busy): 503 after this.
        timeout=settings.pool_timeout or settings.connect_timeout,
        # A connection broken by a database restart is replaced, not handed to a query
        # (checked with a round trip when its last check is over a second old).
        check=check_unless_fresh,
        # In a lane process (app/lane_process.py): its sessions at the lane's priority.
        configure=_renice if settings.heavy_renice_database else None,
    )
    pool.shares = KeyShares(share_size(settings.read_share_per_key, settings.db_pool_size))
    await pool.open(wait=True, timeout=settings.connect_timeout)
    return pool


async def _renice(conn: Any) -> None:
    renice_backend(conn)


async def _listen_for_notices(
    db: database.Database,
    settings: Settings,
    app: Partnerbook,
    waiter: ProjectionWaiter,
    pool: AsyncConnectionPool[Any],
    replicas: ReplicaSet | None,
) -> tuple[notices.NoticeListener, api_keys.KeyStore]:
    """One LISTEN connection: projected positions, and the erasures, revocations and
    standby floors of any process (for this one's caches). Also returns the API key store
    it keeps fresh."""
    listener = notices.NoticeListener(db.conninfo())
    waiter.follow(listener)
    if replicas is not None:
        replicas.follow(listener, db.conninfo())
    if app.keys is not None:
        app.keys.follow(listener)
    keys = api_keys.KeyStore(pool, ttl=settings.key_cache_seconds)
    keys.follow(listener)
    await listener.start(wait=settings.connect_timeout)
    return listener, keys


async def _start_services(
    db: database.Database,
    settings: Settings,
    app: Partnerbook,
    pool: AsyncConnectionPool[Any],
    waiter: ProjectionWaiter,
    keys: api_keys.KeyStore,
    limiter: anyio.CapacityLimiter,
    webhooks: WebhookStores,
    replicas: ReplicaSet | None,
) -> Services:
    """What resolvers use (read directories, the command limiter, keys), with the
    subscription hub started (reading from the standbys when there are)."""
    feed = ChangeFeed(pool)
    hub_feed = StandbyFeed(pool, replicas) if replicas is not None else feed
    hub = SubscriptionHub(
        hub_feed,
        waiter,
        settings.subscription_queue_size,
        replays_per_key=settings.replays_per_key,
    )
    services = Services(
        settings=settings,
        app=app,
        directory=PartnerDirectory(pool),
        catalogs=CatalogDirectory(pool),
        relationships=RelationshipDirectory(pool),
        feed=feed,
        hub=hub,
        waiter=waiter,
        limiter=limiter,
        keys=keys,
        outage=database.Outage(db.conninfo(), settings.connect_timeout),
        documents=persisted_documents.DocumentStore(
            pool, settings.persisted_store_bytes, settings.persisted_store_documents
        ),
        webhooks=webhooks,
        command_shares=KeyShares(
            share_size(settings.command_share_per_key, settings.command_threads)
        ),
    )
    hub.enrich = record_loader(services)
    if isinstance(hub_feed, StandbyFeed):
        hub.enrich = hub_feed.enriching(hub.enrich)
        services.read_side = ReplicatedReadSide(waiter, hub_feed.replicas)
    await hub.start()
    return services


SHUTDOWN_STEP_SECONDS = 30.0
"""How long one step of `close_runtime` may take before the shutdown goes on without it
(named in an error with where it waits). Each step's own waits are shorter (pools: 5 s,
projector threads: 10 s): a step past this hangs, and a process that cannot stop would
hold its port, its locks and its database connections until it is killed."""


async def close_runtime(runtime: Runtime, step_seconds: float = SHUTDOWN_STEP_SECONDS) -> None:
    """Closes what `open_runtime` opened, in reverse. Every step is bounded by
    `step_seconds` and one that fails or hangs does not keep the next from running."""
    runtime.stop.set()
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    if runtime.webhooks is not None:
        steps.append(("the webhook dispatcher", runtime.webhooks.stop))
    steps.append(("the subscription hub", runtime.services.hub.stop))
    if runtime.listener is not None:
        steps.append(("the notice listener", runtime.listener.stop))
    if runtime.projector_thread is not None:
        steps.append(("waking the projectors", lambda: _wake_projectors(runtime)))
    if runtime.replicas is not None:
        steps.append(("the standbys", runtime.replicas.stop))
    steps.append(("the read pool", runtime.pool.close))
    for thread in (runtime.projector_thread, runtime.audit_thread):
        if thread is not None:
            steps.append((f"the {thread.name} thread", _InThread(thread.join, 10)))
    steps.append(("the event store", _InThread(runtime.services.app.close)))
    views = [runtime.projector, runtime.audit_projector]
    for projector in filter(None, views):
        close = projector.projection.view.datastore.close
        steps.append((f"the {projector.projection.name} view", _InThread(close)))
    for what, step in steps:
        await bounded_step(what, step, step_seconds)


class _InThread:
    """A step that runs `function(*args)` in a worker thread (it may block); if it hangs,
    the error shows the thread's stack."""

    def __init__(self, function: Callable[..., object], *args: object) -> None:
        self.function, self.args = function, args
        self.thread: int | None = None

    async def __call__(self) -> object:
        return await anyio.to_thread.run_sync(self._run, abandon_on_cancel=True)

    def _run(self) -> object:
        self.thread = threading.get_ident()
        return self.function(*self.args)


async def bounded_step(what: str, step: Callable[[], Awaitable[object]], seconds: float) -> None:
    """Runs one shutdown step for at most `seconds`. A step that fails is logged; one
    that does not finish is left behind (cancelling it could wait as long: a task may
    delay its cancellation), with an error saying where it and every other task wait."""
    task = asyncio.ensure_future(step())
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.error(
            "shutdown: %s did not finish within %.0f s; going on without it.\n%s",
            what,
            seconds,
            where_they_wait(task, getattr(step, "thread", None)),
        )
        task.add_done_callback(_retrieve)
        return
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("shutdown: %s failed: %s", what, error, exc_info=error)


def _retrieve(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()


def where_they_wait(first: asyncio.Future[object], thread: int | None = None) -> str:
    """Where `first`, then every other pending task of the loop, is suspended (the chain
    of awaits, innermost last: a task's `get_stack` shows its outermost frame only), and
    the stack of `thread`."""
    current = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not first and t is not current]
    lines = [_awaits(first, "the step")]
    lines += [_awaits(t, f"task {t.get_name()!r}") for t in others]
    frame = sys._current_frames().get(thread) if thread is not None else None
    if frame is not None:
        lines.append("its thread:\n" + "".join(traceback.format_stack(frame)).rstrip())
    return "\n".join(lines)


def _awaits(task: asyncio.Future[object], name: str) -> str:
    lines = [f"{name} waits at:"]
    awaited: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    for _ in range(100):  # a chain of awaits is finite; the bound is for safety
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is None:
            break
        code = frame.f_code
        lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    if awaited is not None:
        lines.append(f"  on {awaited!r}")
    return "\n".join(lines)


async def _wake_projectors(runtime: Runtime) -> None:
    """The projectors wait for news on their LISTEN connection, looking at `stop` once a
    second (`STOP_SEEN_WITHIN`): a NOTIFY on that channel lets them see it at once."""
    try:
        async with runtime.pool.connection(timeout=1) as conn:
            await wake_projectors(conn, runtime.services.app)
    except Exception:  # the database is away: they notice within a second anyway
        log.debug("could not wake the projectors", exc_info=True)
