"""Erasure reaches the process's caches of values: the VATs `normalize_vat` checked and
the operation texts `parse_operation` parsed (a mutation with its values written inline)
stayed in memory until other values pushed them out; the erasure's notice, which every
process handles before `anonymizePartner` answers, now empties both."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.domain.contact_fields import normalize_vat
from app.schema.parsing import parse_operation
from tests.conftest import gql

INLINE = """mutation { createPartner(input: {kind: PERSON, name: "Ysolde Quernby",
  email: "ysolde.quernby@example.org", vat: "BE0477472701"}) { partner { id } } }"""
ERASE = """mutation($id: ID!) { anonymizePartner(input: {id: $id}) {
  partner { anonymized } userErrors { code } } }"""


def test_erasure_empties_the_caches_that_hold_values(client: TestClient) -> None:
    created = gql(client, INLINE)["createPartner"]["partner"]
    assert normalize_vat.cache_info().currsize > 0
    assert parse_operation.cache_info().currsize > 0
    erased = gql(client, ERASE, {"id": created["id"]})["anonymizePartner"]
    assert erased == {"partner": {"anonymized": True}, "userErrors": []}
    # The erasure's own operation is parsed after the notice: nothing else is left.
    cached = parse_operation.cache_info().currsize
    assert cached <= 1, cached
    assert normalize_vat.cache_info().currsize == 0
