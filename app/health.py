"""What a process says about itself: `/healthz` (the database answers), `/readyz` (the
read models are close enough to the log to serve) and `/metrics` (Prometheus).

`/healthz` and `/readyz` answer anyone, without a key: they never say the text of an
error. A PostgreSQL error can quote row values (`Key (email)=(jane@example.com) already
exists`, a value that cannot be decoded), a connection error names the host and the
user; the log keeps it, and `partnerbook projections status` prints a stuck
projection's."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import observability
from app.infra import lag
from app.lane_process import LaneProcess
from app.projections import stuck
from app.projections.projector import PROJECTION_NAMES
from app.runtime import Runtime

log = logging.getLogger("partnerbook")

DATABASE_DOWN = "the database does not answer (this process's log says why)"
STUCK_ERROR = "not shown here: see the log or `partnerbook projections status`"
"""What `/readyz` says in place of a stuck projection's error."""


async def healthz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as error:  # the check reports; it must not raise
        log.warning("/healthz: the database does not answer: %s", _first_line(error))
        return JSONResponse({"status": "unavailable", "error": DATABASE_DOWN}, status_code=503)
    return JSONResponse(
        {
            "status": "ok",
            "projectedPosition": runtime.services.waiter.position,
            "projectorActive": runtime.projector.is_active.is_set(),
            "heavyLane": _lane_state(request.app.state.lane),
            "pid": os.getpid(),
        }
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


def _lane_state(lane: LaneProcess | None) -> str:
    """`off` (heavy_lane false, or this is the lane), `ready`, or `starting` (also while
    it restarts: heavy requests run in this process meanwhile)."""
    if lane is None:
        return "off"
    return "ready" if lane.socket_path is not None else "starting"


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    max_lag = runtime.services.settings.ready_max_lag
    try:
        last, projected = await _projection_positions(runtime)
        stuck_at = await _stuck_projections(runtime)
    except Exception as error:  # the check reports; it must not raise
        log.warning("/readyz: the database does not answer: %s", _first_line(error))
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {DATABASE_DOWN}"},
            status_code=503,
        )
    behind = max(0, last - projected)
    body: dict[str, Any] = {"status": "ready", "lag": behind, "maxLag": max_lag}
    if runtime.replicas is not None:
        # Shown, never a reason for 503: without standbys the primary serves the reads.
        body["replicas"] = runtime.replicas.describe()
    if stuck_at:
        # Said, but not by itself a reason to take every API process out of service
        # (reads still work): the lag decides, as for any lag.
        body["stuck"] = [
            {
                "projection": s.name,
                "position": s.position,
                "topic": s.topic,
                "since": s.since.isoformat() if s.since is not None else None,
                "error": STUCK_ERROR,
            }
            for s in stuck_at
        ]
    if behind > max_lag:
        body |= {
            "status": "unavailable",
            "reason": f"the read models are {behind} events behind the log "
            f"(more than PARTNERBOOK_READY_MAX_LAG={max_lag})",
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


def metrics_endpoint(
    metrics: observability.Metrics,
) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics` for this app's series; the projection positions are read at each scrape."""

    async def endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        metrics.subscribers.set(runtime.services.hub.subscriber_count)
        metrics.replays_waiting.set(runtime.services.hub.replays.waiting)
        metrics.read_share_waiting.set(runtime.pool.shares.waiting)
        metrics.command_share_waiting.set(runtime.services.command_shares.waiting)
        metrics.projector_active.set(1 if runtime.projector.is_active.is_set() else 0)
        await _webhook_series(runtime, metrics)
        _replica_series(runtime, metrics)
        try:
            last, projected = await _projection_positions(runtime)
            stuck_at = {s.name: s.position for s in await _stuck_projections(runtime)}
        except Exception:  # the database is away: the lag series keep their last value
            log.warning("metrics: cannot read the projection positions", exc_info=True)
        else:
            metrics.log_position.set(last)
            metrics.projected_position.set(projected)
            metrics.lag.set(max(0, last - projected))
            for name in PROJECTION_NAMES:
                metrics.stuck.labels(name).set(stuck_at.get(name, 0))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return endpoint


async def _webhook_series(runtime: Runtime, metrics: observability.Metrics) -> None:
    """Endpoints served here; each endpoint's lag (projected position - acknowledged)."""
    served = runtime.webhooks.serving if runtime.webhooks is not None else {}
    metrics.webhook_serving.set(len(served))
    stores = runtime.services.webhooks
    if stores is None:
        return
    try:
        cursors = await stores.deliveries.cursors()
    except Exception:
        log.warning("metrics: cannot read the webhook cursors", exc_info=True)
        return
    projected = runtime.services.waiter.position
    metrics.webhook_lag.clear()
    for ident, position in cursors.items():
        metrics.webhook_lag.labels(str(ident)).set(max(0, projected - position))


def _replica_series(runtime: Runtime, metrics: observability.Metrics) -> None:
    replicas = runtime.replicas
    if replicas is None:
        return
    serving = replicas.serving()
    metrics.replica_lag.clear()
    for replica in replicas.replicas:
        metrics.replica_serving.labels(replica.name).set(1 if replica in serving else 0)
        for state in ("up", "lagging", "down", "not_standby"):
            metrics.replica_state.labels(replica.name, state).set(replica.state == state)
        if replica.lag_bytes is not None:
            metrics.replica_lag.labels(replica.name).set(replica.lag_bytes)
        metrics.count_to(metrics.replica_reads, replica.name, replica.reads)
        metrics.count_to(metrics.replica_failures, replica.name, replica.failures)
    metrics.count_to(metrics.replica_reads, "primary", replicas.primary_reads)


async def _projection_positions(runtime: Runtime) -> tuple[int, int]:
    recorder = runtime.services.app.recorder
    tracking = runtime.projector.projection.view.tracking_table_name
    async with runtime.pool.connection() as conn:
        return await lag.positions(
            conn,
            getattr(recorder, "events_table_name", ""),
            tracking,
            runtime.services.app.name,
        )


async def _stuck_projections(runtime: Runtime) -> list[stuck.StuckAt]:
    async with runtime.pool.connection() as conn:
        return await stuck.read_async(conn)
