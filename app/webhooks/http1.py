"""The HTTP/1.1 a webhook attempt speaks, written and read here rather than through a
general HTTP library (a profile of the delivery process at 1,000 deliveries/s found h11's
event machinery, validating every header of every request and answer, to be a third of
its time; one attempt needs much less of HTTP): a POST with a Content-Length body, and an
answer of which only the status and its framing matter (its body is discarded). Bounded
everywhere: the answer's head by the reader's limit (64 KiB), its body by `cap` (past
it, the connection is not reused); anything malformed is a `ProtocolError`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

USER_AGENT = "Partnerbook-Webhooks/1"
_STATUS = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: [^\r\n]*)?")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
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
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _SENDABLE.fullmatch(target) or not _SENDABLE.fullmatch(parts.netloc):
        raise ProtocolError("the URL's path or host cannot be sent as it is")
    return (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/json\r\n"
    ).encode("ascii")


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
    Informational (1xx) answers are skipped. Raises `StaleConnection` when the connection
    ends before a byte of the answer came."""
    first = True
    while True:
        head = await _head(reader, first)
        first = False
        status, version, fields = _parse_head(head)
        if status >= 200:
            break
        if status == 101:
            raise ProtocolError("the receiver switched protocols")
    reusable = version == b"1" and "close" not in fields.get("connection", "").lower()
    if status in (204, 304):
        return status, reusable
    return status, await _body(reader, fields, cap) and reusable


async def _head(reader: asyncio.StreamReader, first: bool) -> bytes:
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


def _parse_head(head: bytes) -> tuple[int, bytes, dict[str, str]]:
    """Status, HTTP minor version and the header fields (names in lower case; a
    repeated field's values joined with commas)."""
    status_line, *lines = head[:-4].split(b"\r\n")
    found = _STATUS.fullmatch(status_line)
    if found is None:
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:60]!r}")
    fields: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _NAME.fullmatch(name):
            raise ProtocolError(f"malformed header line: {line[:60]!r}")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        fields[key] = f"{fields[key]}, {text}" if key in fields else text
    return int(found.group(2)), found.group(1), fields


async def _body(reader: asyncio.StreamReader, fields: Mapping[str, str], cap: int) -> bool:
    """Reads (and drops) the body; whether it ended where the framing said, within `cap`."""
    coding = fields.get("transfer-encoding")
    if coding is not None:
        if coding.lower().rsplit(",", 1)[-1].strip() != "chunked":
            return False  # the body runs until the connection closes
        return await _chunks(reader, cap)
    length = fields.get("content-length")
    if length is None:
        return False  # until the connection closes: not read
    if not length.isdigit():  # a repeated field differing ("5, 7") lands here too
        raise ProtocolError(f"malformed Content-Length: {length[:40]!r}")
    if int(length) > cap:
        return False  # not read: the connection cannot go on
    await _exactly(reader, int(length))
    return True


async def _chunks(reader: asyncio.StreamReader, cap: int) -> bool:
    read = 0
    while True:
        line = await _line(reader)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"malformed chunk size: {size_text[:20]!r}") from None
        if size == 0:
            while await _line(reader):  # trailers, up to the empty line
                pass
            return True
        read += size
        if read > cap:
            return False
        await _exactly(reader, size + 2)


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return (await reader.readuntil(b"\r\n"))[:-2]
    except asyncio.IncompleteReadError:
        raise ProtocolError("the connection closed within the answer") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("a line of the answer is too long") from None


async def _exactly(reader: asyncio.StreamReader, size: int) -> None:
    try:
        await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise ProtocolError("the connection closed within the answer's body") from None
