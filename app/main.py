"""create_app(): the only wiring point. It assembles the Starlette app (`/graphql` behind
the body limit and the heavy lane, GraphiQL's assets under `/graphiql/`, `/healthz`,
`/readyz`, `/metrics`) with a lifespan that
opens the runtime (app/runtime.py) and the lane process, and closes them in reverse order."""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import logging
import multiprocessing
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from app import event_loop, health, observability
from app.graphiql import GraphiQLAssets
from app.graphql_view import PartnerbookGraphQL
from app.infra import database
from app.infra.read_routing import RouteQueries
from app.lane_process import LaneProcess
from app.runtime import Runtime, close_runtime, open_application, open_runtime
from app.schema.lane import Admission, HeavyLane, LanePolicy
from app.schema.limits import BodyLimit, Limits
from app.schema.limits.protocol import BoundedHttpTools
from app.schema.live.heavy import WebSocketLane
from app.schema.live.subscription_nodes import SubscriptionNodes
from app.schema.schema import build_schema
from app.settings import Settings

# The runtime's names stay reachable here: the CLI, the benchmarks and the tests open one.
__all__ = ["Runtime", "create_app", "open_application", "open_runtime"]

log = logging.getLogger("partnerbook")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    lane = _LaneSlot()
    metrics = observability.Metrics()
    limits = _limits(settings)
    schema = _schema(settings, limits, metrics)
    graphiql = GraphiQLAssets.load() if settings.graphiql else None
    graphql = PartnerbookGraphQL(
        schema,
        graphql_ide="graphiql" if graphiql is not None else None,
        keep_alive=True,
        keep_alive_interval=settings.keep_alive_seconds,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.allowed_origins,
    )
    graphql.graphiql = graphiql
    graphql.ws_lane = _ws_lane(settings, schema, lane, limits, metrics)
    graphql.subscription_nodes = SubscriptionNodes(
        most=settings.subscription_nodes_per_key,
        limits=limits,
        max_tokens=settings.max_tokens,
        schema=lambda: schema._schema,
    )
    routes = [
        # Every method reaches the view, which refuses all but GET and POST with a GraphQL
        # error (405, `Allow`); starlette's own 405 was plain text.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics_endpoint(metrics)),
    ]
    if graphiql is not None:
        routes.append(graphiql.route())
    return Starlette(
        routes=routes,
        lifespan=_lifespan(settings, lane, metrics),
        middleware=_middleware(settings, graphql, lane, limits),
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """What `partnerbook serve` gives uvicorn besides the app: the request's head held to
    a size (uvicorn's httptools protocol keeps headers and URL without limit), a
    request held to its deadlines to arrive and its answer to one to be read (uvicorn
    has none); a WebSocket message held
    to the body limit, refused (1009) as it arrives (uvicorn's default, 16 MiB, let one be
    read whole before the view refused it); and the connections a process serves at once
    (uvicorn held any number). The protocol is a `partial` of a module's class: uvicorn
    pickles its config into `--workers` processes."""
    http = functools.partial(
        BoundedHttpTools,
        head_seconds=settings.request_head_seconds,
        body_seconds=settings.request_body_seconds,
        write_seconds=settings.response_write_seconds,
    )
    return {
        "http": http,
        # Every request with room on CPython's frame stack (app/event_loop.py).
        "loop": event_loop.LOOP,
        "ws_max_size": settings.max_body_bytes,
        # uvicorn answers 503 once open connections reach `limit_concurrency`, the asking
        # one counted: one more, so that `max_connections` are served.
        "limit_concurrency": settings.max_connections + 1,
    }


def _lifespan(
    settings: Settings, lane: _LaneSlot, metrics: observability.Metrics
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings, metrics)
        starlette.state.runtime = runtime
        if settings.heavy_lane:
            renice = settings.heavy_renice_database
            lane.process = LaneProcess(
                settings, runtime.db.dsn, runtime.db.embedded if renice is None else renice
            )
            await lane.process.start()
        starlette.state.lane = lane.process
        collect_less_often()
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

    return lifespan


GC_FIRST_THRESHOLD = 10_000
"""Allocations (less deallocations) between two collections of the youngest generation.
Python's default, 700, made a request collect every few hundred objects it allocated;
each collection walks the young objects and each tenth the middle generation: 9 % of
the instructions of a facets request (176 values, measured with callgrind), the same
with 5,000 or more. Garbage cycles live a little longer (at most this many objects)."""


def collect_less_often() -> None:
    """Raises the youngest generation's threshold to GC_FIRST_THRESHOLD (not lowers it:
    a deployment's own tuning, `gc.set_threshold` in a `sitecustomize`, stays)."""
    first, *older = gc.get_threshold()
    if 0 < first < GC_FIRST_THRESHOLD:
        gc.set_threshold(GC_FIRST_THRESHOLD, *older)


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_fields=settings.max_fields,
        max_cost=settings.max_cost,
        max_batch=settings.max_batch,
        max_filter_depth=settings.max_filter_depth,
        max_filter_leaves=settings.max_filter_leaves,
    )


def _schema(
    settings: Settings, limits: Limits, metrics: observability.Metrics
) -> strawberry.Schema:
    # A copy of the process's schema: the metrics extension is this app's own.
    schema = copy.copy(
        build_schema(
            introspection=settings.introspection,
            max_tokens=settings.max_tokens,
            limits=limits,
        )
    )
    # First, so it times the whole operation; the Guard stays the last extension.
    schema.extensions = (
        lambda: observability.MetricsExtension(metrics),
        RouteQueries,
        *schema.extensions,
    )
    return schema


def _middleware(
    settings: Settings, graphql: PartnerbookGraphQL, lane: _LaneSlot, limits: Limits
) -> list[Middleware]:
    """The body limit first, then the heavy lane's choice (app/schema/lane.py), which the
    view's WebSocket operations share (app/schema/live/heavy.py)."""
    ws_lane = graphql.ws_lane
    assert ws_lane is not None
    return [
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(
            HeavyLane,
            schema=ws_lane.schema,
            lane=lane,
            authenticate=_authenticator,
            policy=ws_lane.policy,
            limits=limits,
            max_tokens=settings.max_tokens,
            count=ws_lane.count,
            documents=_document_finder,
            admission=ws_lane.admission,
        ),
    ]


def _ws_lane(
    settings: Settings,
    schema: strawberry.Schema,
    lane: _LaneSlot,
    limits: Limits,
    metrics: observability.Metrics,
) -> WebSocketLane:
    policy = LanePolicy(
        cost=settings.heavy_cost,
        body_bytes=settings.heavy_body_bytes,
        concurrency=settings.heavy_concurrency,
        per_key=settings.heavy_per_key,
        queue=settings.heavy_queue,
    )
    return WebSocketLane(
        lane=lane,
        admission=Admission(policy),
        schema=lambda: schema._schema,
        policy=policy,
        limits=limits,
        max_tokens=settings.max_tokens,
        count=lambda outcome: metrics.heavy_lane.labels(outcome).inc(),
    )


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


def _document_finder(scope: Any) -> Any:
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    if runtime is None or runtime.services.documents is None:
        return None
    return runtime.services.documents.find
