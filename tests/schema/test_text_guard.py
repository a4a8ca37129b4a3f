"""Text with NUL characters is refused before anything is recorded (PostgreSQL text
cannot hold it, so such an event would stop the projector)."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql, gql_raw
from tests.schema.partner_ops import create

TAG = 'mutation { createTag(input: {name: "bad\\u0000name"}) { tag { id } } }'
SALESPERSON = """mutation($input: CreateSalespersonInput!) { createSalesperson(input: $input) {
  salesperson { id } userErrors { code } } }"""


def test_nul_in_a_literal_or_a_variable_is_refused(client: TestClient, db: Database) -> None:
    before = event_count(db)
    for body in (
        gql_raw(client, TAG),
        gql_raw(client, SALESPERSON, {"input": {"name": "x\x00y"}}),
        gql_raw(client, SALESPERSON, {"input": {"name": "ok"}, "reason": "\x00"}),
    ):
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
        assert "NUL" in body["errors"][0]["message"]
    assert event_count(db) == before
    # Other control characters are stored and projected as they are.
    partner = create(client, kind="COMPANY", name="ok\x10name")
    got = gql(client, "query($id: ID!) { partner(id: $id) { name } }", {"id": partner["id"]})
    assert got["partner"]["name"] == "ok\x10name"
