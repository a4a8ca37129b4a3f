"""Erasure reaches the process's caches of values: the VATs `normalize_vat` checked and
the operation texts `parse_operation` parsed (a mutation with its values written inline)
stayed in memory until other values pushed them out; the erasure's notice, which every
process handles before `anonymizePartner` answers, now empties both."""

from __future__ import annotations

import gc
import json
import uuid

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


def _holds(value: object, token: str, depth: int = 0) -> bool:
    """Whether `value` is a string with `token`, or a container holding one: the
    collector stops tracking the tuples, frozensets and dicts that hold only such values
    (a cache's keys, a filter's JSON). Loops, not comprehensions: a comprehension's
    closure would hold `token` in a cell."""
    if type(value) is str:
        return token in value
    if depth >= 8:
        return False
    if type(value) is dict:
        for key, item in value.items():
            if _holds(key, token, depth + 1) or _holds(item, token, depth + 1):
                return True
    elif type(value) in (tuple, frozenset, list, set):
        for item in value:  # type: ignore[attr-defined]
            if _holds(item, token, depth + 1):
                return True
    return False


def holders(token: str) -> list[str]:
    """The type of every object of this process (that the garbage collector tracks) that
    refers to a string with `token`, directly or through untracked containers."""
    gc.collect()
    found: list[str] = []
    for holder in gc.get_objects():
        for value in gc.get_referents(holder):
            if _holds(value, token):
                found.append(type(holder).__qualname__)
    return found


def test_no_cache_of_the_process_keeps_an_erased_text(client: TestClient) -> None:
    """The parse cache was emptied, but the document it had parsed stayed in every other
    memo keyed by document: the text checks' (`text_guard`), the validations' and the
    cost walks' (`auth`), whose nodes hold the text they came from; and the email
    domains checked stayed in their cache."""
    token = "Zq" + uuid.uuid4().hex[:12]
    domain = f"{token.lower()}-family.example"
    created = gql(
        client,
        "mutation { createPartner(input: {kind: PERSON, name: "
        + json.dumps(f"{token} Quernby")
        + ", email: "
        + json.dumps(f"ann@{domain}")
        + "}) { partner { id } } }",
    )["createPartner"]["partner"]
    assert holders(token), "the text is held before the erasure (the check sees it)"
    erased = gql(client, ERASE, {"id": created["id"]})["anonymizePartner"]
    assert erased == {"partner": {"anonymized": True}, "userErrors": []}
    assert holders(token) == []
    assert holders(token.lower()) == []
