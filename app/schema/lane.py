"""The heavy lane: operations that may cost much run in another process, so that they
cannot hold this process's event loop (or its GIL) while the cheap ones wait.

An HTTP POST to /graphql is *heavy* when its body is larger than `heavy_body_bytes`
(it is not even decoded here), when its walk (app/schema/limits.py: the nodes the
operation may return) reaches `heavy_cost`, or when it runs a bulk mutation
(`importPartners`); a persisted query sent by its hash alone is judged by the document
the hash names (app/schema/persisted.py). A heavy request from a known key is forwarded, as it came, over a
Unix socket to the lane process (app/lane_process.py), which runs the same app at a
lower CPU priority; its answer comes back unchanged, with `x-partnerbook-lane: heavy`.

Admission, before anything is forwarded: at most `heavy_per_key` heavy requests of one
key at a time (more: 429 RATE_LIMITED), at most `heavy_queue` waiting in all (more: 503
BUSY), `heavy_concurrency` running in the lane. Everything else (cheap operations,
requests the walk refuses, malformed bodies, unknown keys, WebSockets) runs here as
before. While the lane process is not running, heavy requests run here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import h11
from graphql import GraphQLError, GraphQLSchema, OperationType
from starlette.types import ASGIApp, Receive, Scope, Send

from app.schema.auth import bearer_key, walk_cached
from app.schema.http import DECODED_BODY, UndecodableJSON, decode_json
from app.schema.limits import Limits, Walk, over_limit
from app.schema.limits.body import answer_media, replaying, send_error
from app.schema.parsing import parse_operation
from app.schema.persisted import requested_hash

log = logging.getLogger("partnerbook.lane")

LANE_HEADER = b"x-partnerbook-lane"
BULK_FIELDS = frozenset({("Mutation", "importPartners")})
"""Fields heavy whatever their cost says: they work through up to 1,000 rows."""
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"host"}
)
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_READ_SIZE = 65_536


@dataclass(frozen=True)
class LanePolicy:
    """When a request is heavy, and how many may be in the lane (settings `heavy_*`)."""

    cost: int = 100
    body_bytes: int = 16_384
    concurrency: int = 2
    per_key: int = 2
    queue: int = 64


def _get_payload(query_string: bytes) -> object:
    """A GET request's operation, as the view reads it from the URL."""
    params = urllib.parse.parse_qs(query_string.decode("latin-1"))
    payload: dict[str, object] = {name: values[-1] for name, values in params.items()}
    for name in ("variables", "extensions"):
        if isinstance(payload.get(name), str):
            payload[name] = decode_json(str(payload[name]))
    return payload


