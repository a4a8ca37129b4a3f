"""Slow clients, attacked with raw sockets against uvicorn as `partnerbook serve` runs it
(`app.main.server_options`): uvicorn had no deadline for a request to arrive, so a head
sent a byte at a time, a body at a byte at a time or a chunked body that never ends held
its connection (and, for a body, a task in the app) for as long as the client liked.
Now a request's head must arrive within PARTNERBOOK_REQUEST_HEAD_SECONDS and its body
within PARTNERBOOK_REQUEST_BODY_SECONDS (set to 0.3 s here), else 408 and a close; a
client must read its answers once the server's buffers for it are full, within
PARTNERBOOK_RESPONSE_WRITE_SECONDS (0.3 s here), else the connection is reset; and a
process serves at most PARTNERBOOK_MAX_CONNECTIONS connections (503 past them).

Nothing here bounds how long anything took: each attack goes on (one byte every 50 ms)
until the server answers or closes, under a guard of minutes that only ends a test the
server never answers."""

from __future__ import annotations

import asyncio
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.infra import api_keys
from app.infra.database import Database
from app.main import create_app, server_options
from app.settings import Settings
from tests.conftest import event_count
from tests.e2e.test_server import _free_port

DEADLINE = 0.3
GUARD = 120.0
"""Seconds after which a test gives up on an answer (a guard, never an expectation)."""
PACE = 0.05
PROTOCOL: Any = "graphql-transport-ws"
TAG = 'mutation { createTag(input: {name: "slow"}) { tag { id } userErrors { code } } }'


@dataclass
class Served:
    port: int
    key: str
    db: Database

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=GUARD)
        return sock

    def head(self, *lines: bytes) -> bytes:
        auth = b"Authorization: Bearer %s\r\n" % self.key.encode()
        return b"POST /graphql HTTP/1.1\r\nHost: x\r\n" + auth + b"".join(lines)


@contextmanager
def _serving(settings: Settings, **config: Any) -> Iterator[int]:
    """The app under uvicorn with `partnerbook serve`'s options, on a free port."""
    port = _free_port()
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on"}
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            **options,
            **server_options(settings),
            **config,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + GUARD
    while not server.started:
        assert thread.is_alive(), "uvicorn exited before it started"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()


@pytest.fixture
def served(db: Database, settings: Settings) -> Iterator[Served]:
    strict = settings.model_copy(
        update={
            "request_head_seconds": DEADLINE,
            "request_body_seconds": DEADLINE,
            "response_write_seconds": DEADLINE,
        }
    )
    key = api_keys.create_key(db.conninfo(), "slow", "admin")
    with _serving(strict) as port:
        yield Served(port, key, db)


