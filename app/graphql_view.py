"""The `/graphql` endpoint (HTTP and WebSocket): who is asking (the API key of a request,
or of a WebSocket's `connection_init`, watched until it is revoked or expires), the
request's `Context`, and its document when it is persisted (by hash, or from the
allow-list)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLFormattedError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message as TransportMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionErrorMessage,
    ErrorMessage,
    OperationMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from app import locales, observability
from app.domain.messages import Message
from app.graphiql import GraphiQLAssets
from app.infra import api_keys, database
from app.infra.read_routing import ReadRoute, routed
from app.infra.read_share import READ_KEY, reading_for
from app.runtime import Runtime
from app.schema import persisted
from app.schema.auth import bearer_key, key_of_connection_params
from app.schema.context import Context
from app.schema.errors import DATABASE_UNAVAILABLE, ClientError
from app.schema.http import StrictGraphQL, refusal
from app.schema.live import connections
from app.schema.live.handshake import GuardedLegacyWS, GuardedTransportWS
from app.schema.live.heavy import WebSocketLane
from app.schema.live.messages import BoundedWebSocketAdapter, legacy_ws_fault, transport_ws_fault
from app.schema.live.subscription_nodes import SubscriptionNodes

log = logging.getLogger("partnerbook.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_BAD_KEY = Message("the API key is unknown, revoked or expired")
_NO_KEY = Message("an API key is required (Authorization: Bearer <key>)")
_UNAVAILABLE = Message("The database is unavailable; try again shortly")


class AuthenticatingTransportWS(GuardedTransportWS):
    """graphql-transport-ws: a `connection_init` without a valid key closes with 4401, one
    of a key that already has PARTNERBOOK_MAX_CONNECTIONS_PER_KEY connections with 4429; a
    message not of the protocol's shape with 4400, as the spec says (app/schema/live/
    messages.py); no `connection_init` in time, a second one and the operation limit as
    app/schema/live/handshake.py says."""

    async def handle_message(self, message: TransportMessage) -> None:
        fault = transport_ws_fault(message)
        if fault is not None:
            log.info("WebSocket message refused (4400): %s", fault)
            await self.handle_invalid_message(fault)
            return
        await super().handle_message(message)

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
        if not self.connection_init_received and not take_slot(self.view, self.context):
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            reason = too_many_connections(self.context)
            log.info("WebSocket connection refused (%s): %s", connections.CLOSE_CODE, reason)
            await self.websocket.close(code=connections.CLOSE_CODE, reason=reason)
            return
        await super().handle_connection_init(message)

    async def shutdown(self) -> None:
        end_connection(self.view, self.context)
        await super().shutdown()


class KeyWatchingLegacyWS(GuardedLegacyWS):
    """graphql-ws (legacy): authenticates in `on_ws_connect`; stops the key watch. A
    message not of the protocol's shape is answered as the protocol answers a bad one,
    and the connection stays open: an `error` for the operation it names, else a
    `connection_error`; either BAD_REQUEST. No `connection_init` in time (4408), a second
    one (4429) and the operation limit: app/schema/live/handshake.py."""

    async def handle_message(self, message: OperationMessage) -> None:
        fault = legacy_ws_fault(message)
        starts = isinstance(message, dict) and message.get("type") == "start"
        # A `start` before the connection is acknowledged is closed (4401), whatever its shape.
        if fault is None or (starts and not self.connection_acknowledged):
            await super().handle_message(message)
            return
        operation, reason = fault
        log.info("WebSocket message refused: %s", reason)
        error: GraphQLFormattedError = {"message": reason, "extensions": {"code": "BAD_REQUEST"}}
        if operation is None:
            await self.send_message(
                ConnectionErrorMessage(type="connection_error", payload=dict(error))
            )
        else:
            await self.send_message(ErrorMessage(type="error", id=operation, payload=error))

    async def cleanup(self) -> None:
        end_connection(self.view, self.context)
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


def end_connection(view: object, context: Context) -> None:
    """What a WebSocket connection holds, let go when it ends however it ends (before any
    await: the handler may be cancelled): its key watch and its slot of the key's."""
    stop_watching_key(context)
    if isinstance(view, PartnerbookGraphQL):
        view.key_connections.give_back(context)


