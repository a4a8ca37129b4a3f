"""At least once, across processes: a `serve` process killed while a delivery is in
flight skips nothing once one runs again; two `serve` processes on one database deliver
each event once, in log order, and when the one delivering is killed (-9) mid-delivery
the other takes the endpoint over and skips nothing; two app instances in one process
(each with its own pools, loops and locks) also deliver each event once."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.e2e.test_server import post, serving
from tests.security.instances import instance
from tests.webhooks.conftest import CREATE_ENDPOINT, CREATE_PARTNER, FAST
from tests.webhooks.receivers import WAIT, Received, receiving, verified

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


def _served(base: str) -> int:
    """How many endpoints this `serve` process delivers (its /metrics gauge)."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    found = re.search(r"^partnerbook_webhook_endpoints_served (\S+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def _holder(bases: list[str]) -> str:
    """The one process serving the endpoint, once one does (the other holds no lock)."""
    deadline = time.monotonic() + WAIT
    while True:
        served = {base: _served(base) for base in bases}
        if sorted(served.values()) == [0, 1]:
            return next(base for base, n in served.items() if n == 1)
        assert time.monotonic() < deadline, served
        time.sleep(0.2)


def _partners(bases: list[str], count: int, prefix: str) -> list[str]:
    """Partners created through the API, alternately on each process, in log order."""
    ids = []
    for i in range(count):
        made = post(
            bases[i % len(bases)], CREATE_PARTNER, {"name": f"{prefix}{i}", "customer": None}
        )
        ids.append(made["createPartner"]["partner"]["id"])
    return ids


def _deliveries(secret: str, got: list[Received]) -> list[tuple[str, str]]:
    """(webhook-id, partner id) of each request, in arrival order, signatures verified."""
    found = []
    for x in got:
        body = verified(secret, x)
        found.append((x.headers["webhook-id"], body["data"]["timeline"]["partner"]["id"]))
    return found


def test_two_serve_processes_deliver_each_event_once_in_log_order(
    db: Database, tmp_path: Path
) -> None:
    count = 30
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    with (
        receiving(keep_alive=True) as receiver,
        serving(_env(db), tmp_path / "one") as one,
        serving(_env(db), tmp_path / "two") as two,
    ):
        hook = post(one, CREATE_ENDPOINT, {"input": {"url": receiver.url}})
        secret = hook["createWebhookEndpoint"]["endpoint"]["secret"]
        ids = _partners([one, two], count, "S")
        got = receiver.until(lambda r: len({x.headers["webhook-id"] for x in r}) >= count)
        _holder([one, two])  # both running: one of them serves the endpoint, not both
    delivered = _deliveries(secret, got)
    assert [partner for _, partner in delivered] == ids  # each once, in log order
    assert len({webhook_id for webhook_id, _ in delivered}) == count


def test_killing_the_delivering_process_mid_delivery_hands_over_skipping_nothing(
    db: Database, tmp_path: Path
) -> None:
    count = 10
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    with receiving(keep_alive=True) as receiver, contextlib.ExitStack() as stack:
        bases = [stack.enter_context(serving(_env(db), tmp_path / n)) for n in ("one", "two")]
        receiver.hold = threading.Event()  # the first request gets no answer until killed
        hook = post(bases[0], CREATE_ENDPOINT, {"input": {"url": receiver.url}})
        secret = hook["createWebhookEndpoint"]["endpoint"]["secret"]
        ids = _partners(bases, count, "H")
        receiver.wait_for(1)  # in flight, unanswered
        holder = _holder(bases)
        os.kill(int(httpx.get(f"{holder}/healthz").json()["pid"]), signal.SIGKILL)
        receiver.hold.set()
        receiver.hold = None
        survivor = next(base for base in bases if base != holder)
        # The survivor takes the endpoint's lock once PostgreSQL has ended the killed
        # process's session, and delivers from the last acknowledged position.
        got = receiver.until(lambda r: sum(ids[-1] in x.body.decode() for x in r) >= 1)
        assert _served(survivor) == 1
        more = _partners([survivor], 3, "After")
        got = receiver.until(lambda r: sum(more[-1] in x.body.decode() for x in r) >= 1)
    delivered = [partner for _, partner in _deliveries(secret, got)]
    # The unanswered first event is sent again (its 2xx was lost with the process); after
    # it, every event exactly once, in log order.
    assert delivered == [ids[0], *ids, *more]
