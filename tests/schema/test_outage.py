"""Fail fast while the database is away: once a command has failed for want of the
database, later ones probe with one plain connection and answer 503 at once, without
running (eventsourcing's ten retries each wait out the pool's timeout)."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.e2e.test_server import _free_port

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id name } userErrors { code } } }"""


def test_commands_fail_fast_while_marked_and_resume_when_the_server_answers(
    client: TestClient, db: Database
) -> None:
    outage = client.app.state.runtime.services.outage  # type: ignore[attr-defined]
    real = outage.conninfo
    # Nothing listens on this port: the probe is refused, as with a stopped server.
    outage.conninfo = db.conninfo(host="127.0.0.1", port=_free_port())
    outage.mark()
    response = client.post("/graphql", json={"query": CREATE, "variables": {"name": "Acme"}})
    assert response.status_code == 503
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["DATABASE_UNAVAILABLE"]
    assert event_count(db) == 0
    assert outage.down_since is not None

    outage.conninfo = real  # the server answers again
    created = gql(client, CREATE, {"name": "Acme"})["createPartner"]
    assert created["partner"]["name"] == "Acme"
    assert outage.down_since is None
    assert event_count(db) == 1


def test_an_unmarked_outage_costs_nothing(client: TestClient, db: Database) -> None:
    outage = client.app.state.runtime.services.outage  # type: ignore[attr-defined]
    outage.conninfo = "host=127.0.0.1 port=1 dbname=none"  # would fail if it were used
    assert gql(client, CREATE, {"name": "Acme"})["createPartner"]["userErrors"] == []
    assert event_count(db) == 1
