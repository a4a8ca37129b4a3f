"""At least once, across processes: a `serve` process killed while a delivery is in
flight skips nothing once one runs again, and two app instances on one database (each
with its own pools, loops and locks, as two `serve` processes) deliver each event once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.e2e.test_server import _free_port, post
from tests.e2e.ws_client import KEYS
from tests.security.instances import instance
from tests.webhooks.conftest import CREATE_ENDPOINT, CREATE_PARTNER, FAST
from tests.webhooks.receivers import WAIT, receiving, verified

pytestmark = pytest.mark.timeout(900)


def _post(base: str, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    KEYS[base] = key
    return post(base, query, variables)


@contextmanager
def serve(db: Database, cwd: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`partnerbook serve` on the test database, webhooks to 127.0.0.1 allowed."""
    port = _free_port()
    env = {
        **os.environ,
        "PARTNERBOOK_DATABASE_URL": db.dsn,
        "PARTNERBOOK_HEAVY_LANE": "false",
        **{f"PARTNERBOOK_{k.upper()}": str(v).lower() for k, v in FAST.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_server_killed_mid_delivery_and_restarted_skips_nothing(
    db: Database, tmp_path: Path
) -> None:
    key = api_keys.create_key(db.conninfo(), "hooks", "admin")
    with receiving() as receiver:
        receiver.hold = threading.Event()  # the first request gets no answer until killed
        with serve(db, tmp_path) as (base, process):
            hook = _post(base, key, CREATE_ENDPOINT, {"input": {"url": receiver.url}})
            secret = hook["createWebhookEndpoint"]["endpoint"]["secret"]
            ids = []
            for i in range(5):
                made = _post(base, key, CREATE_PARTNER, {"name": f"K{i}", "customer": None})
                ids.append(made["createPartner"]["partner"]["id"])
            receiver.wait_for(1)  # in flight, unanswered
            process.kill()  # SIGKILL: no clean shutdown
            process.wait()
        receiver.hold.set()
        receiver.hold = None
        with serve(db, tmp_path):
            got = receiver.until(
                lambda r: sum(ids[-1] in x.body.decode() for x in r) >= 1, within=WAIT
            )
    seen: list[str] = []
    for x in got:
        pid = verified(secret, x)["data"]["timeline"]["partner"]["id"]
        if not seen or seen[-1] != pid:
            seen.append(pid)
    assert seen == ids


def test_two_app_instances_deliver_each_event_once(db: Database, hook_settings: Settings) -> None:
    settings = hook_settings
    key = api_keys.create_key(db.conninfo(), "hooks", "admin")
    with receiving() as receiver, instance(settings) as one, instance(settings) as two:
        hook = one.data(CREATE_ENDPOINT, {"input": {"url": receiver.url}}, key)
        secret = hook["createWebhookEndpoint"]["endpoint"]["secret"]
        ids = []
        for i in range(20):
            side = one if i % 2 else two
            made = side.data(CREATE_PARTNER, {"name": f"T{i}", "customer": None}, key)
            ids.append(made["createPartner"]["partner"]["id"])
        got = receiver.until(lambda r: any(ids[-1] in x.body.decode() for x in r))
        served = [
            len(one.runtime.webhooks.serving) if one.runtime.webhooks else 0,
            len(two.runtime.webhooks.serving) if two.runtime.webhooks else 0,
        ]
    bodies = [verified(secret, x) for x in got]
    assert [b["data"]["timeline"]["partner"]["id"] for b in bodies] == ids  # once, in order
    assert sorted(served) == [0, 1]  # one process holds the endpoint's lock
