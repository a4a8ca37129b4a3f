"""The GraphQL view's HTTP side: request decoding (a body or WebSocket message that is not
the JSON a client should send is refused as BAD_REQUEST, and no Python text ever reaches a
client), the media type and status of each answer (app/schema/media.py), and the methods
(GET runs queries only: a mutation is 405; subscriptions run over WebSocket)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from contextvars import ContextVar
from email.message import Message
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import observability
from app.infra.database import is_statement_timeout, is_unavailable
from app.schema import media
from app.schema.context import Context
from app.schema.errors import DATABASE_UNAVAILABLE

log = logging.getLogger("partnerbook.http")

MAX_JSON_DEPTH = 64
"""Arrays and objects one JSON value may nest: far above any input of the schema (filters
nest at most a few levels), far below what would exhaust Python's stack further on."""
MAX_NUMBER_DIGITS = 100
"""Characters of one JSON number: GraphQL's Int is 32-bit and Float a double; Python
refuses integers of over 4,300 digits with an exception of its own."""
_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
}
_NOT_AN_OPERATION = (
    "the body must be a JSON object with a `query` string (and optionally `variables`, "
    "`operationName`, `extensions`)"
)
_NOT_ACCEPTABLE = (
    f"answers are served as {media.GRAPHQL_RESPONSE} or {media.JSON}: "
    "the Accept header names neither"
)
_OVER_WEBSOCKET = (
    "subscriptions are served over WebSocket at /graphql (graphql-transport-ws or graphql-ws)"
)
_ENCODED = "the body's Content-Encoding `%s` is not served: send it as it is (identity)"
_BAD = {"code": "BAD_REQUEST"}
ANSWER_MEDIA: ContextVar[str | None] = ContextVar("answer_media", default=media.JSON)
"""The media type the request being served asked for (None: none we serve)."""
DECODED_BODY: ContextVar[tuple[bytes, object] | None] = ContextVar("decoded_body", default=None)
"""A request body and what `decode_json` made of it, when the heavy lane (app/schema/
lane.py) decoded it to judge the request: the view takes it instead of decoding the same
bytes again (~35 µs a request)."""


class UndecodableJSON(json.JSONDecodeError):
    """A request body or WebSocket message that is not acceptable JSON; `reason` says why
    in terms a client understands. A JSONDecodeError, so strawberry's WebSocket handlers
    treat it as the invalid message it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason


def _refuse_constant(name: str) -> Any:
    raise UndecodableJSON(f"`{name}` is not JSON")


def _integer(digits: str) -> int:
    if len(digits) > MAX_NUMBER_DIGITS:
        raise UndecodableJSON(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(digits)


def _float(text: str) -> float:
    value = float(text)
    if len(text) > MAX_NUMBER_DIGITS or not math.isfinite(value):
        raise UndecodableJSON(f"the number {text[:20]}… is too large")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object naming a key once: `{"query": "mutation…", "query": "{…}"}` ran the last
    `query`, where a proxy or a log that read the first saw another operation."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise UndecodableJSON(f"the JSON names `{key[:64]}` twice in one object")
            seen.add(key)
    return value


def _check_depth(value: object) -> None:
    """Iterative, so a deep value cannot exhaust the stack here either."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        children = (
            current.values()
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else None
        )
        if children is None:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise UndecodableJSON(f"the JSON nests more than {MAX_JSON_DEPTH} levels deep")
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def decode_json(data: str | bytes) -> object:
    """Strict JSON (RFC 8259): UTF-8, no NaN or Infinity, numbers of reasonable size,
    nesting bounded, no key twice in an object. Raises UndecodableJSON."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UndecodableJSON(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_int=_integer,
            parse_float=_float,
            object_pairs_hook=_object,
        )
    except UndecodableJSON:
        raise
    except RecursionError:
        raise UndecodableJSON(f"the JSON nests more than {MAX_JSON_DEPTH} levels deep") from None
    except json.JSONDecodeError as error:
        raise UndecodableJSON(
            f"the body is not valid JSON (at line {error.lineno}, column {error.colno})"
        ) from None
    _check_depth(value)
    return value


OFF_LOOP_BYTES = 16_384
"""Bytes of a body (characters of a WebSocket message) from which it is decoded in a
worker thread, not on the event loop: decoding and walking 1 MB of empty objects took
~0.35 s, every other request of the process waiting. With the heavy lane on, such a body
is the lane's (app/schema/lane.py) before it is decoded here."""


