"""App instances on one database, each a uvicorn server with its own lifespan, event loop
and caches (what two `partnerbook serve` processes share: only PostgreSQL). A test can
reach into one (`runtime`) and run a coroutine on its loop (`call`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette

from app.main import Runtime, create_app
from app.settings import Settings
from tests.e2e.test_server import _free_port

T = TypeVar("T")
PERSON = """mutation($name: String!, $email: String!, $phone: String!) {
  createPartner(input: {kind: PERSON, name: $name, email: $email, phone: $phone,
                        street: "Rue des Hirondelles 17"}) {
    partner { id } userErrors { code message } } }"""
AS_OF = """query($id: ID!) { partnerAsOf(id: $id, version: 1) {
  name email phone address { street } } }"""
ANONYMIZE = """mutation($id: ID!) { anonymizePartner(input: {id: $id, reason: "request"}) {
  userErrors { code message } } }"""


@dataclass
class Instance:
    base: str
    app: Starlette
    loop: asyncio.AbstractEventLoop

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        """Runs `coroutine` on this instance's event loop (its pool lives there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def post(self, query: str, variables: dict[str, Any], key: str) -> dict[str, Any]:
        """The JSON answer, over a fresh connection."""
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, variables: dict[str, Any], key: str) -> dict[str, Any]:
        body = self.post(query, variables, key)
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data


@contextmanager
def instance(settings: Settings) -> Iterator[Instance]:
    port = _free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(),), name=f"app-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "uvicorn exited before it started"
        assert time.monotonic() < deadline, "uvicorn did not start within 60 s"
        time.sleep(0.05)
    try:
        yield Instance(f"http://127.0.0.1:{port}", app, loop)
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()


@contextmanager
def serve_process(
    env: dict[str, str], cwd: Path, *, workers: int = 1
) -> Iterator[tuple[str, list[str]]]:
    """`partnerbook serve [--workers N]` in its own process(es): (base URL, its output
    lines so far), once every worker answered `/healthz`. Started with generous time:
    a first start runs initdb, and the machine is shared."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 240
        while len(pids) < workers:
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, f"workers seen: {pids}\n{''.join(output)[-4000:]}"
            try:
                with ThreadPoolExecutor(8) as pool:
                    pids |= set(pool.map(_pid, [base] * 4 * workers))
            except (httpx.TransportError, ValueError, KeyError):
                time.sleep(0.3)
        yield base, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)


def _pid(base: str) -> int:
    with httpx.Client(timeout=5) as client:  # a fresh connection: either worker may take it
        return int(client.get(f"{base}/healthz").json()["pid"])
