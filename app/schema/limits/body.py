"""The HTTP request body's size limit (ASGI middleware, before the application reads the
body), with the headers a request names at most once; and the answers of one GraphQL
error: the ASGI one it (and the heavy lane) sends, the raw HTTP/1.1 one uvicorn's
protocol writes. The request's head, its framing and its deadlines to arrive are held in
uvicorn's protocol (`protocol.py`); the limits and codes both use are in `request.py`."""

from __future__ import annotations

import json
import logging
from typing import Any

from app.schema import media
from app.schema.limits.request import BAD_REQUEST
from app.schema.limits.rules import LIMIT_EXCEEDED

log = logging.getLogger("partnerbook.http")

ONCE_ONLY_HEADERS = (
    b"authorization",
    b"content-type",
    b"content-encoding",
    b"transfer-encoding",
    b"content-length",
    b"host",
)
"""Headers a request names at most once. Each says who sends the request or how it is
read, and readers that take a different one of two disagree: the heavy lane took the
last Authorization (none valid: the request ran in the API process, around the lane and
its per-key limit) and the view the first (a valid key)."""


class BodyLimit:
    """ASGI middleware: an HTTP request body over `max_bytes` gets 413 with a GraphQL
    error LIMIT_EXCEEDED, before the application reads any of it. A request whose client
    goes away before its body is whole is not run: its body is not what was sent (a
    Content-Length of 500 bytes more than a complete mutation, then a close, ran it).

    First of all, a request naming one of ONCE_ONLY_HEADERS twice gets 400 with a
    GraphQL error BAD_REQUEST, one with a transfer coding other than `chunked` 501; and
    what the application sees of the headers is what
    came before the body (a server may add a chunked body's trailers to them). Each
    refusal is in the media type the request's Accept asks for, as the view's are."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A copy: a server may add a chunked body's trailers to its list once the body is
        # read (uvicorn did), where the lane and the view would take them for headers.
        headers = list(scope.get("headers") or [])
        scope = {**scope, "headers": headers}
        media_type = answer_media(headers)
        twice = repeated_header(headers)
        if twice is not None:
            why = f"the header `{twice}` is sent more than once; a request names it once"
            await send_error(send, 400, BAD_REQUEST, why, media_type=media_type)
            return
        coding = dict(headers).get(b"transfer-encoding")
        if coding is not None and coding.strip().lower() != b"chunked":
            # `gzip, chunked` was read as chunked, the gzip ignored (RFC 9112, 6.1: a
            # transfer coding the server does not understand is a 501).
            why = "only the `chunked` transfer coding is understood; send the body without others"
            await send_error(send, 501, BAD_REQUEST, why, media_type=media_type)
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, media_type)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                log.info("request abandoned: the client left before its body was whole")
                return  # nobody to answer, and what came is not the request
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, media_type)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, send: Any, media_type: str) -> None:
        message = f"the request body is over {self.max_bytes} bytes"
        await send_error(send, 413, LIMIT_EXCEEDED, message, media_type=media_type)


def repeated_header(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first of ONCE_ONLY_HEADERS that `headers` names twice, or None."""
    seen: set[bytes] = set()
    for name, _ in headers:
        lowered = name.lower()
        if lowered in ONCE_ONLY_HEADERS:
            if lowered in seen:
                return lowered.decode()
            seen.add(lowered)
    return None


def answer_media(headers: list[tuple[bytes, bytes]]) -> str:
    """The media type an error is answered in, as the view chooses it (application/json
    when the Accept header names none of ours)."""
    accept = b",".join(value for name, value in headers if name.lower() == b"accept")
    return media.negotiate(accept.decode("latin-1") if accept else None) or media.JSON


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI `receive` that hands the body already read, then passes on."""
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_error(
    send: Any,
    status: int,
    code: str,
    message: str,
    *,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    extensions: dict[str, Any] | None = None,
    media_type: str = media.JSON,
) -> None:
    """A whole HTTP answer of one GraphQL error, sent from ASGI middleware, in
    `media_type` (application/graphql-response+json has no `data`)."""
    error = {"message": message, "extensions": {"code": code, **(extensions or {})}}
    body: dict[str, Any] = {"errors": [error]}
    if media_type != media.GRAPHQL_RESPONSE:
        body = {"data": None, **body}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media.content_type(media_type).encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"private, no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def raw_error(status: int, reason: bytes, code: str, message: str, headers: bytes = b"") -> bytes:
    """A whole HTTP/1.1 answer of one GraphQL error, in application/json, that closes the
    connection: what uvicorn's protocol (`protocol.py`) writes to the transport when it
    refuses a request itself (nothing of an answer sent yet). `headers` are raw header
    lines, each ending in CRLF."""
    error = {"message": message, "extensions": {"code": code}}
    payload = json.dumps({"errors": [error]}).encode()
    return (
        b"HTTP/1.1 %d %s\r\n" % (status, reason)
        + b"content-type: application/json; charset=utf-8\r\n"
        + b"content-length: %d\r\n" % len(payload)
        + b"cache-control: private, no-store\r\nconnection: close\r\n"
        + headers
        + b"\r\n"
        + payload
    )
