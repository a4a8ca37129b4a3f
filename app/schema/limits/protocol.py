"""uvicorn's httptools protocol, bounded (`BoundedHttpTools`): the request's line and
headers held to a size, what it sends besides its head and body (chunk framing,
trailers) held to its body's size, its head and body to deadlines to arrive, its answers
to one to be read, and the process's connections to uvicorn's `limit_concurrency`; each
refusal a GraphQL error the protocol writes itself (`body.raw_error`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.schema.limits.body import raw_error
from app.schema.limits.request import (
    BAD_REQUEST,
    BUSY,
    BUSY_MESSAGE,
    FRAMING_BYTES_PER_BODY_BYTE,
    MAX_REQUEST_HEAD_BYTES,
    REQUEST_BODY_SECONDS,
    REQUEST_HEAD_SECONDS,
    RESPONSE_WRITE_SECONDS,
)
from app.schema.limits.rules import LIMIT_EXCEEDED

log = logging.getLogger("partnerbook.http")

_LINGER_BYTES = 1_048_576
"""Bytes of a refused request still read (and dropped) after its answer, so that its
client reads the answer before the connection closes (a socket closed with unread data
resets the connection, and the client may lose the answer)."""


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a request's line and headers held to
    MAX_REQUEST_HEAD_BYTES: past it, 431 (414 when the URL makes most of it) with a
    GraphQL error LIMIT_EXCEEDED, before the application sees the request. httptools and
    uvicorn keep the URL and every header as they arrive, without a limit (200 MB of
    headers were held, and a header's pieces are joined by copying them again each time).

    What is counted: every chunk that began and ended inside a head (a chunk that ends a
    body and begins the next request's head is not), so a head holds at most the limit
    and two reads' worth. `partnerbook serve` runs it (`app.main.server_options`).

    What a request sends besides its head and its body (a chunked body's chunk sizes,
    extensions and line ends, its trailers) is held to MAX_REQUEST_HEAD_BYTES and
    FRAMING_BYTES_PER_BODY_BYTE per byte of body: past it, 431 with a GraphQL error
    LIMIT_EXCEEDED and a close (a trailer that never ended was taken, 98 MB in 37 s,
    httptools copying it again at each read on the event loop; a chunk extension that
    never ended, until the body's deadline). Trailers are dropped (uvicorn added them to
    the request's headers once its body was read), the body's pieces of one read are
    handed to the request in one (uvicorn copies what it holds again for each), and a
    request that does not parse is refused as any other (400, BAD_REQUEST, naming what
    httptools found; uvicorn's answer was plain text).

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
    _head_end: int | None = None
    """Where the head ended in the read `_head_over` looked at last, if it did."""
    _framing = 0
    """Bytes of the request being read that came after its head: its body, chunk sizes
    and extensions, line ends, trailers (none of which was held to anything: httptools
    keeps a trailer as it keeps a header, joining its pieces by copying them again at
    each read, and skips a chunk extension for as long as it goes on)."""
    _body = 0
    """Bytes of body httptools gave of the request being read."""
    _counting = True
    """False for the rest of a read once a request ended in it (the next request's bytes
    in that read were not counted as received: its body is not counted either)."""
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
        self._held: list[bytes] = []
        """Pieces of body of the read being parsed, not yet handed to the request."""

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
        if not self._head_pending:
            self._framing += len(data)
        elif self._head_over(data):
            self._refuse_head()  # before the parser takes any of it
            return
        elif self._head_end is not None:  # the rest of the read is the request's
            self._framing += len(data) - self._head_end
        self._counting = True
        self._feed(data)
        self._hand_body()
        if self._body_pending and not self._refused and self._framing_over():
            self._refuse_framing()

    def _feed(self, data: bytes) -> None:
        """uvicorn's `data_received`, a request that does not parse answered as any
        refusal (uvicorn's was plain text), naming what httptools found."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            message = f"the request is not valid HTTP/1.1: {str(error)[:100]}"
            self._refuse_in_flight(400, b"Bad Request", BAD_REQUEST, message)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _framing_over(self) -> bool:
        """Whether the request being read sent more besides its body than it may."""
        overhead = self._framing - self._body
        return overhead > MAX_REQUEST_HEAD_BYTES + FRAMING_BYTES_PER_BODY_BYTE * self._body

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
        self._head_end = None if end < 0 else end + 4 - len(self._head_tail)
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

    def on_header(self, name: bytes, value: bytes) -> None:
        # A chunked body's trailers were added to the request's headers (the ASGI
        # scope's list) once its body was read: a key sent as a trailer authenticated
        # the request. They are dropped, as RFC 9110 lets a recipient do.
        if self._head_pending:
            super().on_header(name, value)

    def on_body(self, body: bytes) -> None:
        if self._counting:
            self._body += len(body)
        if not self._refused:  # a request refused at its head has no cycle to take it
            self._held.append(body)

    def _hand_body(self) -> None:
        """The body's pieces of this read, to the request's cycle in one: uvicorn joins
        each piece to what it holds by copying it again (a read of 1-byte chunks is
        thousands of pieces: a 1 MB body in them took 3.5 s of the event loop)."""
        if self._held:
            body = b"".join(self._held)
            self._held.clear()
            if not self._refused:
                super().on_body(body)

    def on_message_complete(self) -> None:
        self._framing = self._body = 0
        self._counting = False
        self._hand_body()  # before the request ends (and the next one takes the cycle)
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

    def _refuse_framing(self) -> None:
        message = (
            f"the request's chunk sizes, extensions and trailers are over "
            f"{MAX_REQUEST_HEAD_BYTES} bytes and {FRAMING_BYTES_PER_BODY_BYTE} a byte of its body"
        )
        self._refuse_in_flight(431, b"Request Header Fields Too Large", LIMIT_EXCEEDED, message)

    def _refuse_in_flight(self, status: int, reason: bytes, code: str, message: str) -> None:
        """`_refuse`, the app's task waiting for the request's body let go first (it reads
        a disconnect: BodyLimit drops the request); only a close when an answer to it is
        under way."""
        cycle = self.cycle
        if self._body_pending and cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self._refused = True
                self._cancel_timers()
                self.transport.close()
                return
        self._refuse(status, reason, code, message)

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
        self.transport.write(raw_error(status, reason, code, message, headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer; its rest is dropped
            asyncio.get_running_loop().call_later(self.timeout_keep_alive, self.transport.close)
        else:
            self.transport.close()