def _rest(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    sock.settimeout(GUARD)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def _trickle(sock: socket.socket, start: bytes, piece: bytes) -> bytes:
    """Sends `start`, then `piece` every PACE seconds, until the server answers or closes;
    everything it sent until it closed."""
    sock.sendall(start)
    sock.settimeout(PACE)
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            try:
                sock.sendall(piece)
            except OSError:
                return _rest(sock)  # closed while we sent
            continue
        except ConnectionResetError:
            return b""
        return chunk + _rest(sock) if chunk else b""
    pytest.fail(f"the server neither answered nor closed within {GUARD} s")


def _timed_out(answer: bytes) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"408", answer[:300]
    assert b"connection: close" in head.lower(), head
    error: dict[str, Any] = json.loads(body)["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST", error
    return error


def test_a_head_sent_a_byte_at_a_time_gets_408_and_a_close(served: Served) -> None:
    """A header that never ends, a byte every 50 ms, was read forever."""
    with served.connect() as sock:
        answer = _trickle(sock, served.head(b"X-Slow: "), b"a")
    error = _timed_out(answer)
    assert "request line and headers" in error["message"], error


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    """A connection that never sent a byte was held forever (uvicorn's keep-alive
    timeout only runs between requests)."""
    with served.connect() as sock:
        assert _rest(sock) == b""


def test_a_body_sent_a_byte_at_a_time_gets_408_and_does_not_run(served: Served) -> None:
    """A whole mutation, a Content-Length 100,000 bytes longer, then a space every 50 ms
    (JSON allows them): the body was waited for as long as it kept coming."""
    body = json.dumps({"query": TAG}).encode()
    head = served.head(
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (len(body) + 100_000)
    )
    with served.connect() as sock:
        answer = _trickle(sock, head + body, b" ")
    error = _timed_out(answer)
    assert "body" in error["message"], error
    assert event_count(served.db) == 0


def test_a_chunked_body_that_never_ends_gets_408(served: Served) -> None:
    head = served.head(b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    with served.connect() as sock:
        answer = _trickle(sock, head + b"1\r\n{\r\n", b"1\r\n \r\n")
    _timed_out(answer)


def test_requests_that_arrive_in_time_are_served(served: Served) -> None:
    """The head's deadline runs from a request's first byte: a keep-alive connection
    idle between two requests longer than it is not cut; nor is a WebSocket, once
    upgraded, that stays quiet longer than both deadlines."""
    body = json.dumps({"query": "{ __typename }"}).encode()
    request = served.head(
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with served.connect() as sock:
        for _ in range(2):
            sock.sendall(request)
            answer = b""
            while not answer.endswith(b"}"):
                chunk = sock.recv(65536)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
            time.sleep(3 * DEADLINE)
    with connect(f"ws://127.0.0.1:{served.port}/graphql", subprotocols=[PROTOCOL]) as ws:
        time.sleep(3 * DEADLINE)
        ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": served.key}}))
        assert json.loads(ws.recv(timeout=GUARD))["type"] == "connection_ack"


INTROSPECTION = json.dumps(
    {
        "query": "{ __schema { types { name description fields { name description args { "
        "name description type { name } } type { name } } } } }"
    }
).encode()


def _dropped(sock: socket.socket) -> bool:
    """Whether the server reset the connection, found without reading from it (reading
    would take some of the answers and let the server write again)."""
    poller = select.poll()
    poller.register(sock, select.POLLERR | select.POLLHUP)
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        for _, events in poller.poll(PACE * 1000):
            if events & (select.POLLERR | select.POLLHUP):
                return True
    return False


def test_a_client_that_stops_reading_its_answers_is_let_go(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends requests and reads none of the answers held its connection,
    the answers in the server's buffers and a request's task (waiting for the buffers to
    drain) for as long as it liked. Once it has read nothing for
    PARTNERBOOK_RESPONSE_WRITE_SECONDS (0.3 s here) while the server's buffers are full,
    the connection is dropped; the server answers other clients."""
    caplog.set_level(logging.INFO, logger="partnerbook.http")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(GUARD)
    sock.connect(("127.0.0.1", served.port))
    request = served.head(
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(INTROSPECTION)
    )
    sock.sendall((request + INTROSPECTION) * 40)  # pipelined: ~100 KB of answer each
    try:
        assert _dropped(sock), f"the connection was still open after {GUARD} s"
    finally:
        sock.close()
    with served.connect() as other:
        other.sendall(request + INTROSPECTION)
        assert b" 200 " in other.recv(65536).split(b"\r\n", 1)[0]
    dropped = [r.getMessage() for r in caplog.records if r.name == "partnerbook.http"]
    assert any("the client read too little of its answers" in m for m in dropped), dropped
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_process_serves_at_most_max_connections(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn's `limit_concurrency` was not set: any number of connections were held.
    Set, it let WebSocket handshakes through past it, and answered requests in plain
    text."""
    capped = settings.model_copy(update={"max_connections": 2, "request_head_seconds": 3600})
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

    def answer(sock: socket.socket) -> bytes:
        sock.sendall(request)
        answer = sock.recv(65536)
        assert answer, "closed without an answer"
        return answer

    def status(sock: socket.socket) -> bytes:
        return answer(sock).split(b" ", 2)[1]

    with _serving(capped, timeout_keep_alive=3600) as port:
        first = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
        second = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
        with first, second:
            assert status(first) == b"200"
            assert status(second) == b"200"
            with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as third:
                # As a GraphQL error with a code, as any refusal (uvicorn's own answer was
                # "Service Unavailable" in plain text).
                head, _, body = answer(third).partition(b"\r\n\r\n")
                assert head.split(b" ", 2)[1] == b"503", head
                assert b"\r\nretry-after: 1" in head.lower(), head
                assert b"application/json" in head.lower(), head
                busy = json.loads(body)["errors"][0]
                assert busy["extensions"]["code"] == "BUSY", busy
            with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as fourth:
                # A request with a body, read whole: one answer, nothing after it.
                payload = b'{"query": "{ __typename }"}'
                fourth.sendall(
                    b"POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(payload), payload)
                )
                received = b""
                while chunk := fourth.recv(65536):
                    received += chunk
                assert received.count(b"HTTP/1.1 ") == 1, received
                assert received.startswith(b"HTTP/1.1 503"), received
            # The parser's later callbacks of a refused request found no request to take
            # them and failed ("protocol.data_received() call failed").
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=[PROTOCOL]).close()
            assert refused.value.response.status_code == 503
            assert refused.value.response.headers["retry-after"] == "1"
            error = json.loads(refused.value.response.body or b"")["errors"][0]
            assert error["extensions"]["code"] == "BUSY", error
            first.close()
            deadline = time.monotonic() + GUARD  # until the server has seen the close
            while True:
                with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as another:
                    if status(another) == b"200":
                        break
                assert time.monotonic() < deadline, "a closed connection's place never freed"
                time.sleep(PACE)
