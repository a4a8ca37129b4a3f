"""The HTTP/1.1 a webhook attempt speaks, written here and read by llhttp (Node's C
parser, through `httptools`) rather than through a general HTTP client library (a
profile of the delivery process at 1,000 deliveries/s found h11's event machinery,
validating every header of every request and answer, to be a third of its time; one
attempt needs much less of HTTP): a POST with a Content-Length body, and an answer of
which only the status and its framing matter (its body is discarded). The request is
plain formatting, refusing what could split it; the answer comes from a stranger's
server, so its parsing (status line, header syntax, Content-Length / chunked / until
close, 1xx, keep-alive) is llhttp's, strict as it is by default (no obsolete line
folding, no bare LF, no Content-Length beside Transfer-Encoding, no repeated
Content-Length). Bounded everywhere: the answer's head (1xx heads included) to 64 KiB,
its body by `cap` (past it, the connection is not reused); anything malformed is a
`ProtocolError`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

USER_AGENT = "Partnerbook-Webhooks/1"
HEAD_LIMIT = 64 * 1024
"""The most an answer's head (with the 1xx heads before it) may take, in bytes; a chunked
body's framing (sizes, extensions, trailers) may take as much beside the body's cap."""
_SENDABLE = re.compile(r"[\x21-\x7e]+")
"""What a request target or a host may hold on the wire (no space, no control byte)."""
_VALUE = re.compile(r"[\x20-\x7e]*")


class ProtocolError(Exception):
    """The answer is not HTTP/1.1 as this client reads it."""


class StaleConnection(OSError):
    """A kept-alive connection the receiver had closed: nothing of an answer came."""


def request_head(url: str) -> bytes:
    """The request line and the headers every attempt to `url` sends (up to its own)."""
    parts = urlsplit(url)
    target = _ascii((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    netloc = parts.netloc
    if not netloc.isascii():  # an internationalised name: its A-label (IDNA), as resolved
        host = (parts.hostname or "").encode("idna").decode("ascii")
        netloc = host + (f":{parts.port}" if parts.port else "")
    if not _SENDABLE.fullmatch(target) or not _SENDABLE.fullmatch(netloc):
        raise ProtocolError("the URL's path or host cannot be sent as it is")
    return (
        f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/json\r\n"
    ).encode("ascii")


def _ascii(text: str) -> str:
    """`text` with its non-ASCII characters percent-encoded as UTF-8, as browsers send a
    URL's path and query (ASCII spaces and controls stay, to be refused)."""
    return "".join(c if c.isascii() else quote(c, safe="") for c in text)


def request(head: bytes, headers: Mapping[str, str], body: bytes) -> bytes:
    """The whole request: `head`, this attempt's headers, the body."""
    lines = [f"Content-Length: {len(body)}\r\n"]
    for name, value in headers.items():
        if not _VALUE.fullmatch(value):
            raise ProtocolError(f"header {name} cannot be sent as it is")
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    return head + "".join(lines).encode("ascii") + body


async def read_answer(reader: asyncio.StreamReader, cap: int) -> tuple[int, bool]:
    """The answer's status, and whether the connection may carry the next request.
    Informational (1xx) answers are skipped. The body is read (and dropped) only when the
    connection may go on: it must end where its framing says, within `cap`, and nothing
    may follow it. Raises `StaleConnection` when the connection ends before a byte of
    the answer came."""
    answer = _Answer()
    parser = HttpResponseParser(answer)
    answer.parser = parser
    try:
        status = await _final_head(reader, parser, answer)
        if answer.complete or not answer.keep_alive:
            return status, answer.keep_alive  # no body, or one not worth reading
        if answer.length is not None and answer.length > cap:
            return status, False  # not read: the connection cannot go on
        return status, await _body(reader, parser, answer, cap)
    finally:
        answer.parser = None  # the parser holds the answer's callbacks: no cycle left


class _Answer:
    """llhttp's callbacks: what the answer being parsed told so far."""

    __slots__ = ("body", "complete", "keep_alive", "length", "parser", "status", "surplus")

    def __init__(self) -> None:
        self.parser: HttpResponseParser | None = None
        self.status = 0
        self.keep_alive = False
        self.length: int | None = None
        """The Content-Length (llhttp checked it: digits, once, not beside chunked)."""
        self.body = 0
        self.complete = False
        self.surplus = False
        """Bytes came after the answer's end (none may: one request at a time)."""

    def on_message_begin(self) -> None:
        if self.complete:
            self.surplus = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.status and len(name) == 14 and name.lower() == b"content-length":
            self.length = int(value)

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()  # before llhttp resets it

    def on_body(self, body: bytes) -> None:
        self.body += len(body)

    def on_message_complete(self) -> None:
        self.complete = True


async def _final_head(
    reader: asyncio.StreamReader, parser: HttpResponseParser, answer: _Answer
) -> int:
    """Reads and parses heads up to the first that is not informational (1xx)."""
    read = 0
    while True:
        head = await _head(reader, first=read == 0)
        read += len(head)
        if read > HEAD_LIMIT:
            raise ProtocolError("the answer's head is too long")
        answer.status, answer.length, answer.complete = 0, None, False
        _feed(parser, head)
        if answer.status < 100:  # 0 too: the head did not end where its lines did
            raise ProtocolError(f"no HTTP status in the answer's head ({answer.status})")
        if answer.status == 101:
            raise ProtocolError("the receiver switched protocols")
        if answer.status >= 200:
            return answer.status


async def _head(reader: asyncio.StreamReader, first: bool) -> bytes:
    """One head, up to its empty line (a head without CR LF line ends is llhttp's
    error once it is fed, or one past the reader's limit)."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as cut:
        if first and not cut.partial:
            raise StaleConnection("the connection closed before an answer") from None
        raise ProtocolError("the connection closed within the answer's head") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("the answer's head is too long") from None
    except ConnectionError as error:
        if first:
            raise StaleConnection(str(error)) from None
        raise


async def _body(
    reader: asyncio.StreamReader, parser: HttpResponseParser, answer: _Answer, cap: int
) -> bool:
    """Reads the body (Content-Length or chunked) through llhttp, dropping it; whether it
    ended where its framing said, within `cap`, with nothing after it. A Content-Length
    body is read to its last byte and no further; a chunked one as it comes, so bytes a
    receiver sent after it are read too (and the connection is not reused)."""
    budget = cap + HEAD_LIMIT  # the raw bytes: the body and a chunked body's framing
    while not answer.complete:
        want = budget if answer.length is None else answer.length - answer.body
        if want <= 0:
            return False  # the chunks' framing alone went past the budget
        data = await reader.read(want)
        if not data:
            raise ProtocolError("the connection closed within the answer's body")
        budget -= len(data)
        try:
            _feed(parser, data)
        except ProtocolError:
            if not answer.complete:
                raise
            answer.surplus = True  # what followed the answer is not one
        if answer.body > cap:
            return False
    return not answer.surplus


def _feed(parser: HttpResponseParser, data: bytes) -> None:
    try:
        parser.feed_data(data)
    except HttpParserUpgrade:
        raise ProtocolError("the receiver switched protocols") from None
    except HttpParserError as error:
        raise ProtocolError(f"malformed answer: {error}") from None
