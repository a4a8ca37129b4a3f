"""Real HTTP receivers on 127.0.0.1 for webhook tests: each records what it got and
answers from a script (a list of statuses, then 200), and can go down and come back on
the same port."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

WAIT = 120.0
"""Seconds a test waits for deliveries (generous: the machine is shared)."""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    statuses: list[int] = field(default_factory=list)
    """Answers for the next requests, in order; then 200."""
    location: str | None = None
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None
    """When set: each request waits until it is set before it is answered."""
    keep_alive: bool = False
    """Answer as HTTP/1.1 and keep connections open (else HTTP/1.0: one request each)."""
    connections: list[socket.socket] = field(default_factory=list)
    """Every connection accepted, in order."""
    _server: ThreadingHTTPServer | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with receiver._changed:
                    receiver.connections.append(self.connection)

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(size)
                with receiver._changed:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._changed.notify_all()
                if receiver.hold is not None:
                    receiver.hold.wait(WAIT)
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def drop_connections(self) -> None:
        """Closes every open connection from this side (as a receiver's idle timeout does)."""
        with self._changed:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def wait_for(self, count: int, within: float = WAIT) -> list[Received]:
        deadline = time.monotonic() + within
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} deliveries arrived"
                self._changed.wait(left)
            return list(self.received)

    def until(
        self, holds: Callable[[list[Received]], bool], within: float = WAIT
    ) -> list[Received]:
        deadline = time.monotonic() + within
        with self._changed:
            while not holds(self.received):
                left = deadline - time.monotonic()
                assert left > 0, f"not reached after {len(self.received)} deliveries"
                self._changed.wait(min(left, 0.5))
            return list(self.received)


@contextmanager
def receiving(**kw: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kw).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def verified(secret: str, got: Received) -> Any:
    """The body, once the signature checks out with the standardwebhooks package."""
    return Webhook(secret).verify(got.body, got.headers)