def take_slot(view: object, context: Context) -> bool:
    """A slot among the connections of the context's key; False past the key's cap
    (PARTNERBOOK_MAX_CONNECTIONS_PER_KEY, per process). A connection without a key (it is
    refused anyway) or already holding one takes none."""
    if context.principal is None or not isinstance(view, PartnerbookGraphQL):
        return True
    limit = context.services.settings.max_connections_per_key
    return view.key_connections.take(context, context.principal.key_id, limit)


def too_many_connections(context: Context) -> str:
    limit = context.services.settings.max_connections_per_key
    return f"this API key already has {limit} WebSocket connections open, the most it may"


async def authenticate_connection(context: Context, params: dict[str, Any]) -> bool:
    """Sets the principal of a WebSocket connection from its `connection_init` payload."""
    if context.principal is not None:
        return True
    if "locale" in params:  # else the upgrade request's Accept-Language stands
        given = params["locale"]
        context.locale = locales.pick(given if isinstance(given, str) else None) or "en"
        locales.use(context.locale)
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
    context.bearer = key
    context.key_watch = asyncio.create_task(watch_key(context, principal))
    # The connection's task: the operations it starts from now on read within the key's
    # share of the pool (app/infra/read_share.py).
    READ_KEY.set(str(principal.key_id))
    return True


class PartnerbookGraphQL(StrictGraphQL):
    graphql_transport_ws_handler_class = AuthenticatingTransportWS
    graphql_ws_handler_class = KeyWatchingLegacyWS
    websocket_adapter_class = BoundedWebSocketAdapter
    graphiql: GraphiQLAssets | None = None
    """GraphiQL's page and assets, served from the package (set with `graphql_ide`)."""
    ws_lane: WebSocketLane | None = None
    """Where the heavy operations of its WebSockets go (app/schema/live/heavy.py)."""
    subscription_nodes: SubscriptionNodes | None = None
    """Each key's budget of live subscriptions (app/schema/live/subscription_nodes.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_connections = connections.KeyConnections()
        """This process's WebSocket connections per API key."""

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from this server (app/graphiql.py), never strawberry's CDN page."""
        if self.graphiql is None:
            return refusal(404, "GraphiQL is not served here", "NOT_FOUND")
        return self.graphiql.page(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if not await authenticate_connection(context, context.connection_params or {}):
            code = "UNAUTHENTICATED" if context.auth_failure is None else DATABASE_UNAVAILABLE
            raise ConnectionRejectionError(
                {"message": context.auth_error, "extensions": {"code": code}}
            )
        if not take_slot(self, context):  # graphql-ws; graphql-transport-ws took it before
            reason = too_many_connections(context)
            log.info("WebSocket connection refused: %s", reason)
            raise ConnectionRejectionError(
                {"message": reason, "extensions": {"code": connections.REFUSAL_CODE}}
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
            locale=locales.negotiate(request.headers.get("accept-language")),
        )
        locales.use(context.locale)  # for what is built without `info` (Partner.from_row)
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

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The request's document, found by its hash when it is persisted
        (app/schema/persisted.py), run like any other; a document a client persisted is
        stored once it has run."""
        settings = context.services.settings
        documents = context.services.documents
        try:
            resolved = await persisted.resolve(
                request_data.query,
                request_data.extensions,
                documents,
                authenticated=context.principal is not None,
                persisted_only=settings.persisted_only,
                automatic=settings.persisted_store_bytes > 0,
            )
        except ClientError as error:
            return ExecutionResult(data=None, errors=[error])
        request_data = dataclasses.replace(request_data, query=resolved.query)
        key = context.principal.key_id if context.principal is not None else None
        with routed(ReadRoute()) as route, reading_for(key):
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        # A standby went away under this query, or a deadlock aborted one of its
        # statements: it runs once more, on the primary.
        if route.failed or route.conflicted:
            context.forget_loaded()
            with routed(ReadRoute(primary_only=True)), reading_for(key):
                result = await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        if resolved.remember is not None and resolved.query and persisted.ran(result):
            await persisted.remember(documents, resolved.remember, resolved.query)
        return result
