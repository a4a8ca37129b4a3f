"""The GraphQL view's request decoding: a body (or WebSocket message) that is not the JSON a
client should send is refused as BAD_REQUEST, and no Python text ever reaches a client."""

from __future__ import annotations

import json
import logging
import math
import uuid
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from app import observability
from app.infra.database import is_statement_timeout
from app.schema.context import Context

log = logging.getLogger("partnerbook.http")

MAX_JSON_DEPTH = 64
"""Arrays and objects one JSON value may nest: far above any input of the schema (filters
nest at most a few levels), far below what would exhaust Python's stack further on."""
MAX_NUMBER_DIGITS = 100
"""Characters of one JSON number: GraphQL's Int is 32-bit and Float a double; Python
refuses integers of over 4,300 digits with an exception of its own."""
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
_NOT_AN_OPERATION = (
    "the body must be a JSON object with a `query` string (and optionally `variables`, "
    "`operationName`, `extensions`)"
)


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
    nesting bounded. Raises UndecodableJSON."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UndecodableJSON(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(
            data, parse_constant=_refuse_constant, parse_int=_integer, parse_float=_float
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


def refusal(status: int, message: str, code: str | None = None) -> Response:
    """A request the view cannot run: a JSON GraphQL error, coded by its status."""
    request_id = observability.REQUEST_ID.get() or "-"
    extensions = {"code": code or _CODES.get(status, "BAD_REQUEST"), "requestId": request_id}
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]},
        status_code=status,
        headers={"x-request-id": request_id},
    )


class StrictGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view, answering every refusal as a JSON GraphQL error (strawberry
    answers plain text, and a 500 for JSON it did not expect) and every bug as INTERNAL
    with the request id."""

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return decode_json(data)
        except UndecodableJSON as error:
            raise HTTPException(400, error.reason) from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            return await super().parse_http_body(request)
        except AttributeError:  # the JSON was a string, a number, null…: it has no .get
            raise HTTPException(400, _NOT_AN_OPERATION) from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        observability.REQUEST_ID.set(None)  # get_context sets it: none yet
        response: Response
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            log.info("request refused (%s): %s", error.status_code, error.reason)
            response = refusal(error.status_code, error.reason)
        except Exception as error:
            request_id = observability.REQUEST_ID.get() or uuid.uuid4().hex
            observability.REQUEST_ID.set(request_id)
            if is_statement_timeout(error):  # the key look-up, before any operation
                log.warning("request %s: a statement ran out of time: %s", request_id, error)
                message = f"The request took too long and was stopped (request id {request_id})"
                response = refusal(503, message, "TIMEOUT")
            else:
                log.exception("internal error in request %s", request_id)
                message = f"Internal error (request id {request_id})"
                response = refusal(500, message, "INTERNAL")
        await response(scope, receive, send)
