"""duplicateCandidates: what never counts as evidence (the `/` of "no VAT", a contact's
hidden own VAT) and who is never a candidate (anonymized people)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.partner_ops import UPDATE, create
from tests.schema.test_anonymize import anonymize
from tests.schema.test_duplicates import candidates


def test_no_vat_never_matches(client: TestClient) -> None:
    nova = create(client, kind="COMPANY", name="Nova Trading", vat="/", countryCode="BE")
    create(client, kind="COMPANY", name="Baltic Pines", vat="/", countryCode="BE")
    create(client, kind="COMPANY", name="Nova Trading", vat="/", countryCode="BE")

    # The twin is found by its name only: "/" is no VAT, not the same VAT.
    assert {n: r for n, (_, r) in candidates(client, nova).items()} == {
        "Nova Trading": ["SIMILAR_NAME"]
    }


def test_a_contacts_hidden_own_vat_never_matches(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Wood Corner", vat="BE0477472701")
    moved = create(client, kind="PERSON", name="Hélène Vasseur", vat="FR40303265045")
    result = gql(client, UPDATE, {"input": {"id": moved["id"], "parentId": company["id"]}})
    assert result["updatePartner"]["partner"]["vat"] == "BE0477472701"
    loner = create(client, kind="PERSON", name="Karim Osei", vat="FR40303265045")
    sibling = create(client, kind="PERSON", name="Tom Lindqvist", parentId=company["id"])

    # It shows its company's VAT: its old own one is no evidence.
    assert candidates(client, loner) == {}
    assert candidates(client, moved) == {}
    # Nor is the VAT two contacts show (their company's).
    assert candidates(client, sibling) == {}


def test_anonymized_people_are_never_candidates(client: TestClient) -> None:
    first = create(client, kind="PERSON", name="Philippa Wintergreen", countryCode="BE")
    second = create(client, kind="PERSON", name="Oskar Brandt", countryCode="BE")
    for person in (first, second):
        assert anonymize(client, person["id"])["userErrors"] == []
    # Named as they now read, in the same country.
    named_alike = create(client, kind="PERSON", name="Anonymized partner", countryCode="BE")

    assert candidates(client, first) == {}
    assert candidates(client, second) == {}
    assert candidates(client, named_alike) == {}
