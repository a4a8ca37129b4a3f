"""The HTTP request's size limits: the body's (ASGI middleware, before the application
reads the body) and the head's (request line and headers, in uvicorn's protocol, before
any of it reaches the application); and its deadlines to arrive (in uvicorn's protocol:
uvicorn waits for a request's head and body as long as they keep coming, or not)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
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
BAD_REQUEST = "BAD_REQUEST"
"""The code of a request that did not arrive in time (HTTP 408)."""
BUSY = "BUSY"
"""The code of a request or a WebSocket handshake past the process's connections (503)."""
BUSY_MESSAGE = "the server holds as many connections as it may: try again shortly"
REQUEST_HEAD_SECONDS = 10.0
"""The default of PARTNERBOOK_REQUEST_HEAD_SECONDS."""
REQUEST_BODY_SECONDS = 30.0
"""The default of PARTNERBOOK_REQUEST_BODY_SECONDS."""
RESPONSE_WRITE_SECONDS = 30.0
"""The default of PARTNERBOOK_RESPONSE_WRITE_SECONDS."""


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
    and two reads' worth. `partnerbook serve` runs it (`app.main.server_options`).

    A request must also arrive in time: its head within `head_seconds` of its first byte
    (the first request's, of the connection's opening), its body within `body_seconds`
    of its head; past them, 408 with a GraphQL error BAD_REQUEST when nothing of an
    answer was sent yet, and the connection is closed (one that sent nothing is closed
    without an answer). uvicorn had no such deadline: a header sent a byte every few
    seconds, or a body a byte a second, or a chunked body that never ends, held its
    connection (and, for a body, a task in the app) for as long as the client liked.
    Time while uvicorn itself stops reading (a pipelined request waiting for the one
    before it) does not count: the deadline is put off.

    And a client must read its answers: once the connection's buffers are full (the
    transport asks to pause writing), the client has `write_seconds` to read enough of
    them for writing to resume; past that the connection is reset (what was buffered for
    it is let go, in the process and in the kernel). uvicorn waited as long as the
    client liked, holding the answers and the request's task, which waits for the
    buffers to drain.

    Past uvicorn's `limit_concurrency` (PARTNERBOOK_MAX_CONNECTIONS) a request, or a
    WebSocket handshake (which uvicorn let through), is answered 503 with a GraphQL error
    BUSY and `Retry-After: 1` (uvicorn answered requests "Service Unavailable" in plain
    text)."""

    _head_pending = True
    _head_bytes = 0
    _head_tail = b""
    """The last bytes of the head read so far (a blank line may straddle two reads)."""
    _line_bytes: int | None = None
    """Bytes of the request line, once its end was read."""
    _refused = False
    _lingered = 0
    _request_began = False
    _body_pending = False
    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None

    def __init__(
        self,
        *args: Any,
        head_seconds: float = REQUEST_HEAD_SECONDS,
        body_seconds: float = REQUEST_BODY_SECONDS,
        write_seconds: float = RESPONSE_WRITE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.head_seconds = head_seconds
        self.body_seconds = body_seconds
        self.write_seconds = write_seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.head_seconds, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_began = True
        if self._head_timer is None:  # a later request on the connection: from its first byte
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_late)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._lingered += len(data)
            if self._lingered > _LINGER_BYTES:
                self.transport.close()
            return
        if self._head_pending and self._head_over(data):
            self._refuse_head()  # before the parser takes any of it
            return
        super().data_received(data)

    def _head_over(self, data: bytes) -> bool:
        """Whether the head being read, with `data`, is over MAX_REQUEST_HEAD_BYTES: its
        bytes up to the blank line that ends it, found in the bytes themselves (a read may
        hold a whole request, head and body, and the next one's start: counting what the
        parser had taken when it returned counted a whole request of 70 KB, body too, as
        its head, and closed its connection)."""
        seen = self._head_tail + data
        before = self._head_bytes - len(self._head_tail)  # where `seen` starts in the head
        end = seen.find(b"\r\n\r\n")
        if self._line_bytes is None:  # the request line: how much of the head is the URL
            line_end = seen.find(b"\r\n")
            self._line_bytes = None if line_end < 0 else before + line_end
        size = before + (len(seen) if end < 0 else end + 4)
        self._head_bytes = size
        self._head_tail = seen[-3:]
        return size > MAX_REQUEST_HEAD_BYTES

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._head_bytes = 0
        self._head_tail = b""
        self._line_bytes = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        answering = self.cycle is not None and not self.cycle.response_complete
        if not answering and not self.parser.should_upgrade() and self._busy():
            # uvicorn's own answer past `limit_concurrency` is "Service Unavailable" in
            # plain text; a client reads this one as any refusal. (Behind a pipelined
            # request still being answered, uvicorn's answer keeps its turn.)
            self._refuse(503, b"Service Unavailable", BUSY, BUSY_MESSAGE, b"retry-after: 1\r\n")
            return
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:  # a request, not an upgrade to a WebSocket
            self._body_pending = True
            self._body_timer = self.loop.call_later(self.body_seconds, self._body_late)

    def on_body(self, body: bytes) -> None:
        if not self._refused:  # a request refused at its head has no cycle to take it
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._head_pending = True
        self._request_began = False
        self._body_pending = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _busy(self) -> bool:
        """Past `limit_concurrency` (uvicorn's test, logged as uvicorn logs it)."""
        limit = self.limit_concurrency
        if limit is not None and max(len(self.connections), len(self.tasks)) >= limit:
            self.logger.warning("Exceeded concurrency limit.")
            return True
        return False

    def handle_websocket_upgrade(self) -> None:
        if self._busy():
            self._refuse(503, b"Service Unavailable", BUSY, BUSY_MESSAGE, b"retry-after: 1\r\n")
            return
        super().handle_websocket_upgrade()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.write_seconds, self._write_late)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _write_late(self) -> None:
        self._write_timer = None
        if self.flow is None or not self.flow.write_paused:
            return
        log.info(
            "connection dropped: the client read too little of its answers in %s s",
            self.write_seconds,
        )
        # A reset, not a close: a socket closed with unsent data would keep it (in the
        # kernel, sending a FIN the client never reads) for as long as the client likes.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()  # `connection_lost` follows: the request's task is let go

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._write_timer = None

    def _put_off(self, seconds: float, late: Any) -> asyncio.TimerHandle | None:
        """A new deadline when uvicorn stopped reading this connection (the client is not
        the one late), else None."""
        if self.flow is not None and self.flow.read_paused and not self.transport.is_closing():
            return self.loop.call_later(seconds, late)
        return None

    def _head_late(self) -> None:
        self._head_timer = self._put_off(self.head_seconds, self._head_late)
        if self._head_timer is not None or self.transport.is_closing():
            return
        if not self._request_began:  # nothing of a request came: no one to answer
            log.debug("connection closed: no request within %s s", self.head_seconds)
            self.transport.close()
            return
        message = f"the request line and headers did not arrive within {self.head_seconds} s"
        self._refuse(408, b"Request Timeout", BAD_REQUEST, message)

    def _body_late(self) -> None:
        self._body_timer = self._put_off(self.body_seconds, self._body_late)
        if self._body_timer is not None or not self._body_pending:
            return
        if self.transport.is_closing():
            return
        cycle = self.cycle
        # The app's task waiting for the body ends: it reads a disconnect (BodyLimit
        # drops the request), and whatever it sends is dropped.
        answered = cycle.response_started
        cycle.disconnected = True
        cycle.message_event.set()
        if answered:
            self._refused = True
            self.transport.close()  # an answer is under way (or done): only a close
            return
        message = f"the request body did not arrive within {self.body_seconds} s of its head"
        self._refuse(408, b"Request Timeout", BAD_REQUEST, message)

    def _refuse_head(self) -> None:
        line = self._head_bytes if self._line_bytes is None else self._line_bytes
        if 2 * line > self._head_bytes:
            status, reason = 414, b"URI Too Long"
            message = f"the URL is over {MAX_REQUEST_HEAD_BYTES} bytes: send the query by POST"
        else:
            status, reason = 431, b"Request Header Fields Too Large"
            message = f"the request line and headers are over {MAX_REQUEST_HEAD_BYTES} bytes"
        self._refuse(status, reason, LIMIT_EXCEEDED, message)

    def _refuse(
        self, status: int, reason: bytes, code: str, message: str, headers: bytes = b""
    ) -> None:
        """Answers `status` with one GraphQL error, reads (and drops) what the client
        still sends for a while, then closes; only closes when an answer to an earlier
        request is under way."""
        self._refused = True
        self._cancel_timers()
        if self._head_pending and self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # an answer to the previous request is under way
            return
        log.info("request refused (%s): %s", status, message)
        error = {"message": message, "extensions": {"code": code}}
        payload = json.dumps({"errors": [error]}).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, reason)
            + b"content-type: application/json; charset=utf-8\r\n"
            + b"content-length: %d\r\n" % len(payload)
            + b"cache-control: private, no-store\r\nconnection: close\r\n"
            + headers
            + b"\r\n"
            + payload
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer; its rest is dropped
            asyncio.get_running_loop().call_later(self.timeout_keep_alive, self.transport.close)
        else:
            self.transport.close()
