"""What the worker records of its attempts: the newest `webhook_attempts_kept` of an
endpoint, in order, the older ones dropped as new ones are written."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.settings import Settings
from tests.conftest import gql
from tests.webhooks.conftest import FAST, endpoint, partner
from tests.webhooks.receivers import WAIT, receiving

KEEP = 10
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
  totalCount nodes { eventId position attempt statusCode } } }"""


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**FAST, "webhook_attempts_kept": KEEP})


def _recorded(client: TestClient, ident: str, webhook_id: str) -> dict[str, Any]:
    """The endpoint's records, once the attempt of `webhook_id` is among them."""
    deadline = time.monotonic() + WAIT
    while True:
        found: dict[str, Any] = gql(client, DELIVERIES, {"id": ident})["webhookDeliveries"]
        if any(n["eventId"] == webhook_id for n in found["nodes"]):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def test_the_newest_attempts_are_kept_and_the_older_dropped(hooks: TestClient) -> None:
    with receiving() as receiver:
        made = endpoint(hooks, url=receiver.url)
        for i in range(3 * KEEP):
            partner(hooks, f"R{i}")
        got = receiver.wait_for(3 * KEEP)
        _recorded(hooks, made["id"], got[-1].headers["webhook-id"])
        partner(hooks, "Last")  # written alone: the older ones make room for it
        last = receiver.wait_for(3 * KEEP + 1)[-1].headers["webhook-id"]
        records = _recorded(hooks, made["id"], last)
    sent = [x.headers["webhook-id"] for x in receiver.received]
    assert records["totalCount"] == KEEP
    assert [n["eventId"] for n in records["nodes"]] == sent[::-1][:KEEP]  # newest first
    assert {(n["attempt"], n["statusCode"]) for n in records["nodes"]} == {(1, 200)}
