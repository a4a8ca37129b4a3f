"""create_app(): the only wiring point. The lifespan opens the database, the event store,
the projector and the read pool, and closes them in reverse order."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app import database
from app.application import Partnerbook
from app.pool_check import check_unless_fresh, note_returned
from app.projections.catalog_queries import CatalogDirectory
from app.projections.change_feed import ChangeFeed
from app.projections.partner_queries import PartnerDirectory
from app.projections.positions import ProjectionWaiter
from app.projections.projector import Projector, RegistryProjection, construct_view
from app.projections.relationship_queries import RelationshipDirectory
from app.schema.context import Context, Services
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


class PartnerbookGraphQL(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
        websocket = request if isinstance(request, WebSocket) else None
        return Context(
            services=runtime.services,
            request_id=request_id,
            actor="anonymous",
            long_lived=websocket is not None,
            disconnect=websocket.close if websocket is not None else None,
        )


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
    app = await anyio.to_thread.run_sync(open_application, db, settings)
    env = db.eventsourcing_env(2, settings.connect_timeout)
    view = await anyio.to_thread.run_sync(construct_view, env)
    projector = Projector(
        app, RegistryProjection(view), db, batch_size=settings.projection_batch_size
    )
    stop = threading.Event()
    thread = None
    if settings.run_projector:
        thread = threading.Thread(target=projector.run, args=(stop,), name="projector", daemon=True)
        thread.start()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        db.conninfo(),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        kwargs={"autocommit": True},
        # A connection broken by a database restart is replaced, not handed to a query.
        check=check_unless_fresh,
        reset=note_returned,
    )
    await pool.open(wait=True, timeout=settings.connect_timeout)
    waiter = ProjectionWaiter(db, app.name, {RegistryProjection.name: view.tracking_table_name})
    await waiter.start()
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
    )
    hub.enrich = record_loader(services)
    await hub.start()
    return Runtime(db, services, projector, thread, stop, pool)


async def close_runtime(runtime: Runtime) -> None:
    runtime.stop.set()
    await runtime.services.hub.stop()
    await runtime.services.waiter.stop()
    await runtime.pool.close()
    if runtime.projector_thread is not None:
        await anyio.to_thread.run_sync(runtime.projector_thread.join, 10)
    await anyio.to_thread.run_sync(runtime.services.app.close)
    runtime.projector.projection.view.datastore.close()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        starlette.state.runtime = runtime
        log.info("Partnerbook ready; database %s", runtime.db.url)
        try:
            yield
        finally:
            await close_runtime(runtime)

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
            }
        )

    graphql = PartnerbookGraphQL(
        build_schema(introspection=settings.introspection),
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
        ],
        lifespan=lifespan,
    )
