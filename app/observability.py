"""Logs that carry the request id (text or JSON lines) and the Prometheus metrics.

The request id of the request being served lives in a context variable: set where the
GraphQL context is made, it follows the request into its tasks and worker threads
(`anyio.to_thread` copies the context), and a logging filter stamps it on every record.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from strawberry.extensions import SchemaExtension

REQUEST_ID: ContextVar[str | None] = ContextVar("partnerbook_request_id", default=None)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 200
"""Distinct operation names a process keeps as labels; later ones count as "other"."""
MAX_OPERATION_NAMES_PER_KEY = 50
"""Of those, how many one API key may bring: a client that names each request anew
(`Query_<uuid>`) counts as "other" past them, and the others' names keep their labels."""


# -- logging ------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps `record.request_id` ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class WithoutQuery(logging.Filter):
    """uvicorn's access line without the query string: a GET carries its variables there
    (a name searched, an email), and a log line outlives an erasure in whatever keeps the
    server's logs. The path stays, and `?…` says a query was there."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, mark, _ = args[2].partition("?")
            record.args = (*args[:2], path + ("?…" if mark else ""), *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get() or None,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message`, then `[request <id>]` when the line belongs to a request."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != "-":
            first, newline, rest = line.partition("\n")
            line = f"{first} [request {request_id}]{newline}{rest}"
        return line


def log_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A logging.config dict for uvicorn (`log_config=`): it is applied in every worker
    process. uvicorn's own loggers go through the same handler."""
    formatter: dict[str, Any] = (
        {"()": "app.observability.JsonFormatter"}
        if log_format == "json"
        else {"()": "app.observability.TextFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "app.observability.RequestIdFilter"},
            "without_query": {"()": "app.observability.WithoutQuery"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {
                "handlers": [],
                "level": level,
                "propagate": True,
                "filters": ["without_query"],
            },
        },
    }


def configure_logging(log_format: str, level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(log_config(log_format, level))


# -- metrics ------------------------------------------------------------------------------


class Metrics:
    """The process's Prometheus series, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.latency = Histogram(
            "partnerbook_graphql_request_duration_seconds",
            "GraphQL operations: time to execute, by operation name and type.",
            ["operation_name", "operation_type"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.errors = Counter(
            "partnerbook_graphql_errors_total",
            "Top-level GraphQL errors by extensions.code (INTERNAL is a bug).",
            ["code"],
            registry=r,
        )
        self.commands = Counter(
            "partnerbook_commands_total",
            "Mutations run, by mutation field and outcome (ok, user_error, error).",
            ["command", "outcome"],
            registry=r,
        )
        self.user_errors = Counter(
            "partnerbook_user_errors_total",
            "userErrors entries returned by mutations, by code.",
            ["code"],
            registry=r,
        )
        self.heavy_lane = Counter(
            "partnerbook_heavy_lane_requests_total",
            "Heavy requests by outcome: forwarded to the lane, rate_limited (the key's share "
            "was taken), busy (the lane was full), here (the lane was not running).",
            ["outcome"],
            registry=r,
        )
        self._projection_series(r)
        self._replica_series(r)
        self.subscribers = Gauge(
            "partnerbook_subscribers", "Live GraphQL subscriptions on this process.", registry=r
        )
        self.replays_waiting = Gauge(
            "partnerbook_replays_waiting",
            "Subscriptions waiting for their API key's turn to replay the log.",
            registry=r,
        )
        self.read_share_waiting = Gauge(
            "partnerbook_read_share_waiting",
            "Reads waiting for their API key's share of the read pool (app/infra/read_share.py).",
            registry=r,
        )
        self.command_share_waiting = Gauge(
            "partnerbook_command_share_waiting",
            "Commands waiting for their API key's share of the command threads.",
            registry=r,
        )
        self._webhook_series(r)
        self._names: set[str] = set()
        self._names_of: collections.Counter[object] = collections.Counter()
        """How many of `_names` each API key brought."""

    def _webhook_series(self, r: CollectorRegistry) -> None:
        self.webhook_attempts = Counter(
            "partnerbook_webhook_attempts_total",
            "Webhook delivery attempts made by this process, by outcome (delivered, failed).",
            ["outcome"],
            registry=r,
        )
        self.webhook_duration = Histogram(
            "partnerbook_webhook_attempt_duration_seconds",
            "Time of one webhook attempt: connect, send, answer.",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.webhook_lag = Gauge(
            "partnerbook_webhook_lag_events",
            "Per endpoint: projected position minus its acknowledged position (read at scrape).",
            ["endpoint"],
            registry=r,
        )
        self.webhook_serving = Gauge(
            "partnerbook_webhook_endpoints_served",
            "Endpoints whose deliveries this process makes (holds their advisory lock).",
            registry=r,
        )

    def _projection_series(self, r: CollectorRegistry) -> None:
        """The read models' position, lag and state, read at scrape time."""
        self.lag = Gauge(
            "partnerbook_projection_lag_events",
            "Events in the log not yet projected (last notification id - tracking position).",
            registry=r,
        )
        self.log_position = Gauge(
            "partnerbook_event_log_position", "Last notification id in the event log.", registry=r
        )
        self.projected_position = Gauge(
            "partnerbook_projected_position", "Position the registry projection passed.", registry=r
        )
        self.stuck = Gauge(
            "partnerbook_projection_stuck",
            "The log position of the event a projection cannot apply (0: not stuck).",
            ["projection"],
            registry=r,
        )
        self.projector_active = Gauge(
            "partnerbook_projector_active",
            "1 when this process holds the projector's advisory lock.",
            registry=r,
        )

    def _replica_series(self, r: CollectorRegistry) -> None:
        """The standbys of PARTNERBOOK_READ_DATABASE_URLS, read at scrape time."""
        self.replica_serving = Gauge(
            "partnerbook_replica_serving",
            "1 when the standby serves reads (reachable, not lagging, caught up with "
            "this process's mutations).",
            ["replica"],
            registry=r,
        )
        self.replica_state = Gauge(
            "partnerbook_replica_state",
            "1 for the standby's state: up, lagging, down or not_standby.",
            ["replica", "state"],
            registry=r,
        )
        self.replica_lag = Gauge(
            "partnerbook_replica_lag_bytes",
            "WAL bytes the standby's replay is behind the primary (absent while it is down).",
            ["replica"],
            registry=r,
        )
        self.replica_reads = Counter(
            "partnerbook_replica_reads_total",
            "Query reads (connections taken) by server: a standby's name, or primary.",
            ["server"],
            registry=r,
        )
        self.replica_failures = Counter(
            "partnerbook_replica_failures_total",
            "Standby connections that broke or could not be had (the read went to the primary).",
            ["replica"],
            registry=r,
        )
        self._counted: dict[tuple[str, str], int] = {}

    def count_to(self, counter: Counter, label: str, total: int) -> None:
        """Brings `counter{label}` up to `total`, a running count kept elsewhere."""
        seen = self._counted.get((counter._name, label), 0)
        if total > seen:
            counter.labels(label).inc(total - seen)
            self._counted[(counter._name, label)] = total

    def operation_label(self, name: str | None, key: object) -> str:
        """`name` as a label: once one of MAX_OPERATION_NAMES, at most
        MAX_OPERATION_NAMES_PER_KEY of them brought by `key` (the asking API key's id)."""
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "other"
        if name not in self._names:
            if (
                len(self._names) >= MAX_OPERATION_NAMES
                or self._names_of[key] >= MAX_OPERATION_NAMES_PER_KEY
            ):
                return "other"
            self._names.add(name)
            self._names_of[key] += 1
        return name

    def render(self) -> bytes:
        return generate_latest(self.registry)


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    original = error.original_error
    return (
        "INTERNAL"
        if original is not None and not isinstance(original, GraphQLError)
        else ("BAD_REQUEST")
    )


class MetricsExtension(SchemaExtension):
    """Times each operation and counts its errors and, for mutations, its commands."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except Exception:  # no document (a parse error): nothing to name
            kind = "unknown"
        # A name becomes a label only for a key: without one, any client could take the
        # MAX_OPERATION_NAMES labels for good (every real operation then counted "other").
        principal = getattr(context.context, "principal", None)
        label = (
            self.metrics.operation_label(context.operation_name, principal.key_id)
            if principal is not None
            else "unauthenticated"
        )
        self.metrics.latency.labels(label, kind).observe(elapsed)
        result = context.result
        errors = getattr(result, "errors", None) or []
        for error in errors:
            self.metrics.errors.labels(error_code(error)).inc()
        data = getattr(result, "data", None)
        if kind == "mutation" and isinstance(data, dict):
            self._count_commands(data)

    def _count_commands(self, data: dict[str, Any]) -> None:
        document = self.execution_context.graphql_document
        if document is None:
            return
        from graphql import FieldNode, OperationDefinitionNode

        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = self.execution_context.operation_name
            if name is not None and (definition.name is None or definition.name.value != name):
                continue
            for selection in definition.selection_set.selections:
                if not isinstance(selection, FieldNode) or selection.name.value.startswith("__"):
                    continue
                key = selection.alias.value if selection.alias else selection.name.value
                payload = data.get(key)
                outcome = "error" if payload is None else "ok"
                if isinstance(payload, dict):
                    user_errors = payload.get("userErrors") or []
                    outcome = "user_error" if user_errors else "ok"
                    for entry in user_errors:
                        if isinstance(entry, dict) and entry.get("code"):
                            self.metrics.user_errors.labels(str(entry["code"])).inc()
                self.metrics.commands.labels(selection.name.value, outcome).inc()
