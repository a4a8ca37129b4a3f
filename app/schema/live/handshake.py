"""What strawberry's WebSocket handlers left open at the start of a connection and at its
operation limit, closed the same way over both protocols:

- a connection that sends no `connection_init` is closed after
  PARTNERBOOK_WEBSOCKET_INIT_SECONDS with 4408 (graphql-transport-ws waited strawberry's
  60 s; legacy graphql-ws waited for ever, so sockets without a key could hold every
  connection slot of the process);
- a second `connection_init` is closed with 4429 (legacy graphql-ws acknowledged each
  one and started one more keep-alive task, never stopped);
- the operation past PARTNERBOOK_MAX_SUBSCRIPTIONS_PER_CONNECTION gets an error coded
  LIMIT_EXCEEDED (strawberry's had no code).

Legacy graphql-ws has no close codes of its own: it also gets a `connection_error` with
a code before the close. Each refusal is one INFO line.

A client that closes or loses its connection while its operations are still sending is
no error of the server's: each operation cut short that way is one DEBUG line (strawberry
logged two tracebacks at ERROR for each, or asyncio "Task exception was never
retrieved", so that a client hanging up mid-replay, again and again, filled the log).

A heavy query or mutation over graphql-transport-ws is answered by the heavy lane, as over
HTTP (app/schema/live/heavy.py); a subscription takes its nodes from its key's budget
(app/schema/live/subscription_nodes.py), over both protocols."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import timedelta
from typing import Any

from graphql import GraphQLFormattedError
from starlette.websockets import WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as SendAfterClose
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportInitMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionErrorMessage,
    ConnectionInitMessage,
    ErrorMessage,
    StartMessage,
)

from app.schema.context import Context
from app.schema.live.heavy import Answer
from app.schema.live.subscription_nodes import Reservation, SubscriptionNodes

log = logging.getLogger("partnerbook.http")

INIT_TIMEOUT = 4408
INIT_TIMEOUT_REASON = "Connection initialisation timeout"
"""graphql-transport-ws's close of a connection without `connection_init` in time."""
SECOND_INIT = 4429
SECOND_INIT_REASON = "Too many initialisation requests"
"""graphql-transport-ws's close of a second `connection_init`."""
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


def init_seconds(context: Context) -> float:
    return context.services.settings.websocket_init_seconds


def _late(seconds: float) -> str:
    return f"the connection_init did not arrive within {seconds} s"


def client_gone(error: BaseException) -> bool:
    """Whether a send failed because the client closed or lost the connection."""
    return isinstance(error, WebSocketDisconnected | WebSocketDisconnect | SendAfterClose)


def _cut_short(error: BaseException) -> None:
    log.debug("WebSocket operation ended: the client is gone (%s)", type(error).__name__)


def _over_limit(limit: int | None, running: int) -> GraphQLFormattedError | None:
    """The error of one more operation on a connection running `running`, or None."""
    if limit is None or running < limit:
        return None
    reason = f"this connection already runs {limit} operations, the most it may"
    log.info("WebSocket operation refused: %s", reason)
    return {"message": reason, "extensions": {"code": LIMIT_EXCEEDED}}


def _reserve(
    view: object, context: Context, payload: Any
) -> tuple[GraphQLFormattedError | None, Reservation | None]:
    """(the error refusing a subscription, or None; what it holds of its key's budget)."""
    budget: SubscriptionNodes | None = getattr(view, "subscription_nodes", None)
    taken = budget.take(context, payload) if budget is not None else None
    if isinstance(taken, Reservation) or taken is None:
        return None, taken
    return taken, None


def _give_back(view: object, reservation: Reservation | None) -> None:
    budget: SubscriptionNodes | None = getattr(view, "subscription_nodes", None)
    if budget is not None and reservation is not None:
        budget.give_back(reservation)


def _held_while(
    view: object,
    reservation: Reservation,
    task: asyncio.Task[Any] | None,
    reservations: dict[str, Reservation],
    operation_id: str,
) -> None:
    """`reservation` held while the operation's `task` runs: given back when it ends,
    however it ends, or at once when no task started."""
    if task is None or task.done():
        _give_back(view, reservation)
        return
    reservations[operation_id] = reservation

    def ended(_: object) -> None:
        _give_back(view, reservation)
        if reservations.get(operation_id) is reservation:
            del reservations[operation_id]

    task.add_done_callback(ended)


class _Reservations:
    """A handler's running subscriptions and what each holds of its key's budget of
    nodes, given back at once when the client stops one."""

    @functools.cached_property
    def reservations(self) -> dict[str, Reservation]:
        return {}

    async def cleanup_operation(self, operation_id: str) -> None:
        _give_back(getattr(self, "view", None), self.reservations.pop(operation_id, None))
        await super().cleanup_operation(operation_id)  # type: ignore[misc]