def operation_payload(body: bytes, query_string: bytes | None = None) -> dict[str, Any] | None:
    """The operation a POST `body` (or a GET's `query_string`) carries, or None when this
    cannot make sense of it (the view answers it)."""
    try:
        payload = decode_json(body) if query_string is None else _get_payload(query_string)
    except (UndecodableJSON, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def is_heavy(
    schema: GraphQLSchema,
    body: bytes,
    policy: LanePolicy,
    limits: Limits,
    max_tokens: int,
    *,
    query_string: bytes | None = None,
) -> bool:
    """Whether the request (its POST body, or its GET `query_string`) is a heavy
    operation. Anything this cannot make sense of is not heavy: it runs here, where the
    view answers it (400, LIMIT_EXCEEDED…), and that answer is cheap."""
    if max(len(body), len(query_string or b"")) > policy.body_bytes:
        return True
    payload = operation_payload(body, query_string)
    return payload is not None and is_heavy_operation(schema, payload, policy, limits, max_tokens)


def is_heavy_operation(
    schema: GraphQLSchema,
    payload: dict[str, Any],
    policy: LanePolicy,
    limits: Limits,
    max_tokens: int,
) -> bool:
    """Whether a decoded operation (its `query` text already found when persisted) is heavy."""
    walked = walk_of(schema, payload, limits, max_tokens)
    if walked is None or walked.operation == OperationType.SUBSCRIPTION:
        return False
    return walked.cost >= policy.cost or not walked.fields.isdisjoint(BULK_FIELDS)


def walk_of(schema: GraphQLSchema, payload: Any, limits: Limits, max_tokens: int) -> Walk | None:
    """The walk of a decoded operation's document, or None when this cannot make sense of
    it or the limits refuse it (the view answers it, at the cost of the walk done here)."""
    if not isinstance(payload, dict):
        return None
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName") or None
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    if not isinstance(operation_name, str | None):
        return None
    try:
        document = parse_operation(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    walked = walk_cached(schema, document, operation_name, variables, limits.default_page)
    if walked is None or over_limit(walked, limits) is not None:
        return None
    return walked


class Lane(Protocol):
    """Where heavy requests go: the lane process's socket, while it answers."""

    @property
    def socket_path(self) -> str | None: ...


Authenticate = Callable[[str], Awaitable[Any]]
"""A key to its principal (or None), as the view authenticates it."""
FindDocument = Callable[[str], Awaitable[Any]]
"""A persisted document's hash to the document (its `text`), or None."""


class LaneFull(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Admission:
    """Counts heavy requests in the lane, per key and in all."""

    def __init__(self, policy: LanePolicy) -> None:
        self.policy = policy
        self.running = asyncio.Semaphore(policy.concurrency)
        self.per_key: Counter[str] = Counter()
        self.in_lane = 0

    @contextlib.asynccontextmanager
    async def admit(self, key: str) -> Any:
        if self.per_key[key] >= self.policy.per_key:
            raise LaneFull(
                429,
                "RATE_LIMITED",
                f"this key already has {self.policy.per_key} expensive requests running or "
                "waiting; send the next one when one of them has been answered",
            )
        if self.in_lane >= self.policy.queue:
            raise LaneFull(
                503, "BUSY", "too many expensive requests are waiting; try again shortly"
            )
        self.per_key[key] += 1
        self.in_lane += 1
        try:
            async with self.running:
                yield
        finally:
            self.in_lane -= 1
            self.per_key[key] -= 1
            if self.per_key[key] <= 0:
                del self.per_key[key]


class HeavyLane:
    """ASGI middleware of the API process: forwards heavy requests to the lane."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        schema: Callable[[], GraphQLSchema],
        lane: Lane,
        authenticate: Callable[[Scope], Authenticate | None],
        policy: LanePolicy,
        limits: Limits,
        max_tokens: int,
        count: Callable[[str], None] = lambda outcome: None,
        documents: Callable[[Scope], FindDocument | None] = lambda scope: None,
        admission: Admission | None = None,
    ) -> None:
        self.app = app
        self.documents = documents
        self.count = count
        self.schema = schema
        self.lane = lane
        self.authenticate = authenticate
        self.policy = policy
        self.limits = limits
        self.max_tokens = max_tokens
        self.admission = admission or Admission(policy)
        """The key's places in the lane, shared with its WebSocket operations'."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        socket_path = self.lane.socket_path
        if (
            socket_path is None
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "POST")
            or scope["path"] != "/graphql"
        ):
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        replay = replaying(body, receive)
        query_string = scope.get("query_string", b"") if scope["method"] == "GET" else None
        if query_string == b"" or not complete:  # GraphiQL's page, or the client went away
            await self.app(scope, replay, send)
            return
        # The key first: a document without a valid one is neither parsed nor walked
        # (the view refuses it, UNAUTHENTICATED, unread).
        headers = dict(scope.get("headers") or [])
        key = bearer_key(headers.get(b"authorization", b"").decode("latin-1"))
        authenticate = self.authenticate(scope)
        try:
            principal = await authenticate(key) if key and authenticate else None
        except Exception:  # the database is away: the view says so, as for any request
            principal = None
        if principal is None or key is None or not await self._heavy(scope, body, query_string):
            await self.app(scope, replay, send)
            return
        request_id = headers.get(b"x-request-id", b"")
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex.encode()
        try:
            async with self.admission.admit(key):
                if await forward(socket_path, scope, body, request_id, send):
                    self.count("forwarded")
                    return
        except LaneFull as full:
            self.count(full.code.lower())
            await _refuse(send, full, request_id, scope)
            return
        self.count("here")
        log.warning("the heavy lane did not answer; request %s runs here", request_id.decode())
        await self.app(scope, replay, send)

    async def _heavy(self, scope: Scope, body: bytes, query_string: bytes | None) -> bool:
        """`is_heavy`, a persisted query judged by the document its hash names."""
        if max(len(body), len(query_string or b"")) > self.policy.body_bytes:
            return True
        payload = operation_payload(body, query_string)
        if payload is None:
            return False
        if query_string is None:  # the view reads the same body: it takes this
            DECODED_BODY.set((body, payload))
        find = self.documents(scope)
        if not payload.get("query") and find is not None:
            try:
                sha256 = requested_hash(payload.get("extensions"))
                found = await find(sha256) if sha256 else None
            except Exception:  # malformed, or the database is away: the view answers it
                found = None
            payload = {**payload, "query": found.text if found is not None else None}
        schema = self.schema()
        return is_heavy_operation(schema, payload, self.policy, self.limits, self.max_tokens)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


async def forward(
    socket_path: str, scope: Scope, body: bytes, request_id: bytes, send: Send
) -> bool:
    """Sends the request to the lane and its answer to the client. False when the lane
    could not be reached before anything was sent to the client (the caller runs the
    request here instead); once the answer has started, a broken lane ends it."""
    try:
        reader, writer = await asyncio.open_unix_connection(socket_path)
    except OSError:
        return False
    started = False
    try:
        client = h11.Connection(h11.CLIENT)
        headers = [
            (name, value)
            for name, value in scope.get("headers") or []
            if name not in _HOP_BY_HOP and name not in (b"content-length", b"x-request-id")
        ]
        headers += [
            (b"host", b"partnerbook-lane"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id),
            (b"connection", b"close"),
        ]
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        method = scope["method"].encode()
        writer.write(client.send(h11.Request(method=method, target=target, headers=headers)))
        writer.write(client.send(h11.Data(data=body)))
        writer.write(client.send(h11.EndOfMessage()))
        await writer.drain()
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(await reader.read(_READ_SIZE))
                continue
            if isinstance(event, h11.Response):
                answer = [(n, v) for n, v in event.headers if n not in _HOP_BY_HOP]
                answer.append((LANE_HEADER, b"heavy"))
                await send(
                    {"type": "http.response.start", "status": event.status_code, "headers": answer}
                )
                started = True
            elif isinstance(event, h11.Data):
                await send(
                    {"type": "http.response.body", "body": bytes(event.data), "more_body": True}
                )
            elif isinstance(event, h11.EndOfMessage):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return True
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the lane closed the connection mid-answer")
    except (OSError, h11.ProtocolError, ConnectionError):
        if not started:
            return False
        log.warning("the heavy lane broke off an answer (request %s)", request_id.decode())
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _refuse(send: Send, full: LaneFull, request_id: bytes, scope: Scope) -> None:
    """The 429 or 503, in the media type the request's Accept asks for (as the view's)."""
    headers = ((b"retry-after", b"1"), (b"x-request-id", request_id))
    extensions = {"requestId": request_id.decode()}
    await send_error(
        send,
        full.status,
        full.code,
        full.message,
        headers=headers,
        extensions=extensions,
        media_type=answer_media(scope["headers"]),
    )
