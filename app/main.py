"""create_app(): the only wiring point. The lifespan opens the database, the event store,
the projector and the read pool, and closes them in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import multiprocessing
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.unset import UnsetType

from app import observability
from app.application import Partnerbook
from app.infra import api_keys, database, lag, notices
from app.infra.pool_check import check_unless_fresh
from app.infra.positions import ProjectionWaiter
from app.lane_process import LaneProcess, renice_backend
from app.projections import stuck
from app.projections.projector import (
    PROJECTION_NAMES,
    AuditProjection,
    Projector,
    RegistryProjection,
    construct_audit_view,
    construct_view,
    wake_projectors,
)
from app.queries.catalog_queries import CatalogDirectory
from app.queries.change_feed import ChangeFeed
from app.queries.partners.directory import PartnerDirectory
from app.queries.relationship_queries import RelationshipDirectory
from app.schema.auth import bearer_key, key_of_connection_params
from app.schema.context import Context, Services
from app.schema.errors import DATABASE_UNAVAILABLE
from app.schema.http import StrictGraphQL
from app.schema.lane import HeavyLane, LanePolicy
from app.schema.limits import BodyLimit, Limits
from app.schema.live.hub import SubscriptionHub
from app.schema.live.subscriptions import record_loader
from app.schema.schema import build_schema
from app.settings import Settings

log = logging.getLogger("partnerbook")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class Runtime:
    """Everything the lifespan opened, for health checks and orderly shutdown."""

    db: database.Database
    services: Services
    projector: Projector
    projector_thread: threading.Thread | None
    stop: threading.Event
    pool: AsyncConnectionPool[Any]
    audit_projector: Projector | None = None
    audit_thread: threading.Thread | None = None
    listener: notices.NoticeListener | None = None


_BAD_KEY = "the API key is unknown, revoked or expired"
_NO_KEY = "an API key is required (Authorization: Bearer <key>)"
_UNAVAILABLE = "The database is unavailable; try again shortly"


class AuthenticatingTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: a `connection_init` without a valid key closes with 4401."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        if (
            isinstance(payload, dict)
            and not self.connection_init_received
            and not await authenticate_connection(self.context, payload)
        ):
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            if self.context.auth_failure is not None:
                await self.websocket.close(code=1013, reason="Database unavailable")
            else:
                await self.websocket.close(code=4401, reason="Unauthorized")
            return
        await super().handle_connection_init(message)

    async def shutdown(self) -> None:
        stop_watching_key(self.context)
        await super().shutdown()


class KeyWatchingLegacyWS(BaseGraphQLWSHandler[Context, None]):
    """graphql-ws (legacy): authenticates in `on_ws_connect`; stops the key watch."""

    async def cleanup(self) -> None:
        stop_watching_key(self.context)
        await super().cleanup()


async def watch_key(context: Context, principal: api_keys.Principal) -> None:
    """Closes an open WebSocket (4401) once its key is revoked (a published notice, see
    app/infra/notices.py) or expires (at its `expires_at`)."""
    keys = context.services.keys
    if keys is None or context.disconnect is None:
        return
    disconnect = context.disconnect

    async def close() -> None:
        with contextlib.suppress(Exception):
            await disconnect(4401, "API key revoked or expired")

    unwatch = keys.watch(principal, close)
    try:
        if principal.expires_at is None:
            await asyncio.Event().wait()  # until cancelled when the socket ends
        else:
            left = (principal.expires_at - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.0, left))
            await close()
    finally:
        unwatch()


def stop_watching_key(context: Context) -> None:
    if context.key_watch is not None:
        context.key_watch.cancel()
        context.key_watch = None


async def authenticate_connection(context: Context, params: dict[str, Any]) -> bool:
    """Sets the principal of a WebSocket connection from its `connection_init` payload."""
    if context.principal is not None:
        return True
    key = key_of_connection_params(params)
    keys = context.services.keys
    try:
        principal = await keys.authenticate(key) if key and keys is not None else None
    except Exception as error:
        if not database.is_unavailable(error):
            raise
        context.auth_failure = error
        context.auth_error = _UNAVAILABLE
        return False
    if principal is None:
        context.auth_error = _BAD_KEY if key else _NO_KEY
        return False
    context.principal = principal
    context.actor = principal.name
    context.key_watch = asyncio.create_task(watch_key(context, principal))
    return True


class PartnerbookGraphQL(StrictGraphQL):
    graphql_transport_ws_handler_class = AuthenticatingTransportWS
    graphql_ws_handler_class = KeyWatchingLegacyWS

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if not await authenticate_connection(context, context.connection_params or {}):
            code = "UNAUTHENTICATED" if context.auth_failure is None else DATABASE_UNAVAILABLE
            raise ConnectionRejectionError(
                {"message": context.auth_error, "extensions": {"code": code}}
            )
        return await super().on_ws_connect(context)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        observability.REQUEST_ID.set(request_id)  # every log line of this request carries it
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
        websocket = request if isinstance(request, WebSocket) else None
        context = Context(
            services=runtime.services,
            request_id=request_id,
            actor="anonymous",
            long_lived=websocket is not None,
            disconnect=websocket.close if websocket is not None else None,
        )
        if websocket is None:  # a WebSocket authenticates in its connection_init
            key = bearer_key(request.headers.get("authorization"))
            keys = runtime.services.keys
            try:
                context.principal = await keys.authenticate(key) if key and keys else None
            except Exception as error:
                if not database.is_unavailable(error):
                    raise
                context.auth_failure = error
                return context
            if context.principal is None:
                context.auth_error = _BAD_KEY if key else _NO_KEY
            else:
                context.actor = context.principal.name
        return context

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """503 while the database is unavailable, so clients and proxies retry."""
        response = super().create_response(response_data, sub_response)
        results = response_data if isinstance(response_data, list) else [response_data]
        if any(
            isinstance(e, dict) and (e.get("extensions") or {}).get("code") == DATABASE_UNAVAILABLE
            for result in results
            for e in result.get("errors") or []
        ):
            response.status_code = 503
            response.headers["retry-after"] = "1"
        return response


def open_application(db: database.Database, settings: Settings) -> Partnerbook:
    env = db.eventsourcing_env(settings.event_store_pool_size, settings.connect_timeout)
    # The snapshot interval is a class attribute in eventsourcing: a subclass carries ours.
    intervals = dict.fromkeys(Partnerbook.snapshotting_intervals, settings.snapshot_interval)
    configured = type("Partnerbook", (Partnerbook,), {"snapshotting_intervals": intervals})
    app: Partnerbook = configured(env=env)
    return app


async def open_runtime(settings: Settings) -> Runtime:
    db = await anyio.to_thread.run_sync(database.resolve, settings.database_url, settings.data_dir)
    await anyio.to_thread.run_sync(database.prepare, db, settings.connect_timeout)
    env = db.eventsourcing_env(2, settings.connect_timeout)

    def open_storage() -> tuple[Partnerbook, Any, Any]:
        with database.schema_lock(db, settings.connect_timeout):
            app = open_application(db, settings)
            view = construct_view(env)
            audit_view = construct_audit_view(env)
            api_keys.ensure_table(db.conninfo())
        return app, view, audit_view

    app, view, audit_view = await anyio.to_thread.run_sync(open_storage)
    projector = Projector(
        app, RegistryProjection(view), db, batch_size=settings.projection_batch_size
    )
    audit_projector = Projector(
        app, AuditProjection(audit_view), db, batch_size=settings.projection_batch_size
    )
    stop = threading.Event()
    thread = audit_thread = None
    if settings.run_projector:
        thread = threading.Thread(target=projector.run, args=(stop,), name="projector", daemon=True)
        thread.start()
        audit_thread = threading.Thread(
            target=audit_projector.run, args=(stop,), name="audit-projector", daemon=True
        )
        audit_thread.start()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        db.conninfo(),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        # Every read statement is time-boxed; the projector and the event store have
        # connections of their own, without this limit.
        kwargs={
            "autocommit": True,
            "options": database.statement_timeout_option(settings.statement_timeout),
        },
        # While the database is down (or every connection is busy): 503 after this.
        timeout=settings.pool_timeout or settings.connect_timeout,
        # A connection broken by a database restart is replaced, not handed to a query
        # (checked with a round trip when its last check is over a second old).
        check=check_unless_fresh,
        # In a lane process (app/lane_process.py): its sessions at the lane's priority.
        configure=_renice if settings.heavy_renice_database else None,
    )
    await pool.open(wait=True, timeout=settings.connect_timeout)
    waiter = ProjectionWaiter(
        db,
        app.name,
        {
            RegistryProjection.name: view.tracking_table_name,
            AuditProjection.name: audit_view.tracking_table_name,
        },
    )
    await waiter.start()
    # One LISTEN connection: projected positions, and the erasures and revocations made
    # by any process (for this one's caches).
    listener = notices.NoticeListener(db.conninfo())
    waiter.follow(listener)
    if app.keys is not None:
        app.keys.follow(listener)
    keys = api_keys.KeyStore(pool, ttl=settings.key_cache_seconds)
    keys.follow(listener)
    await listener.start(wait=settings.connect_timeout)
    feed = ChangeFeed(pool)
    hub = SubscriptionHub(feed, waiter, settings.subscription_queue_size)
    services = Services(
        settings=settings,
        app=app,
        directory=PartnerDirectory(pool),
        catalogs=CatalogDirectory(pool),
        relationships=RelationshipDirectory(pool),
        feed=feed,
        hub=hub,
        waiter=waiter,
        limiter=anyio.CapacityLimiter(settings.command_threads),
        keys=keys,
        outage=database.Outage(db.conninfo(), settings.connect_timeout),
    )
    hub.enrich = record_loader(services)
    await hub.start()
    return Runtime(
        db, services, projector, thread, stop, pool, audit_projector, audit_thread, listener
    )


async def _renice(conn: Any) -> None:
    renice_backend(conn)


async def close_runtime(runtime: Runtime) -> None:
    runtime.stop.set()
    await runtime.services.hub.stop()
    if runtime.listener is not None:
        await runtime.listener.stop()
    if runtime.projector_thread is not None:
        await _wake_projectors(runtime)
    await runtime.pool.close()
    if runtime.projector_thread is not None:
        await anyio.to_thread.run_sync(runtime.projector_thread.join, 10)
    if runtime.audit_thread is not None:
        await anyio.to_thread.run_sync(runtime.audit_thread.join, 10)
    await anyio.to_thread.run_sync(runtime.services.app.close)
    runtime.projector.projection.view.datastore.close()
    if runtime.audit_projector is not None:
        runtime.audit_projector.projection.view.datastore.close()


async def _wake_projectors(runtime: Runtime) -> None:
    """The projectors wait for news on their LISTEN connection, looking at `stop` every
    0.1 s: a NOTIFY on that channel lets them see it at once."""
    try:
        async with runtime.pool.connection(timeout=1) as conn:
            await wake_projectors(conn, runtime.services.app)
    except Exception:  # the database is away: they notice within 0.1 s anyway
        log.debug("could not wake the projectors", exc_info=True)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    lane = _LaneSlot()

    @contextlib.asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        starlette.state.runtime = runtime
        if settings.heavy_lane:
            renice = settings.heavy_renice_database
            lane.process = LaneProcess(
                settings, runtime.db.dsn, runtime.db.embedded if renice is None else renice
            )
            await lane.process.start()
        starlette.state.lane = lane.process
        log.info("Partnerbook ready; database %s", runtime.db.url)
        try:
            yield
        finally:
            if lane.process is not None:
                await lane.process.stop()
                lane.process = None
            await close_runtime(runtime)
            if runtime.db.embedded and multiprocessing.parent_process() is not None:
                # A `serve --workers N` worker: uvicorn ends it by a signal, past atexit.
                await anyio.to_thread.run_sync(database.release_embedded, settings.data_dir)

    async def healthz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        try:
            async with runtime.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except Exception as error:  # the check reports; it must not raise
            return JSONResponse({"status": "unavailable", "error": str(error)}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "projectedPosition": runtime.services.waiter.position,
                "projectorActive": runtime.projector.is_active.is_set(),
                "heavyLane": _lane_state(request.app.state.lane),
                "pid": os.getpid(),
            }
        )

    metrics = observability.Metrics()

    async def projection_positions(runtime: Runtime) -> tuple[int, int]:
        recorder = runtime.services.app.recorder
        tracking = runtime.projector.projection.view.tracking_table_name
        async with runtime.pool.connection() as conn:
            return await lag.positions(
                conn,
                getattr(recorder, "events_table_name", ""),
                tracking,
                runtime.services.app.name,
            )

    async def stuck_projections(runtime: Runtime) -> list[stuck.StuckAt]:
        async with runtime.pool.connection() as conn:
            return await stuck.read_async(conn)

    async def metrics_endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        metrics.subscribers.set(runtime.services.hub.subscriber_count)
        metrics.projector_active.set(1 if runtime.projector.is_active.is_set() else 0)
        try:
            last, projected = await projection_positions(runtime)
            stuck_at = {s.name: s.position for s in await stuck_projections(runtime)}
        except Exception:  # the database is away: the lag series keep their last value
            log.warning("metrics: cannot read the projection positions", exc_info=True)
        else:
            metrics.log_position.set(last)
            metrics.projected_position.set(projected)
            metrics.lag.set(max(0, last - projected))
            for name in PROJECTION_NAMES:
                metrics.stuck.labels(name).set(stuck_at.get(name, 0))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        try:
            last, projected = await projection_positions(runtime)
            stuck_at = await stuck_projections(runtime)
        except Exception as error:  # the check reports; it must not raise
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return JSONResponse(
                {"status": "unavailable", "reason": f"database unreachable: {reason}"},
                status_code=503,
            )
        behind = max(0, last - projected)
        body: dict[str, Any] = {"status": "ready", "lag": behind, "maxLag": settings.ready_max_lag}
        if stuck_at:
            # Said, but not by itself a reason to take every API process out of service
            # (reads still work): the lag decides, as for any lag.
            body["stuck"] = [
                {"projection": s.name, "position": s.position, "topic": s.topic, "error": s.error}
                for s in stuck_at
            ]
        if behind > settings.ready_max_lag:
            body |= {
                "status": "unavailable",
                "reason": f"the read models are {behind} events behind the log "
                f"(more than PARTNERBOOK_READY_MAX_LAG={settings.ready_max_lag})",
            }
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_fields=settings.max_fields,
        max_cost=settings.max_cost,
        max_batch=settings.max_batch,
        max_filter_depth=settings.max_filter_depth,
        max_filter_leaves=settings.max_filter_leaves,
    )
    # A copy of the process's schema: the metrics extension is this app's own.
    schema = copy.copy(
        build_schema(
            introspection=settings.introspection,
            max_tokens=settings.max_tokens,
            limits=limits,
        )
    )
    # First, so it times the whole operation; the Guard stays the last extension.
    schema.extensions = (lambda: observability.MetricsExtension(metrics), *schema.extensions)
    graphql = PartnerbookGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        keep_alive=True,
        keep_alive_interval=settings.keep_alive_seconds,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.allowed_origins,
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(
                HeavyLane,
                schema=lambda: schema._schema,
                lane=lane,
                authenticate=_authenticator,
                policy=LanePolicy(
                    cost=settings.heavy_cost,
                    body_bytes=settings.heavy_body_bytes,
                    concurrency=settings.heavy_concurrency,
                    per_key=settings.heavy_per_key,
                    queue=settings.heavy_queue,
                ),
                limits=limits,
                max_tokens=settings.max_tokens,
                count=lambda outcome: metrics.heavy_lane.labels(outcome).inc(),
            ),
        ],
    )


def _lane_state(lane: LaneProcess | None) -> str:
    """`off` (heavy_lane false, or this is the lane), `ready`, or `starting` (also while
    it restarts: heavy requests run in this process meanwhile)."""
    if lane is None:
        return "off"
    return "ready" if lane.socket_path is not None else "starting"


class _LaneSlot:
    """The lane process of this app, once its lifespan has started one."""

    process: LaneProcess | None = None

    @property
    def socket_path(self) -> str | None:
        return self.process.socket_path if self.process is not None else None


def _authenticator(scope: Any) -> Any:
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    if runtime is None or runtime.services.keys is None:
        return None
    return runtime.services.keys.authenticate
