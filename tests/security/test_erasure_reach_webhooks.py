"""Erasure reaches webhook bodies not yet sent: an endpoint's worker reads a batch of
timeline rows (up to 100) and sends them one at a time; a person erased while the batch
waits behind a slow receiver must not go out as the rows were read. Driven by the
receiver's progress (it holds its answer), never by the clock."""

from __future__ import annotations

import threading

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.webhooks.conftest import endpoint, partner
from tests.webhooks.receivers import receiving, verified

SECRETS = ("Wendeline Prusk-Hallam", "wendeline.prusk@example.net", "Pruskhallam Lodge 4")
CREATE_PERSON = """mutation($name: String!, $email: String!, $street: String!) {
  createPartner(input: {kind: PERSON, name: $name, email: $email, street: $street,
                        reason: "asked by wendeline.prusk@example.net"}) {
    partner { id } userErrors { code message } } }"""
ANONYMIZE = """mutation($id: ID!) { anonymizePartner(input: {id: $id}) {
  partner { anonymized } userErrors { code message } } }"""
REPLAY = """mutation($id: ID!, $from: Int!) {
  replayWebhookEndpoint(input: {id: $id, fromPosition: $from}) { userErrors { code } } }"""


def test_rows_read_before_an_erasure_are_not_sent_as_they_were_read(hooks: TestClient) -> None:
    with receiving() as receiver:
        hook = endpoint(hooks, url=receiver.url)
        first = partner(hooks, "Slow Receiver Ltd")
        got = receiver.wait_for(1)
        position = verified(hook["secret"], got[0])["position"]
        created = gql(
            hooks,
            CREATE_PERSON,
            {"name": SECRETS[0], "email": SECRETS[1], "street": SECRETS[2]},
        )["createPartner"]
        assert created["userErrors"] == [], created
        person = created["partner"]["id"]
        before = receiver.until(lambda r: any(SECRETS[0].encode() in x.body for x in r))
        assert SECRETS[1].encode() in before[-1].body  # delivered while the person was there

        # The endpoint is replayed from the company's event: its worker reads the company's
        # row and the person's in one batch, and waits on the company's answer.
        receiver.hold = threading.Event()
        assert (
            gql(hooks, REPLAY, {"id": hook["id"], "from": position - 1})["replayWebhookEndpoint"][
                "userErrors"
            ]
            == []
        )
        held = receiver.wait_for(len(before) + 1)
        assert verified(hook["secret"], held[-1])["data"]["timeline"]["partner"]["id"] == first

        erased = gql(hooks, ANONYMIZE, {"id": person})["anonymizePartner"]
        assert erased == {"partner": {"anonymized": True}, "userErrors": []}
        sent_after = len(held)
        receiver.hold.set()
        got = receiver.until(lambda r: any(b"PARTNER_ANONYMIZED" in x.body for x in r))

    after = got[sent_after:]
    assert any(person in x.body.decode() for x in after)  # the person's rows went again
    for delivery in after:
        body = delivery.body.decode()
        for secret in (*SECRETS, "wendeline", "prusk"):
            assert secret.lower() not in body.lower(), (secret, body)
