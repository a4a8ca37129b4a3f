"""Hostile HTTP framing, attacked with raw sockets against uvicorn as `partnerbook serve`
runs it (`app.main.server_options`):

- a chunked request's framing (chunk sizes, chunk extensions, trailers) was not held to
  any limit: one trailer of 98 MB was taken in 37 s, httptools joining its pieces by
  copying them again at each read, on the event loop, every other client waiting; a chunk
  extension that never ends was read until the body's deadline. Now what a request sends
  beyond its body is held to MAX_REQUEST_HEAD_BYTES and FRAMING_BYTES_PER_BODY_BYTE per
  byte of body (431, LIMIT_EXCEEDED, then a close);
- a trailer was added to the request's headers once its body was read, where the heavy
  lane and the view read them: a key sent as a trailer authenticated the request;
- a header the request may name once (Authorization, Content-Type, Content-Encoding,
  Transfer-Encoding, Content-Length), named twice: the lane took the last Authorization
  (no key: run in the API process, around the lane's per-key limit) while the view took
  the first (a valid key); now 400 BAD_REQUEST, before the application;
- `charset*=` (RFC 2231) in the Content-Type was a 500; an upper-case media type was
  refused; the 413 of a body over its limit was always `application/json`.

Nothing here bounds how long anything took: an attack goes on until the server answers
or closes, and what is asserted is how much it took before it did."""

from __future__ import annotations

import json
import select
from collections.abc import Iterator
from typing import Any

import pytest

from app.infra import api_keys
from app.infra.database import Database
from app.schema.limits.request import MAX_REQUEST_HEAD_BYTES
from app.settings import Settings
from tests.conftest import event_count
from tests.security.test_slow_clients import Served as SlowServed
from tests.security.test_slow_clients import _rest, _serving

GUARD = 120.0
"""Seconds after which a socket gives up (a guard, never an expectation)."""
PACE = 0.05
"""Seconds waited for an answer between two pieces of an attack."""
ATTACK_CAP = 1_048_576
"""Bytes of an attack sent without an answer after which the test fails: the server
must refuse well before (it refuses past MAX_REQUEST_HEAD_BYTES and a little)."""
TYPENAME = json.dumps({"query": "{ __typename }"}).encode()
PARTNERS = json.dumps({"query": "{ partners(first: 1) { totalCount } }"}).encode()
TAG = 'mutation { createTag(input: {name: "%s"}) { tag { id } userErrors { code } } }'


class Served(SlowServed):
    """test_slow_clients' server, with whole requests and their answers."""

    def request(self, *headers: bytes, body: bytes | None = None, auth: bool = True) -> bytes:
        """A POST of `body` (a Content-Length given when it is not None) that closes."""
        lines = b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if auth:
            lines += b"Authorization: Bearer %s\r\n" % self.key.encode()
        lines += b"".join(h + b"\r\n" for h in headers)
        if body is None:
            return lines + b"\r\n"
        return lines + b"Content-Length: %d\r\n\r\n" % len(body) + body

    def exchange(self, request: bytes) -> bytes:
        """Everything the server answers to `request`, up to its close."""
        with self.connect() as sock:
            sock.sendall(request)
            return _rest(sock)


@pytest.fixture
def served(db: Database, settings: Settings) -> Iterator[Served]:
    """`partnerbook serve`'s protocol and options, its deadlines as by default."""
    key = api_keys.create_key(db.conninfo(), "framing", "admin")
    with _serving(settings) as port:
        yield Served(port, key, db)


