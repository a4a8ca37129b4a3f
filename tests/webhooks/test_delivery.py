"""Webhooks delivered to real receivers on 127.0.0.1, verified with the standardwebhooks
package: log order, the kinds and partners asked for, retries with the same webhook-id,
a receiver that was down gets everything, refused addresses, no redirects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import gql
from tests.webhooks.conftest import UPDATE_PARTNER, endpoint, partner
from tests.webhooks.receivers import receiving, verified

DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
  totalCount nodes { eventId position kind attempt statusCode error } } }"""


def test_events_arrive_in_log_order_only_the_kinds_and_partners_asked_for(
    hooks: TestClient,
) -> None:
    with receiving() as receiver:
        hook = endpoint(
            hooks,
            url=receiver.url,
            eventKinds=["PARTNER_CREATED", "PARTNER_UPDATED"],
            filter={"isCustomer": True},
        )
        assert hook["secret"].startswith("whsec_") and hook["enabled"]
        a = partner(hooks, "Alpha", customer=True)
        partner(hooks, "Beta", customer=False)  # not a customer: not sent
        gql(hooks, UPDATE_PARTNER, {"id": a, "name": "Alpha Two"})
        gql(
            hooks,
            "mutation($id: ID!) { archivePartner(input: {id: $id}) { userErrors { code } } }",
            {"id": a},
        )
        c = partner(hooks, "Gamma", customer=True)  # the last one: once here, all came
        got = receiver.until(lambda r: any(c in x.body.decode() for x in r))
        bodies = [verified(hook["secret"], x) for x in got]
        assert [(b["type"], b["data"]["timeline"]["partner"]["id"]) for b in bodies] == [
            ("PARTNER_CREATED", a),
            ("PARTNER_UPDATED", a),
            ("PARTNER_CREATED", c),
        ]
        positions = [b["position"] for b in bodies]
        assert positions == sorted(positions)
        assert all(
            x.headers["webhook-id"] == b["eventId"] for x, b in zip(got, bodies, strict=True)
        )
        assert bodies[1]["data"]["timeline"]["changes"]["name"] == "Alpha Two"


def test_a_receiver_that_fails_three_times_gets_the_event_four_times_with_one_id(
    hooks: TestClient,
) -> None:
    with receiving(statuses=[500, 500, 500]) as receiver:
        hook = endpoint(hooks, url=receiver.url)
        partner(hooks, "Retried")
        got = receiver.wait_for(4)
        assert len({x.headers["webhook-id"] for x in got}) == 1
        for x in got:
            assert verified(hook["secret"], x)["type"] == "PARTNER_CREATED"
        attempts = gql(hooks, DELIVERIES, {"id": hook["id"]})["webhookDeliveries"]["nodes"]
        while len(attempts) < 4:  # the fourth attempt's record follows its answer
            attempts = gql(hooks, DELIVERIES, {"id": hook["id"]})["webhookDeliveries"]["nodes"]
        assert [(n["attempt"], n["statusCode"]) for n in reversed(attempts)] == [
            (1, 500),
            (2, 500),
            (3, 500),
            (4, 200),
        ]


@pytest.fixture
def patient_hooks(hook_settings: Settings, admin_key: str) -> Iterator[TestClient]:
    """Retries for minutes (up to 2 s apart), not for the ~4 s of FAST's 22 attempts:
    making 100 partners on a busy machine may take longer than that."""
    settings = hook_settings.model_copy(
        update={"webhook_backoff_max_seconds": 2.0, "webhook_max_attempts": 100}
    )
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(settings), headers=headers) as client:
        yield client


def test_a_receiver_down_while_100_events_happen_gets_all_100_in_order(
    patient_hooks: TestClient,
) -> None:
    hooks = patient_hooks
    with receiving() as receiver:
        hook = endpoint(hooks, url=receiver.url)
        receiver.stop()  # down: connections refused
        ids = [partner(hooks, f"P{i:03}") for i in range(100)]
        receiver.start()  # back, on the same port
        got = receiver.until(lambda r: len({x.headers["webhook-id"] for x in r}) >= 100)
        bodies = [verified(hook["secret"], x) for x in got]
        seen: list[str] = []
        for b in bodies:  # a lost answer may repeat an event, never reorder or skip one
            pid = b["data"]["timeline"]["partner"]["id"]
            if not seen or seen[-1] != pid:
                seen.append(pid)
        assert seen == ids


def test_an_http_or_private_url_is_refused_without_the_setting(client: TestClient) -> None:
    for url in (
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/h",
        "https://localhost/h",
        "https://user:pw@example.com/h",
        "ftp://example.com",
    ):
        payload = gql(
            client,
            "mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) "
            "{ endpoint { id } userErrors { field code } } }",
            {"url": url},
        )["createWebhookEndpoint"]
        assert payload == {
            "endpoint": None,
            "userErrors": [{"field": ["url"], "code": "VALIDATION"}],
        }, url


def test_a_redirect_is_not_followed(hooks: TestClient) -> None:
    with receiving() as target, receiving(statuses=[302, 302]) as receiver:
        receiver.location = target.url
        hook = endpoint(hooks, url=receiver.url)
        partner(hooks, "Redirected")
        receiver.wait_for(3)  # two redirects answered, then a 200
        assert target.received == []
        attempts = gql(hooks, DELIVERIES, {"id": hook["id"]})["webhookDeliveries"]["nodes"]
        assert attempts[-1]["statusCode"] == 302
        assert "redirects are not followed" in attempts[-1]["error"]
