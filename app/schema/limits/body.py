"""The HTTP request's size limits: the body's (ASGI middleware, before the application
reads the body) and the head's (request line and headers, in uvicorn's protocol, before
any of it reaches the application)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.schema.limits.rules import LIMIT_EXCEEDED

log = logging.getLogger("partnerbook.http")

MAX_REQUEST_HEAD_BYTES = 65_536
"""Bytes of a request's line and headers (a GET's query string included): 16 times a
browser's largest headers, 4 times the query string from which a GET is heavy."""
_LINGER_BYTES = 1_048_576
"""Bytes of a refused request still read (and dropped) after its answer, so that its
client reads the answer before the connection closes (a socket closed with unread data
resets the connection, and the client may lose the answer)."""


class BodyLimit:
    """ASGI middleware: an HTTP request body over `max_bytes` gets 413 with a GraphQL
    error LIMIT_EXCEEDED, before the application reads any of it. A request whose client
    goes away before its body is whole is not run: its body is not what was sent (a
    Content-Length of 500 bytes more than a complete mutation, then a close, ran it)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
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
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, send: Any) -> None:
        message = f"the request body is over {self.max_bytes} bytes"
        await send_error(send, 413, LIMIT_EXCEEDED, message)


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
) -> None:
    """A whole HTTP answer of one GraphQL error, sent from ASGI middleware."""
    error = {"message": message, "extensions": {"code": code, **(extensions or {})}}
    payload = json.dumps({"data": None, "errors": [error]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"private, no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a request's line and headers held to
    MAX_REQUEST_HEAD_BYTES: past it, 431 (414 when the URL makes most of it) with a
    GraphQL error LIMIT_EXCEEDED, before the application sees the request. httptools and
    uvicorn keep the URL and every header as they arrive, without a limit (200 MB of
    headers were held, and a header's pieces are joined by copying them again each time).

    What is counted: every chunk that began and ended inside a head (a chunk that ends a
    body and begins the next request's head is not), so a head holds at most the limit
    and two reads' worth. `partnerbook serve` runs it (`app.main.server_options`)."""

    _head_pending = True
    _head_bytes = 0
    _refused = False
    _lingered = 0

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._lingered += len(data)
            if self._lingered > _LINGER_BYTES:
                self.transport.close()
            return
        began_in_head = self._head_pending
        super().data_received(data)
        if not (began_in_head and self._head_pending) or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_REQUEST_HEAD_BYTES:
            self._refuse_head()

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_pending = True

    def _refuse_head(self) -> None:
        self._refused = True
        url = getattr(self, "url", b"") or b""
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # an answer to the previous request is under way
            return
        if 2 * len(url) > self._head_bytes:
            status, reason = 414, b"URI Too Long"
            message = f"the URL is over {MAX_REQUEST_HEAD_BYTES} bytes: send the query by POST"
        else:
            status, reason = 431, b"Request Header Fields Too Large"
            message = f"the request line and headers are over {MAX_REQUEST_HEAD_BYTES} bytes"
        log.info("request refused (%s): %s", status, message)
        error = {"message": message, "extensions": {"code": LIMIT_EXCEEDED}}
        payload = json.dumps({"errors": [error]}).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, reason)
            + b"content-type: application/json; charset=utf-8\r\n"
            + b"content-length: %d\r\n" % len(payload)
            + b"cache-control: private, no-store\r\nconnection: close\r\n\r\n"
            + payload
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer; its rest is dropped
            asyncio.get_running_loop().call_later(self.timeout_keep_alive, self.transport.close)
        else:
            self.transport.close()
