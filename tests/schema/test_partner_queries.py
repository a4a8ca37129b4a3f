"""partner / partners / node / nodes: filters, ordering, keyset pages, limits."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import ARCHIVE, LIST, create, names, update


@pytest.fixture
def registry(client: TestClient) -> dict[str, dict[str, Any]]:
    """A small registry: two companies with contacts, a supplier, a prospect."""
    azure = create(client, kind="COMPANY", name="Azure Interior", countryCode="US", isCustomer=True)
    deco = create(
        client,
        kind="COMPANY",
        name="Deco Addict",
        countryCode="BE",
        isCustomer=True,
        isSupplier=True,
    )
    wood = create(client, kind="COMPANY", name="Wood Corner", countryCode="BE", isSupplier=True)
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    ann = create(client, kind="PERSON", name="Ann Lee", parentId=deco["id"], isCustomer=True)
    zoe = create(client, kind="PERSON", name="Zoë Prospect")
    return {p["name"]: p for p in (azure, deco, wood, brandon, ann, zoe)}


def test_filters(client: TestClient, registry: dict[str, dict[str, Any]]) -> None:
    assert names(client, filter={"kind": "COMPANY"}) == [
        "Azure Interior",
        "Deco Addict",
        "Wood Corner",
    ]
    assert names(client, filter={"isCustomer": True}) == [
        "Ann Lee",
        "Azure Interior",
        "Deco Addict",
    ]
    assert names(client, filter={"isSupplier": True}) == ["Deco Addict", "Wood Corner"]
    assert names(client, filter={"countryCode": "be"}) == ["Ann Lee", "Deco Addict", "Wood Corner"]
    assert names(client, filter={"parentId": registry["Azure Interior"]["id"]}) == [
        "Brandon Freeman"
    ]
    assert names(client, filter={"commercialPartnerId": registry["Deco Addict"]["id"]}) == [
        "Ann Lee",
        "Deco Addict",
    ]


def test_filters_combine_with_and_or_not(
    client: TestClient, registry: dict[str, dict[str, Any]]
) -> None:
    customers_not_suppliers = {"isCustomer": True, "not": {"isSupplier": True}}
    assert names(client, filter=customers_not_suppliers) == ["Ann Lee", "Azure Interior"]
    either = {"or": [{"countryCode": "US"}, {"isSupplier": True}]}
    assert names(client, filter=either) == [
        "Azure Interior",
        "Brandon Freeman",
        "Deco Addict",
        "Wood Corner",
    ]
    both = {"and": [{"kind": "COMPANY"}, {"countryCode": "BE"}], "isSupplier": True}
    assert names(client, filter=both) == ["Deco Addict", "Wood Corner"]


def test_unknown_ids_in_filters_match_nothing(
    client: TestClient, registry: dict[str, dict[str, Any]]
) -> None:
    assert names(client, filter={"parentId": "bm90IGFuIGlk"}) == []


def test_ordering(client: TestClient, registry: dict[str, dict[str, Any]]) -> None:
    by_name_desc = names(client, orderBy=[{"field": "NAME", "direction": "DESC"}])
    assert by_name_desc[:2] == ["Zoë Prospect", "Wood Corner"]
    by_created = names(client, orderBy=[{"field": "CREATED_AT"}])
    assert by_created == [
        "Azure Interior",
        "Deco Addict",
        "Wood Corner",
        "Brandon Freeman",
        "Ann Lee",
        "Zoë Prospect",
    ]
    by_display = names(client, orderBy=[{"field": "DISPLAY_NAME"}], filter={"kind": "PERSON"})
    assert by_display == ["Brandon Freeman", "Ann Lee", "Zoë Prospect"]  # "Azure…, Deco…"
    by_country = names(
        client, orderBy=[{"field": "COUNTRY"}, {"field": "NAME"}], filter={"kind": "COMPANY"}
    )
    assert by_country == ["Deco Addict", "Wood Corner", "Azure Interior"]


def _pages(client: TestClient, size: int, **variables: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        connection = gql(client, LIST, {"first": size, "after": after, **variables})["partners"]
        pages.append([e["node"]["name"] for e in connection["edges"]])
        assert connection["totalCount"] == 7
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]


def test_pages_cover_every_partner_once(client: TestClient) -> None:
    for i in range(7):
        create(client, kind="PERSON", name=f"Person {i}")
    assert _pages(client, 3) == [
        ["Person 0", "Person 1", "Person 2"],
        ["Person 3", "Person 4", "Person 5"],
        ["Person 6"],
    ]
    newest_first = _pages(client, 4, orderBy=[{"field": "CREATED_AT", "direction": "DESC"}])
    assert newest_first == [
        ["Person 6", "Person 5", "Person 4", "Person 3"],
        ["Person 2", "Person 1", "Person 0"],
    ]


def test_cursors_stay_correct_when_rows_are_inserted_between_pages(client: TestClient) -> None:
    for name in ("B", "D", "F"):
        create(client, kind="PERSON", name=name)
    first = gql(client, LIST, {"first": 2})["partners"]
    assert [e["node"]["name"] for e in first["edges"]] == ["B", "D"]
    create(client, kind="PERSON", name="A")  # before the cursor: not seen again
    create(client, kind="PERSON", name="E")  # after it: shows up
    rest = gql(client, LIST, {"first": 10, "after": first["pageInfo"]["endCursor"]})["partners"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["E", "F"]


def test_paging_backwards_with_last_and_before(client: TestClient) -> None:
    for name in ("A", "B", "C", "D", "E"):
        create(client, kind="PERSON", name=name)
    tail = gql(client, LIST, {"last": 2})["partners"]
    assert [e["node"]["name"] for e in tail["edges"]] == ["D", "E"]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    before = gql(client, LIST, {"last": 2, "before": tail["pageInfo"]["startCursor"]})
    assert [e["node"]["name"] for e in before["partners"]["edges"]] == ["B", "C"]


def test_first_zero_gives_an_empty_page_with_the_count(client: TestClient) -> None:
    create(client, kind="PERSON", name="Ann")
    connection = gql(client, LIST, {"first": 0})["partners"]
    assert connection["edges"] == [] and connection["totalCount"] == 1


def test_first_above_100_is_refused(client: TestClient) -> None:
    body = gql_raw(client, LIST, {"first": 101})
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert body["data"] is None


def test_a_forged_cursor_is_a_bad_request(client: TestClient) -> None:
    body = gql_raw(client, LIST, {"first": 5, "after": "not-a-cursor"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_cursor_of_another_ordering_is_refused(client: TestClient) -> None:
    create(client, kind="PERSON", name="A")
    create(client, kind="PERSON", name="B")
    cursor = gql(client, LIST, {"first": 1})["partners"]["pageInfo"]["endCursor"]
    body = gql_raw(
        client, LIST, {"first": 1, "after": cursor, "orderBy": [{"field": "CREATED_AT"}]}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_node_and_nodes_resolve_partners(client: TestClient) -> None:
    ann = create(client, kind="PERSON", name="Ann")
    query = """query($id: ID!, $ids: [ID!]!) {
      node(id: $id) { id ... on Partner { name } }
      nodes(ids: $ids) { id ... on Partner { name } }
    }"""
    data = gql(client, query, {"id": ann["id"], "ids": [ann["id"], "bm9wZQ"]})
    assert data["node"] == {"id": ann["id"], "name": "Ann"}
    assert data["nodes"] == [{"id": ann["id"], "name": "Ann"}, None]


def test_an_archived_partner_is_still_found_by_id(client: TestClient) -> None:
    ann = create(client, kind="PERSON", name="Ann")
    gql(client, ARCHIVE, {"input": {"id": ann["id"]}})
    data = gql(client, "query($id: ID!) { partner(id: $id) { name archived } }", {"id": ann["id"]})
    assert data["partner"] == {"name": "Ann", "archived": True}


def test_a_query_right_after_a_mutation_sees_it(client: TestClient) -> None:
    ann = create(client, kind="PERSON", name="Ann")
    for i in range(5):
        update(client, id=ann["id"], notes=f"note {i}")
        data = gql(
            client, "query($id: ID!) { partner(id: $id) { notes version } }", {"id": ann["id"]}
        )
        assert data["partner"] == {"notes": f"note {i}", "version": i + 2}


def test_countries_can_be_searched(client: TestClient) -> None:
    data = gql(client, '{ countries(search: "belg") { code name } }')
    assert data["countries"] == [{"code": "BE", "name": "Belgium"}]


def test_languages_are_the_locales_a_partner_can_speak(client: TestClient) -> None:
    found = gql(client, '{ languages(search: "fr_") { code name } }')["languages"]
    assert {"code": "fr_BE", "name": "French (Belgium)"} in found
    assert {"code": "fr_FR", "name": "French (France)"} in found
    assert all(language["code"].startswith("fr_") for language in found)
    every = gql(client, "{ languages { code } }")["languages"]
    assert len(every) > 100
    # Each one is a `lang` that createPartner takes.
    for code in ("nl_BE", every[0]["code"], every[-1]["code"]):
        created = create(client, kind="PERSON", name=f"Speaker of {code}", lang=code)
        assert created["lang"] == code
    assert gql(client, '{ languages(search: "klingon") { code } }')["languages"] == []


def test_malformed_queries_are_bad_requests(client: TestClient) -> None:
    body = gql_raw(client, "{ partners { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    syntax = gql_raw(client, "{ partners { ")
    assert syntax["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    response = client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_responses_carry_a_request_id(client: TestClient) -> None:
    response = client.post(
        "/graphql", json={"query": "{ countries { code } }"}, headers={"x-request-id": "abc-123"}
    )
    assert response.headers["x-request-id"] == "abc-123"
