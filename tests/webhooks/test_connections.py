"""How the worker talks to a receiver: one kept-alive connection for many events, a new
one when the receiver closed it; and a batch that fails at its third event: the first
two are acknowledged once, the third is retried, nothing after it goes out before it."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.webhooks.conftest import endpoint, partner
from tests.webhooks.receivers import receiving, verified

DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
  nodes { position attempt statusCode } } }"""


def _toggle(client: TestClient, name: str, ident: str) -> None:
    query = f"mutation($id: ID!) {{ {name}(input: {{id: $id}}) {{ userErrors {{ code }} }} }}"
    assert gql(client, query, {"id": ident})[name]["userErrors"] == []


def _attempts(client: TestClient, ident: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = gql(client, DELIVERIES, {"id": ident})["webhookDeliveries"][
        "nodes"
    ]
    return found


def _partners(secret: str, got: list[Any]) -> list[str]:
    return [verified(secret, x)["data"]["timeline"]["partner"]["id"] for x in got]


def test_events_share_one_kept_alive_connection_and_a_closed_one_is_replaced(
    hooks: TestClient,
) -> None:
    with receiving(keep_alive=True) as receiver:
        hook = endpoint(hooks, url=receiver.url)
        first = [partner(hooks, f"Kept {i}") for i in range(5)]
        receiver.wait_for(5)
        while len(_attempts(hooks, hook["id"])) < 5:
            pass  # until the fifth answer was read: the connection is idle
        assert len(receiver.connections) == 1  # five requests, one connection
        receiver.drop_connections()  # the receiver closes it while it is idle
        later = [partner(hooks, f"Again {i}") for i in range(3)]
        got = receiver.wait_for(8)
        assert _partners(hook["secret"], got) == first + later  # each once, in order
        assert len(receiver.connections) == 2


def test_a_batch_that_fails_at_its_third_event_resends_only_from_there(
    hooks: TestClient,
) -> None:
    with receiving(statuses=[200, 200, 500, 503]) as receiver:
        hook = endpoint(hooks, url=receiver.url, eventKinds=["PARTNER_CREATED"])
        _toggle(hooks, "disableWebhookEndpoint", hook["id"])
        ids = [partner(hooks, f"Batch {i}") for i in range(6)]
        _toggle(hooks, "enableWebhookEndpoint", hook["id"])  # all six wait: one batch
        got = receiver.wait_for(8)
        a, b, c, *rest = ids
        assert _partners(hook["secret"], got) == [a, b, c, c, c, *rest]
        attempts = _attempts(hooks, hook["id"])
        while len(attempts) < 8:  # the last attempts are recorded just after their answer
            attempts = _attempts(hooks, hook["id"])
        assert [(n["attempt"], n["statusCode"]) for n in reversed(attempts)] == [
            (1, 200),
            (1, 200),
            (1, 500),
            (2, 503),
            (3, 200),
            (1, 200),
            (1, 200),
            (1, 200),
        ]
