"""At least once, across processes: a `serve` process killed while a delivery is in
flight skips nothing once one runs again, and two app instances on one database (each
with its own pools, loops and locks, as two `serve` processes) deliver each event once."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx2 as httpx
import pytest

from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.e2e.test_server import post, serving
from tests.security.instances import instance
from tests.webhooks.conftest import CREATE_ENDPOINT, CREATE_PARTNER, FAST
from tests.webhooks.receivers import WAIT, receiving, verified

pytestmark = pytest.mark.timeout(900)


def _env(db: Database) -> dict[str, str]:
    """`partnerbook serve` on the test database, webhooks to 127.0.0.1 allowed."""
    return {
        "PARTNERBOOK_DATABASE_URL": db.dsn,
        "PARTNERBOOK_HEAVY_LANE": "false",
        **{f"PARTNERBOOK_{k.upper()}": str(v).lower() for k, v in FAST.items()},
    }


def test_a_server_killed_mid_delivery_and_restarted_skips_nothing(
    db: Database, tmp_path: Path
) -> None:
    with receiving() as receiver:
        receiver.hold = threading.Event()  # the first request gets no answer until killed
        with serving(_env(db), tmp_path) as base:
            hook = post(base, CREATE_ENDPOINT, {"input": {"url": receiver.url}})
            secret = hook["createWebhookEndpoint"]["endpoint"]["secret"]
            ids = []
            for i in range(5):
                made = post(base, CREATE_PARTNER, {"name": f"K{i}", "customer": None})
                ids.append(made["createPartner"]["partner"]["id"])
            receiver.wait_for(1)  # in flight, unanswered
            os.kill(int(httpx.get(f"{base}/healthz").json()["pid"]), signal.SIGKILL)
        receiver.hold.set()
        receiver.hold = None
        with serving(_env(db), tmp_path):
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
