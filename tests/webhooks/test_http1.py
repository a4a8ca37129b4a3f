"""How an attempt reads a receiver's answer (app/webhooks/http1.py): the status, and
whether the connection may carry the next request, for every framing a receiver may
use; anything malformed is an error, never a success; a request never carries a byte
that could split it."""

from __future__ import annotations

import asyncio

import pytest

from app.webhooks.http1 import (
    ProtocolError,
    StaleConnection,
    read_answer,
    request,
    request_head,
)

CAP = 64


def answer(raw: bytes, cap: int = CAP, eof: bool = True) -> tuple[int, bool]:
    async def read() -> tuple[int, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        if eof:
            reader.feed_eof()
        return await read_answer(reader, cap)

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", (204, True)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", (200, True)),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", (200, True)),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfail", (500, False)),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", (200, False)),
        (b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", (200, True)),
        (b"HTTP/1.1 200 OK\r\n\r\nuntil the connection closes", (200, False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + b"x" * 65, (200, False)),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2;ext=1\r\nok\r\n3\r\nyes\r\n0\r\nTrailer: x\r\n\r\n",
            (200, True),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + b"x" * 65 + b"\r\n",
            (200, False),
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n...", (200, False)),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            (201, True),
        ),
        (
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/\r\nContent-Length: 0\r\n\r\n",
            (302, True),
        ),
    ],
)
def test_an_answer_gives_its_status_and_whether_the_connection_goes_on(
    raw: bytes, expected: tuple[int, bool]
) -> None:
    assert answer(raw) == expected


def test_an_answer_is_read_to_its_end_and_no_further() -> None:
    async def read() -> tuple[tuple[int, bool], bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT")
        return await read_answer(reader, CAP), await reader.readexactly(4)

    assert asyncio.run(read()) == ((200, True), b"NEXT")


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ],
)
def test_a_malformed_or_cut_answer_is_an_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        answer(raw)


def test_a_connection_closed_before_any_answer_is_stale() -> None:
    with pytest.raises(StaleConnection):
        answer(b"")


def test_an_endless_head_is_bounded() -> None:
    with pytest.raises(ProtocolError):
        answer(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100_000, eof=False)


def test_a_request_is_a_post_with_its_length_and_headers() -> None:
    head = request_head("http://127.0.0.1:8080/hook/in?x=1")
    sent = request(head, {"webhook-id": "abc"}, b"{}")
    assert sent == (
        b"POST /hook/in?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        b"User-Agent: Partnerbook-Webhooks/1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nwebhook-id: abc\r\n\r\n{}"
    )


def test_an_internationalised_url_is_sent_as_ascii() -> None:
    """The host's A-label (as the resolver and TLS encode it), the path and query's
    non-ASCII characters percent-encoded (as browsers send them)."""
    head = request_head("https://bücher.example:8443/café/in?q=müller")
    assert head.startswith(
        b"POST /caf%C3%A9/in?q=m%C3%BCller HTTP/1.1\r\nHost: xn--bcher-kva.example:8443\r\n"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/a b", "http://127.0.0.1/a\r\nX: y", "http://127.0.0.1/\x00"]
)
def test_a_url_that_would_split_the_request_is_not_sent(url: str) -> None:
    with pytest.raises(ProtocolError):
        request_head(url)


def test_a_header_value_that_would_split_the_request_is_not_sent() -> None:
    with pytest.raises(ProtocolError):
        request(request_head("http://127.0.0.1/"), {"webhook-id": "a\r\nX: y"}, b"")


def answer_in_pieces(pieces: list[bytes], cap: int = CAP) -> tuple[int, bool]:
    """The answer as it comes over a network: each piece once the reader waits for more."""

    async def read() -> tuple[int, bool]:
        reader = asyncio.StreamReader()

        async def send() -> None:
            for piece in pieces:
                await asyncio.sleep(0)
                reader.feed_data(piece)
            reader.feed_eof()

        sending = asyncio.create_task(send())
        try:
            return await read_answer(reader, cap)
        finally:
            await sending

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([b"HTTP/1.1 200 OK\r\nContent-Le", b"ngth: 2\r\n", b"\r", b"\nok"], (200, True)),
        ([b"HTTP/1.", b"1 204 No Content\r\n\r", b"\n"], (204, True)),
        (
            [
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1",
                b"0\r\n" + b"x" * 10,
                b"x" * 6 + b"\r\n0\r",
                b"\n\r\n",
            ],
            (200, True),
        ),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", b"k"], (200, True)),
        (
            [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", b"00 OK\r\nContent-Length: 0\r\n\r\n"],
            (200, True),
        ),
    ],
)
def test_an_answer_split_across_reads_reads_as_a_whole(
    pieces: list[bytes], expected: tuple[int, bool]
) -> None:
    assert answer_in_pieces(pieces) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Informational answers, with headers of their own (a Content-Length there does
        # not frame the final answer), are skipped.
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nContent-Length: 5\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            (200, True),
        ),
        # A chunk straddling the cap: read up to it, then the connection is dropped.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"30\r\n" + b"x" * 48 + b"\r\n20\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n",
            (200, False),
        ),
        # A body of exactly the cap is read and the connection goes on.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + b"x" * 64, (200, True)),
        # Trailers past the framing's allowance (64 KiB beside the cap): not read on.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: "
            + b"a" * 70_000
            + b"\r\n\r\n",
            (200, False),
        ),
        # Bytes after a chunked answer (one request at a time: none may come).
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200",
            (200, False),
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nJUNK", (200, False)),
        # A connection that closes after the answer: its body is not waited for.
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nshort", (200, False)),
        (b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", (204, False)),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", (200, True)),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", (304, True)),
    ],
)
def test_what_frames_an_answer_and_whether_the_connection_goes_on(
    raw: bytes, expected: tuple[int, bool]
) -> None:
    assert answer(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        b"HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n",
        b"HTTP/1.1 000 OK\r\n\r\n",
        b"HTTP/1.1 099 OK\r\n\r\n",
        b"\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
def test_an_answer_llhttp_refuses_is_an_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        answer(raw)


def test_informational_heads_count_toward_the_head_limit() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </" + b"a" * 1000 + b">\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert answer(early * 60 + final) == (200, True)
    with pytest.raises(ProtocolError, match="too long"):
        answer(early * 70 + final)
