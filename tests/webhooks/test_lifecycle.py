"""An endpoint's life: disabled with the reason after its last retry, enabled again
where it stopped, replayed from a position, signed by both secrets after a rotation,
admin only; and a person erased before a delivery leaves nothing personal in its body."""

from __future__ import annotations

from typing import Any

import pytest
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.testclient import TestClient

from app.infra.database import Database
from app.infra.webhook_secrets import KEPT_SECRETS
from app.settings import Settings
from tests.conftest import as_key, gql, gql_raw, key_for
from tests.webhooks.conftest import FAST, endpoint, partner
from tests.webhooks.receivers import receiving, verified

ENDPOINTS = "{ webhookEndpoints { id enabled disabledReason } }"
_INPUTS = {"replayWebhookEndpoint": "ReplayWebhookEndpointInput"}


def _act(client: TestClient, name: str, **input: Any) -> dict[str, Any]:
    query = (
        f"mutation($input: {_INPUTS.get(name, 'WebhookEndpointInput')}!) {{ {name}(input: $input) "
        "{ endpoint { id enabled disabledReason secret } userErrors { code message } } }"
    )
    payload: dict[str, Any] = gql(client, query, {"input": input})[name]
    assert payload["userErrors"] == [], payload
    return payload


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**FAST, "webhook_max_attempts": 3})


def test_after_the_last_retry_the_endpoint_is_disabled_and_says_why(hooks: TestClient) -> None:
    with receiving(statuses=[503, 503, 503]) as receiver:
        hook = endpoint(hooks, url=receiver.url)
        first = partner(hooks, "Stuck")
        receiver.wait_for(3)
        while (found := gql(hooks, ENDPOINTS)["webhookEndpoints"][0])["enabled"]:
            pass  # the worker disables it right after the third answer
        assert "3 attempts" in found["disabledReason"] and "HTTP 503" in found["disabledReason"]
        second = partner(hooks, "Later")
        _act(hooks, "enableWebhookEndpoint", id=hook["id"])
        got = receiver.until(lambda r: any(second in x.body.decode() for x in r))
        partners = [verified(hook["secret"], x)["data"]["timeline"]["partner"]["id"] for x in got]
        assert partners == [first, first, first, first, second]  # resumed where it stopped


def test_a_replay_sends_again_from_a_position(hooks: TestClient) -> None:
    with receiving() as receiver:
        hook = endpoint(hooks, url=receiver.url)
        names = [partner(hooks, f"R{i}") for i in range(3)]
        got = receiver.wait_for(3)
        second = verified(hook["secret"], got[1])["position"]
        _act(hooks, "replayWebhookEndpoint", id=hook["id"], fromPosition=second - 1)
        got = receiver.wait_for(5)
        again = [verified(hook["secret"], x)["data"]["timeline"]["partner"]["id"] for x in got[3:]]
        assert again == names[1:]
        assert got[3].headers["webhook-id"] == got[1].headers["webhook-id"]


def test_after_a_rotation_old_and_new_secrets_both_verify(hooks: TestClient) -> None:
    with receiving() as receiver:
        hook = endpoint(hooks, url=receiver.url)
        rotated = _act(hooks, "rotateWebhookSecret", id=hook["id"])["endpoint"]["secret"]
        assert rotated != hook["secret"] and rotated.startswith("whsec_")
        assert gql(hooks, "{ webhookEndpoints { secret } }")["webhookEndpoints"] == [
            {"secret": None}
        ]
        partner(hooks, "Rotated")
        (got,) = receiver.wait_for(1)
        assert verified(hook["secret"], got) == verified(rotated, got)


def test_rotations_in_a_row_keep_a_few_secrets_signing(hooks: TestClient) -> None:
    """Each rotation kept every earlier secret signing for its grace (24 h): 60 rotations
    left 61 secrets, 61 HMACs and signatures on every delivery (an audit's finding). The
    newest and the two before it sign; older ones are dropped at the rotation."""
    with receiving() as receiver:
        hook = endpoint(hooks, url=receiver.url)
        secrets = [hook["secret"]]
        for _ in range(6):
            rotated = _act(hooks, "rotateWebhookSecret", id=hook["id"])["endpoint"]["secret"]
            secrets.append(rotated)
        partner(hooks, "Rotated Often")
        (got,) = receiver.wait_for(1)
    signatures = got.headers["webhook-signature"].split()
    assert len(signatures) == KEPT_SECRETS + 1
    assert verified(secrets[-1], got) == verified(secrets[-3], got)
    with pytest.raises(WebhookVerificationError):
        verified(secrets[-4], got)


def test_a_person_erased_before_the_delivery_leaves_nothing_personal(
    hooks: TestClient, db: Database
) -> None:
    with receiving(statuses=[500]) as receiver:
        hook = endpoint(hooks, url=receiver.url, eventKinds=["PARTNER_CREATED"])
        person = gql(
            hooks,
            """mutation { createPartner(input: {kind: PERSON, name: "Zoë Secretname",
              email: "zoe.secret@example.net"}) { partner { id } } }""",
        )["createPartner"]["partner"]["id"]
        receiver.wait_for(1)  # the first attempt (refused) carried the name
        gql(
            hooks,
            "mutation($id: ID!) { anonymizePartner(input: {id: $id, reason: 'asked'}) "
            "{ userErrors { code } } }".replace("'", '"'),
            {"id": person},
        )
        _act(hooks, "replayWebhookEndpoint", id=hook["id"], fromPosition=0)
        got = receiver.until(lambda r: len(r) >= 2 and b"Secretname" not in r[-1].body)
        assert b"Secretname" in got[0].body  # sent before the erasure
        after = got[-1].body
        assert b"Secretname" not in after and b"zoe.secret" not in after
        assert verified(hook["secret"], got[-1])["type"] == "PARTNER_CREATED"


def test_only_an_admin_manages_webhooks(hooks: TestClient, db: Database) -> None:
    as_key(hooks, key_for(db, "editor"))
    body = gql_raw(
        hooks,
        'mutation { createWebhookEndpoint(input: {url: "https://example.com/h"}) '
        "{ userErrors { code } } }",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = gql_raw(hooks, ENDPOINTS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("bad_id", ["", "æü", "UGFydG5lcjox"])
def test_an_id_that_is_no_endpoints_is_a_clear_error_not_an_internal_one(
    hooks: TestClient, bad_id: str
) -> None:
    """Found by the fuzz test: an empty or foreign id made these two fields fail inside."""
    rotated = gql(
        hooks,
        "mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) "
        "{ endpoint { id } userErrors { field code } } }",
        {"id": bad_id},
    )["rotateWebhookSecret"]
    assert rotated == {"endpoint": None, "userErrors": [{"field": ["id"], "code": "NOT_FOUND"}]}
    listed = gql_raw(
        hooks,
        "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 1) { totalCount } }",
        {"id": bad_id},
    )
    assert [e["extensions"]["code"] for e in listed["errors"]] == ["BAD_REQUEST"]


def test_an_endpoints_url_cannot_be_cleared(hooks: TestClient) -> None:
    hook = endpoint(hooks, url="http://127.0.0.1:9/never")
    updated = gql(
        hooks,
        "mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, url: null}) "
        "{ endpoint { url } userErrors { field code } } }",
        {"id": hook["id"]},
    )["updateWebhookEndpoint"]
    assert updated == {"endpoint": None, "userErrors": [{"field": ["url"], "code": "VALIDATION"}]}
