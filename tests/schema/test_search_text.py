"""What the search looks in: the VAT a partner shows (not a contact's hidden own one),
never the `/` that means "no VAT", and names with spaces in a row as collapsed."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.partner_ops import UPDATE, create

SEARCH = """query($q: String, $filter: PartnerFilter) {
  partners(search: $q, filter: $filter) { nodes { name vat } } }"""


def found(client: TestClient, q: str | None, **filter_: Any) -> list[str]:
    data = gql(client, SEARCH, {"q": q, "filter": filter_ or None})
    return sorted(n["name"] for n in data["partners"]["nodes"])


def test_search_looks_in_the_vat_a_contact_shows_not_its_own(client: TestClient) -> None:
    person = create(client, kind="PERSON", name="Hélène Vasseur", vat="FR40303265045")
    company = create(client, kind="COMPANY", name="Wood Corner", vat="BE0477472701")
    assert found(client, "FR40303265045") == ["Hélène Vasseur"]  # on its own: its own VAT
    moved = gql(client, UPDATE, {"input": {"id": person["id"], "parentId": company["id"]}})
    assert moved["updatePartner"]["partner"]["vat"] == "BE0477472701"

    assert found(client, "FR40303265045") == []
    assert found(client, "BE0477472701") == ["Hélène Vasseur", "Wood Corner"]
    # The search and the filter agree on which VAT a partner has.
    assert found(client, None, vat="BE0477472701") == found(client, "BE0477472701")
    assert found(client, None, vat="FR40303265045") == []


def test_a_subsidiary_is_found_by_its_own_vat_only(client: TestClient) -> None:
    group = create(client, kind="COMPANY", name="Azure Group", vat="BE0477472701")
    create(client, kind="COMPANY", name="Azure Fremont", parentId=group["id"])
    # A company holds its commercial values: it shows no VAT, so none is searched.
    assert found(client, "BE0477472701") == ["Azure Group"]


def test_no_vat_is_not_searchable(client: TestClient) -> None:
    create(client, kind="COMPANY", name="Nova Trading", vat="/")
    create(client, kind="COMPANY", name="Baltic Pines", vat="/")
    assert found(client, None, vat="/") == ["Baltic Pines", "Nova Trading"]
    assert found(client, "/") == []


def test_a_name_with_spaces_in_a_row_is_found_as_typed_and_collapsed(
    client: TestClient,
) -> None:
    create(client, kind="PERSON", name="Zoë  Ålund")
    company = create(client, kind="COMPANY", name="Fjord   Lines")
    create(client, kind="PERSON", name="Ola Berg", parentId=company["id"])
    for search in ("Zoë  Ålund", "zoe alund", " ZOE \t ALUND "):
        assert found(client, search) == ["Zoë  Ålund"], search
    assert found(client, "fjord lines") == ["Fjord   Lines", "Ola Berg"]  # the company's too


def test_no_break_spaces_are_spaces(client: TestClient) -> None:
    create(client, kind="COMPANY", name="Café\u00a0Noir")
    create(client, kind="COMPANY", name="Maison Blanche")
    assert found(client, "cafe noir") == ["Café\u00a0Noir"]
    assert found(client, "maison\u202fblanche") == ["Maison Blanche"]


RANKED = """query($q: String!, $order: [PartnerOrder!]) {
  partners(search: $q, orderBy: $order) { nodes { name } } }"""


def test_a_name_with_spaces_in_a_row_ranks_and_sorts_as_collapsed(client: TestClient) -> None:
    """RELEVANCE's first rank is a name that starts with the search: "Zoë  Ålund" (two
    spaces) starts with `zoe alund` as it is searched, so it comes before a name that only
    holds the words; and NAME sorts it as "zoe alund", before "Zoë Ålunda"."""
    create(client, kind="PERSON", name="Anna Zoë Ålund")
    create(client, kind="PERSON", name="Zoë  Ålund")
    create(client, kind="PERSON", name="Zoë Ålunda")

    def ranked(order: list[dict[str, str]]) -> list[str]:
        data = gql(client, RANKED, {"q": "zoe alund", "order": order})
        return [n["name"] for n in data["partners"]["nodes"]]

    assert ranked([{"field": "RELEVANCE", "direction": "DESC"}]) == [
        "Zoë  Ålund",
        "Zoë Ålunda",
        "Anna Zoë Ålund",
    ]
    assert ranked([{"field": "NAME"}]) == ["Anna Zoë Ålund", "Zoë  Ålund", "Zoë Ålunda"]
