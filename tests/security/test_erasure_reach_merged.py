"""Erasure reaches the duplicates merged into a person: a merge archives its sources
(same kind, `mergedInto` the destination) with every value they had. Erasing the
destination must not leave the person's data readable in an archived duplicate (its
row, history, as-of state, search) for an editor or an auditor to find."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql
from tests.schema.partner_ops import CREATE
from tests.schema.test_anonymize import ANONYMIZE, pg_dump

DUPLICATE = {
    "name": "Ignatius Pembrooke-Vale",
    "email": "i.pembrooke.vale@example.net",
    "phone": "+32 471 30 62 94",
    "street": "Pembrookestraat 19",
}
MERGE = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  userErrors { field code message } } }"""
READ = """query($id: ID!) {
  partner(id: $id) { name email phone address { street } anonymized archived }
  partnerHistory(id: $id) { nodes { changes { field old new } } }
  partnerAsOf(id: $id, version: 1) { name email phone }
  byName: partners(search: "Pembrooke", filter: { archived: true }) { totalCount }
  byEmail: partners(search: "i.pembrooke.vale@example.net", filter: { archived: true }) {
    totalCount } }"""


def _person(client: TestClient, **fields: Any) -> str:
    created = gql(client, CREATE, {"input": {"kind": "PERSON", "countryCode": "BE", **fields}})
    assert created["createPartner"]["userErrors"] == [], created
    ident: str = created["createPartner"]["partner"]["id"]
    return ident


def test_erasing_a_person_erases_the_duplicates_merged_into_it(
    client: TestClient, db: Database
) -> None:
    kept = _person(client, name="Ignatius Vale", email="ivale@example.net")
    duplicate = _person(client, **DUPLICATE)
    merged = gql(client, MERGE, {"input": {"destinationId": kept, "sourceIds": [duplicate]}})
    assert merged["mergePartners"]["userErrors"] == []

    erased = gql(client, ANONYMIZE, {"input": {"id": kept}})["anonymizePartner"]
    assert erased["userErrors"] == [] and erased["partner"]["anonymized"] is True

    answer = gql(client, READ, {"id": duplicate})
    assert answer["partner"]["anonymized"] is True and answer["partner"]["archived"] is True
    text = str(answer)
    for value in (*DUPLICATE.values(), "Pembrooke", "471"):
        assert value not in text, (value, answer)
    assert answer["byName"]["totalCount"] == 0 and answer["byEmail"]["totalCount"] == 0
    dump = pg_dump(db)
    for value in (DUPLICATE["name"], DUPLICATE["email"], DUPLICATE["street"]):
        assert value not in dump, value
