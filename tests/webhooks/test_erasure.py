"""Erasure reaches what webhook delivery keeps: after a person whose events were
delivered (and retried) is erased, no personal value of it is in a dump of the database
(the cursors and attempts hold positions, ids, statuses and errors, never a body)."""

from __future__ import annotations

import psycopg
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql
from tests.schema.test_anonymize import pg_dump
from tests.webhooks.conftest import UPDATE_PARTNER, endpoint
from tests.webhooks.receivers import receiving

SECRETS = ("Ottoline Quarrington", "ottoline.q@example.net", "Quarrington-Vale")


def test_after_erasing_a_delivered_person_no_dump_holds_its_values(
    hooks: TestClient, db: Database
) -> None:
    with receiving(statuses=[500]) as receiver:
        endpoint(hooks, url=receiver.url)
        person = gql(
            hooks,
            """mutation($name: String!, $email: String!) { createPartner(input: {
              kind: PERSON, name: $name, email: $email}) { partner { id } } }""",
            {"name": SECRETS[0], "email": SECRETS[1]},
        )["createPartner"]["partner"]["id"]
        gql(hooks, UPDATE_PARTNER, {"id": person, "name": SECRETS[2]})
        got = receiver.until(lambda r: any(SECRETS[2].encode() in x.body for x in r))
        assert SECRETS[0].encode() in got[0].body  # delivered, after one refusal
        with psycopg.connect(db.conninfo(), autocommit=True) as conn:
            kept = 0
            while kept < 3:  # the attempts are recorded just after their answers
                row = conn.execute("SELECT count(*) FROM webhook_attempts").fetchone()
                kept = row[0] if row else 0
        assert SECRETS[2] in pg_dump(db)  # the dump shows the read models' values
        erased = gql(
            hooks,
            "mutation($id: ID!) { anonymizePartner(input: {id: $id, reason: $why}) "
            "{ userErrors { code } } }".replace("$why", '"asked"'),
            {"id": person},
        )["anonymizePartner"]
        assert erased["userErrors"] == []
        receiver.until(lambda r: any(b"PARTNER_ANONYMIZED" in x.body for x in r))
    dump = pg_dump(db).lower()
    for secret in SECRETS:
        assert secret.lower() not in dump, secret
    assert "ottoline" not in dump and "quarrington" not in dump