def _answer(answer: bytes) -> tuple[int, dict[str, str], Any]:
    """Status, headers (names lower-cased) and JSON body of one answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers.get("content-type", "").startswith("application/"), answer[:400]
    return int(status_line.split(" ", 2)[1]), headers, json.loads(body)


def _error(answer: bytes, status: int, code: str) -> dict[str, Any]:
    got, _, body = _answer(answer)
    assert got == status, answer[:400]
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == code, error
    return error


def _typename_works(served: Served) -> None:
    got, _, body = _answer(
        served.exchange(served.request(b"Content-Type: application/json", body=TYPENAME))
    )
    assert got == 200 and body["data"] == {"__typename": "Query"}, body


def _chunked(body: bytes, size: int) -> bytes:
    return b"".join(
        b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size])
        for at in range(0, len(body), size)
    )


ENDLESS = {
    "trailer": (_chunked(TYPENAME, 100) + b"0\r\nX-T: ", b"a"),
    "chunk extension": (b"1;ext=", b"a"),
    "chunk size": (b"", b"0"),
    "trailer names": (_chunked(TYPENAME, 100) + b"0\r\n", b"X-T: a\r\n"),
}


@pytest.mark.parametrize("attack", list(ENDLESS))
def test_endless_chunked_framing_is_refused_after_a_bounded_number_of_bytes(
    served: Served, attack: str
) -> None:
    """The audit's repro: a trailer (or a chunk extension, a chunk size of endless
    zeros, endless trailer fields) that never ends. Sent in pieces of 32 KB, each
    followed by a short wait for an answer: refused (431, LIMIT_EXCEEDED) before 1 MB
    of it was sent, and another client is answered afterwards."""
    start, unit = ENDLESS[attack]
    piece = unit * (32_768 // len(unit))
    head = served.request(b"Content-Type: application/json", b"Transfer-Encoding: chunked")
    sent = 0
    answer = b""
    with served.connect() as sock:
        sock.sendall(head + start)
        while sent < ATTACK_CAP:
            try:
                sock.sendall(piece)
            except OSError:  # closed while we sent: its answer is in the socket
                break
            sent += len(piece)
            if select.select([sock], [], [], PACE)[0]:
                break
        else:
            pytest.fail(f"{sent} bytes of an endless {attack} were taken without an answer")
        answer = _rest(sock)
    error = _error(answer, 431, "LIMIT_EXCEEDED")
    assert str(MAX_REQUEST_HEAD_BYTES) in error["message"], error
    assert b"connection: close" in answer.lower()
    _typename_works(served)


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_an_honest_chunked_body_in_small_chunks_is_served(served: Served, size: int) -> None:
    """Chunks of one byte cost 5 bytes of framing per byte of body: a body of 200 KB in
    them (1 MB of framing, far over MAX_REQUEST_HEAD_BYTES) is still served, and so is a
    trailer of a few fields after it."""
    body = json.dumps({"query": "{ __typename }", "extensions": {"pad": "a" * 200_000}})
    framed = _chunked(body.encode(), size) + b"0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n"
    request = served.request(b"Content-Type: application/json", b"Transfer-Encoding: chunked")
    got, _, answer = _answer(served.exchange(request + framed))
    assert got == 200 and answer["data"] == {"__typename": "Query"}, answer


def test_a_trailer_is_not_a_header(served: Served) -> None:
    """A key sent as a trailer was added to the request's headers once its body was read,
    where the heavy lane and the view read them: it authenticated the request."""
    request = served.request(
        b"Content-Type: application/json", b"Transfer-Encoding: chunked", auth=False
    )
    trailer = b"0\r\nAuthorization: Bearer %s\r\n\r\n" % served.key.encode()
    answer = served.exchange(request + _chunked(PARTNERS, 1000) + trailer)
    _, _, body = _answer(answer)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    # A second key as a trailer, behind a valid one, does not replace it either.
    request = served.request(b"Content-Type: application/json", b"Transfer-Encoding: chunked")
    trailer = b"0\r\nAuthorization: Bearer nope\r\n\r\n"
    got, _, body = _answer(served.exchange(request + _chunked(PARTNERS, 1000) + trailer))
    assert got == 200 and body["data"]["partners"]["totalCount"] == 0, body


TAG_BODY = json.dumps({"query": TAG % "twice"}).encode()
TWICE = {
    "authorization": (b"Authorization: Bearer nope", b"Content-Type: application/json"),
    "content-type": (b"Content-Type: application/json", b"content-type: application/json"),
    "content-encoding": (
        b"Content-Type: application/json",
        b"Content-Encoding: identity",
        b"content-encoding: gzip",
    ),
    "transfer-encoding": (
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: chunked",
    ),
    "content-length": (
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(TAG_BODY),
    ),
}


@pytest.mark.parametrize("name", list(TWICE))
def test_a_header_named_twice_is_refused(served: Served, name: str) -> None:
    """Two Authorization headers: the heavy lane read the last (no key: the request ran in
    the API process, around the lane and its per-key limit), the view the first (a valid
    key). `Content-Encoding: identity` then `gzip` ran (the first won). Each header that
    says how the request is read or who sends it must come once: 400 BAD_REQUEST naming
    it, nothing run."""
    headers = TWICE[name]
    if name == "transfer-encoding":
        request = served.request(*headers) + _chunked(TAG_BODY, 1000) + b"0\r\n\r\n"
    else:
        request = served.request(*headers, body=TAG_BODY)
    error = _error(served.exchange(request), 400, "BAD_REQUEST")
    assert name in error["message"].lower(), error
    assert event_count(served.db) == 0
    # Once each, the same request runs.
    once = served.request(
        b"Content-Type: application/json",
        b"Content-Encoding: identity",
        b"Transfer-Encoding: chunked",
    )
    got, _, body = _answer(served.exchange(once + _chunked(TAG_BODY, 10) + b"0\r\n\r\n"))
    assert got == 200 and body["data"]["createTag"]["userErrors"] == [], body


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"deflate,chunked", b"x-custom, chunked"])
def test_a_transfer_coding_other_than_chunked_is_not_implemented(
    served: Served, coding: bytes
) -> None:
    """`Transfer-Encoding: gzip, chunked` was read as chunked, the gzip ignored: the
    body ran as whatever its bytes said. RFC 9112 (6.1): a server that receives a
    transfer coding it does not understand answers 501; nothing runs."""
    head = served.request(b"Content-Type: application/json", b"Transfer-Encoding: " + coding)
    request = head + _chunked(TAG_BODY, 1000) + b"0\r\n\r\n"
    error = _error(served.exchange(request), 501, "BAD_REQUEST")
    assert "chunked" in error["message"], error
    assert event_count(served.db) == 0


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("application/json; charset*=utf-8''utf-8", "charset*"),
        ("application/json; charset*=utf-8'en'utf-8", "charset*"),
        ("application/json; charset=latin-1; charset=utf-8", "charset"),
    ],
)
def test_an_unusual_charset_parameter_is_a_coded_400(
    served: Served, content_type: str, named: str
) -> None:
    """`charset*=` (RFC 2231's form) was an INTERNAL 500 (`'tuple' object has no attribute
    'strip'`); a charset named twice was read by its last (a proxy reading the first saw
    Latin-1)."""
    request = served.request(b"Content-Type: " + content_type.encode(), body=TAG_BODY)
    error = _error(served.exchange(request), 400, "BAD_REQUEST")
    assert f"`{named}`" in error["message"], error
    assert event_count(served.db) == 0


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/JSON"]
)
def test_a_media_type_in_upper_case_is_served(served: Served, content_type: str) -> None:
    """Media types are case-insensitive (RFC 9110, 8.3.1): `APPLICATION/JSON` got 400
    "Unsupported content type" (strawberry compares it case-sensitively)."""
    request = served.request(b"Content-Type: " + content_type.encode(), body=TYPENAME)
    got, _, body = _answer(served.exchange(request))
    assert got == 200 and body == {"data": {"__typename": "Query"}}, body


@pytest.mark.parametrize(
    ("accept", "media", "with_data"),
    [
        (b"application/graphql-response+json", "application/graphql-response+json", False),
        (b"application/json", "application/json", True),
        (None, "application/json", True),
    ],
)
def test_a_body_over_its_limit_is_refused_in_the_media_type_asked_for(
    served: Served, accept: bytes | None, media: str, with_data: bool
) -> None:
    """The body limit's 413 was `application/json` whatever the client accepted."""
    accepts = () if accept is None else (b"Accept: " + accept,)
    over = served.request(b"Content-Type: application/json", b"Content-Length: 2000000", *accepts)
    got, headers, body = _answer(served.exchange(over))
    assert got == 413, body
    assert headers["content-type"].split(";")[0] == media, headers
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED", body
    assert ("data" in body) is with_data, body