class GuardedTransportWS(_Reservations, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: its init wait from the settings, its refusals logged and the
    operation limit coded."""

    def on_request_accepted(self) -> None:
        self.connection_init_wait_timeout = timedelta(seconds=init_seconds(self.context))
        super().on_request_accepted()

    async def handle_connection_init_timeout(self) -> None:
        await super().handle_connection_init_timeout()
        if self.connection_timed_out:
            seconds = self.connection_init_wait_timeout.total_seconds()
            log.info("WebSocket connection closed (%s): %s", INIT_TIMEOUT, _late(seconds))

    async def handle_connection_init(self, message: TransportInitMessage) -> None:
        second = self.connection_init_received and not self.connection_timed_out
        if second and isinstance(message.get("payload", {}), dict):
            log.info("WebSocket connection refused (%s): a second connection_init", SECOND_INIT)
        await super().handle_connection_init(message)

    async def handle_task_exception(self, error: Exception) -> None:
        if client_gone(error):
            _cut_short(error)
            return
        await super().handle_task_exception(error)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        reservation = None
        if self.connection_acknowledged and message["id"] not in self.operations:
            error = _over_limit(self.max_subscriptions_per_connection, len(self.operations))
            if error is None:
                error, reservation = _reserve(self.view, self.context, message.get("payload"))
            if error is not None:
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
        await super().handle_subscribe(message)
        if reservation is not None:
            operation = self.operations.get(message["id"])
            task = operation.task if operation is not None else None
            _held_while(self.view, reservation, task, self.reservations, message["id"])

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        lane = getattr(self.view, "ws_lane", None)
        payload = {
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
        }
        try:
            answer = await lane.answer(self.context, payload) if lane is not None else None
        except Exception:  # deciding failed: the operation runs here, as without a lane
            log.exception("a WebSocket operation could not be sent to the heavy lane")
            answer = None
        if answer is None:
            await super().run_operation(operation)
            return
        try:
            await _send_answer(operation, answer)
        except Exception as error:
            await self.handle_task_exception(error)
            self.operations.pop(operation.id, None)


async def _send_answer(operation: Operation[Context, None], answer: Answer) -> None:
    """The lane's answer as strawberry sends one: a request error (nothing ran) as the
    operation's `error`, a result as `next` and `complete`."""
    if answer.is_request_error:
        error = {"id": operation.id, "type": "error", "payload": answer.errors}
        await operation.send_operation_message(error)  # type: ignore[arg-type]
        return
    result = {"id": operation.id, "type": "next", "payload": answer.response}
    await operation.send_operation_message(result)  # type: ignore[arg-type]
    await operation.send_operation_message({"id": operation.id, "type": "complete"})


class GuardedLegacyWS(_Reservations, BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: closed unless a `connection_init` arrives in time, closed at a
    second one, the operation limit coded."""

    init_received = False
    """Whether a `connection_init` arrived (it is acknowledged, or the connection closed)."""

    async def handle(self) -> None:
        timer = asyncio.create_task(self._close_unless_initialised(init_seconds(self.context)))
        try:
            await super().handle()
        finally:
            timer.cancel()

    async def _close_unless_initialised(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.init_received:
            return
        log.info("WebSocket connection closed (%s): %s", INIT_TIMEOUT, _late(seconds))
        await self._refuse(_late(seconds), INIT_TIMEOUT, INIT_TIMEOUT_REASON)

    async def _refuse(self, message: str, code: int, reason: str) -> None:
        """A `connection_error` BAD_REQUEST saying why, then the close; a client already
        gone is not an error."""
        payload: dict[str, object] = {"message": message, "extensions": {"code": "BAD_REQUEST"}}
        with contextlib.suppress(Exception):
            await self.send_message(
                ConnectionErrorMessage(type="connection_error", payload=payload)
            )
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.init_received:
            log.info("WebSocket connection refused (%s): a second connection_init", SECOND_INIT)
            refused = "a connection sends one connection_init; this was a second one"
            await self._refuse(refused, SECOND_INIT, SECOND_INIT_REASON)
            return
        self.init_received = True
        await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        reservation = None
        if self.connection_acknowledged:
            running = message["id"] in self.tasks
            error = (
                None
                if running
                else _over_limit(self.max_subscriptions_per_connection, len(self.tasks))
            )
            if error is None:
                # A start of a running id replaces it (strawberry stops the old one): its
                # nodes go back first, and the new one takes its own.
                _give_back(self.view, self.reservations.pop(message["id"], None))
                error, reservation = _reserve(self.view, self.context, message.get("payload"))
            if error is not None:
                if running:  # replaced by what is refused: the old one stops too
                    await self.cleanup_operation(message["id"])
                await self.send_message(ErrorMessage(type="error", id=message["id"], payload=error))
                return
        await super().handle_start(message)
        if reservation is not None:
            task = self.tasks.get(message["id"])
            _held_while(self.view, reservation, task, self.reservations, message["id"])

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        except Exception as error:
            if not client_gone(error):
                raise
            _cut_short(error)