async def _decode_big_body_off_loop(body: bytes) -> None:
    """Decodes a big body in a worker thread, for `parse_json` to take (DECODED_BODY)."""
    if len(body) <= OFF_LOOP_BYTES:
        return
    known = DECODED_BODY.get()
    if known is not None and known[0] == body:
        return
    try:
        value = await asyncio.to_thread(decode_json, body)
    except UndecodableJSON as error:
        raise HTTPException(400, error.reason) from None
    DECODED_BODY.set((body, value))


def _body_media_refusal(content_type: str | None) -> str | None:
    """Why a POST body of `content_type` is not read, or None: it must be
    `application/json` (strawberry took any type containing it, `application/jsonx`; the
    type is case-insensitive, `APPLICATION/JSON` is read), in UTF-8 (a body declared
    `charset=latin-1` was read as UTF-8: `Ã©` became `é`), its charset named once and
    plainly (`charset*=utf-8''utf-8`, RFC 2231's form, was an INTERNAL 500; of two
    charsets the last was read, where a proxy may read the first)."""
    header = Message()
    header["content-type"] = content_type or ""
    (mime, _), *parameters = header.get_params(failobj=[("", "")])
    if mime.lower() != media.JSON:
        return f"Unsupported content type: the body must be {media.JSON}"
    # A value is RFC 2231's (charset, language, text) for `charset*=` (typeshed says str).
    charsets: list[object] = [value for name, value in parameters if name.lower() == "charset"]
    if len(charsets) > 1:
        return "Unsupported content type: the parameter `charset` is given more than once"
    charset = charsets[0] if charsets else "utf-8"
    if not isinstance(charset, str):  # `charset*=utf-8''utf-8`
        return (
            "Unsupported content type: the parameter `charset*` is not served; "
            f"send {media.JSON}; charset=utf-8"
        )
    charset = charset.strip().lower()
    if charset not in ("utf-8", "utf8"):
        return (
            f"Unsupported content type: the charset `{charset[:40]}` is not served; "
            f"send {media.JSON} in UTF-8"
        )
    return None


class _RequestAdapter(StarletteRequestAdapter):
    """strawberry's request, its media type in lower case: strawberry reads a body only
    when its Content-Type contains `application/json` as written (`APPLICATION/JSON` was
    refused, though media types are case-insensitive); `_body_media_refusal` has judged
    the whole header by then."""

    @property
    def content_type(self) -> str | None:
        content_type = super().content_type
        if content_type is None:
            return None
        mime, separator, parameters = content_type.partition(";")
        return mime.strip().lower() + separator + parameters


def refusal(
    status: int, message: str, code: str | None = None, *, headers: dict[str, str] | None = None
) -> Response:
    """A request the view cannot run: a GraphQL error, coded by its status, in the media
    type asked for."""
    request_id = observability.REQUEST_ID.get() or "-"
    extensions = {"code": code or _CODES.get(status, "BAD_REQUEST"), "requestId": request_id}
    answer_media = ANSWER_MEDIA.get() if status != 406 else None
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]},
        status_code=status,
        headers={"x-request-id": request_id, **(headers or {})},
        media_type=media.content_type(answer_media or media.JSON),
    )


class StrictGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view, answering every refusal as a GraphQL error (strawberry
    answers plain text, and a 500 for JSON it did not expect) and every bug as INTERNAL
    with the request id, each answer in the media type the client asked for."""

    request_adapter_class = _RequestAdapter

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    def encode_json(self, data: object) -> str:
        """JSON by orjson (a 50-row page in ~20 µs against ~250 µs for json.dumps), as
        text (a WebSocket message must be a text frame); json.dumps for what orjson
        refuses (an integer beyond 64 bits, a lone surrogate), so answers never fail."""
        try:
            return orjson.dumps(data).decode()
        except (TypeError, orjson.JSONEncodeError):
            return json.dumps(data, separators=(",", ":"))

    def parse_json(self, data: str | bytes) -> Any:
        known = DECODED_BODY.get()
        if known is not None and known[0] == data:
            return known[1]
        try:
            return decode_json(data)
        except UndecodableJSON as error:
            raise HTTPException(400, error.reason) from None

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET of a persisted query names no `query`: it is an operation, not the IDE.
        return super().should_render_graphql_ide(request) and not request.query_params.get(
            "extensions"
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if ANSWER_MEDIA.get() is None:
            raise HTTPException(406, _NOT_ACCEPTABLE)
        if request.method == "POST":
            refused = _body_media_refusal(request.content_type)
            if refused is not None:
                raise HTTPException(400, refused)
            # Not decoded: a gzip body was refused as not UTF-8, a plain one declared gzip ran.
            encoding = request.headers.get("content-encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                raise HTTPException(415, _ENCODED % encoding[:40])
            await _decode_big_body_off_loop(await request.get_body())
        try:
            data = await super().parse_http_body(request)
        except AttributeError:  # the JSON was a string, a number, null…: it has no .get
            raise HTTPException(400, _NOT_AN_OPERATION) from None
        for operation in data if isinstance(data, list) else [data]:
            if not isinstance(operation.operation_name, str | None):
                raise HTTPException(400, "`operationName` must be a string or null, if provided")
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """strawberry's, with GET for queries only (a mutation is 405, as the spec says)
        and no subscription over plain HTTP; an empty `operationName` is none."""
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name or None,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:  # no operation of that name
            message = error.as_http_error_reason()
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=_BAD)])
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, _OVER_WEBSOCKET) from error
            raise HTTPException(405, "mutations are sent with POST, never GET") from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The status and shape app/schema/media.py gives the answer's media type."""
        answer_media = ANSWER_MEDIA.get() or media.JSON
        status = 200
        if isinstance(response_data, dict):
            status, shaped = media.shaped(dict(response_data), answer_media)
            response_data = cast(GraphQLHTTPResponse, shaped)
        response = super().create_response(response_data, sub_response)
        if not sub_response.status_code:
            response.status_code = status
        response.headers["content-type"] = media.content_type(answer_media)
        if status == 503:
            response.headers["retry-after"] = "1"
        elif status == 401:
            response.headers["www-authenticate"] = 'Bearer realm="partnerbook"'
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        observability.REQUEST_ID.set(None)  # get_context sets it: none yet
        request = Request(scope=scope, receive=receive)
        ANSWER_MEDIA.set(media.negotiate(request.headers.get("accept")))
        response: Response
        try:
            response = await self.run(request)
        except HTTPException as error:
            log.info("request refused (%s): %s", error.status_code, error.reason)
            extra = {
                405: {"allow": "POST" if request.method == "GET" else "GET, POST"},
                415: {"accept-encoding": "identity"},
            }.get(error.status_code)
            response = refusal(error.status_code, error.reason, headers=extra)
        except Exception as error:
            response = _failure(error)
        if not response.headers.get("content-type", "").startswith("text/html"):
            response.headers.update(media.CACHE_HEADERS)
        await response(scope, receive, send)


def _failure(error: Exception) -> Response:
    """The answer to an exception no GraphQL error reports (raised before any operation:
    the key's look-up, a persisted document's)."""
    request_id = observability.REQUEST_ID.get() or uuid.uuid4().hex
    observability.REQUEST_ID.set(request_id)
    if is_statement_timeout(error):
        log.warning("request %s: a statement ran out of time: %s", request_id, error)
        message = f"The request took too long and was stopped (request id {request_id})"
        return refusal(503, message, "TIMEOUT", headers={"retry-after": "1"})
    if is_unavailable(error):
        log.warning("request %s: database unavailable: %s", request_id, error)
        message = f"The database is unavailable; try again shortly (request id {request_id})"
        return refusal(503, message, DATABASE_UNAVAILABLE, headers={"retry-after": "1"})
    log.exception("internal error in request %s", request_id)
    return refusal(500, f"Internal error (request id {request_id})", "INTERNAL")
