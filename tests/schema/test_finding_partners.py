"""Finding partners: search, filters nested deep, pages both ways, facets, segments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.queries.partners import counts, pages
from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import LIST, create, names

SEARCH = """query($q: String, $filter: PartnerFilter, $first: Int) {
  partners(search: $q, filter: $filter, first: $first) { totalCount nodes { name } } }"""
FACETS = """query($filter: PartnerFilter, $q: String) { partnerFacets(filter: $filter, search: $q) {
  countries { value label count } tags { value label count } roles { value label count }
  kinds { value label count } industries { value label count }
  languages { value label count } salespersons { value label count } } }"""


def found(client: TestClient, q: str, **filter_: Any) -> list[str]:
    data = gql(client, SEARCH, {"q": q, "filter": filter_ or None})
    return sorted(n["name"] for n in data["partners"]["nodes"])


@pytest.fixture
def people(client: TestClient) -> dict[str, Any]:
    acme = create(
        client,
        kind="COMPANY",
        name="Acme Müller GmbH",
        countryCode="DE",
        vat="DE136695976",
        isCustomer=True,
        lang="de_DE",
    )
    return {
        "acme": acme,
        "jerome": create(
            client,
            kind="PERSON",
            name="Jérôme Dupont",
            email="jd@example.fr",
            phone="+32 2 513 11 22",
            countryCode="FR",
            lang="fr_FR",
        ),
        "anna": create(
            client,
            kind="PERSON",
            name="Anna Schmidt",
            parentId=acme["id"],
            ref="CUST-0042",
            isSupplier=True,
        ),
        "zoe": create(
            client,
            kind="PERSON",
            name="Zoë Martin",
            email="zoe@martin.example",
            mobile="+33 6 12 34 56 78",
            countryCode="FR",
            isCustomer=True,
            isSupplier=True,
            lang="fr_FR",
        ),
    }


def test_search_ignores_case_and_accents(client: TestClient, people: dict[str, Any]) -> None:
    assert found(client, "Jerome") == ["Jérôme Dupont"]
    assert found(client, "JÉRÔ") == ["Jérôme Dupont"]
    assert found(client, "muller") == ["Acme Müller GmbH", "Anna Schmidt"]  # Anna's company
    assert found(client, "zoe") == ["Zoë Martin"]


def test_search_finds_email_reference_vat_and_phone(
    client: TestClient, people: dict[str, Any]
) -> None:
    assert found(client, "martin.example") == ["Zoë Martin"]
    assert found(client, "cust-00") == ["Anna Schmidt"]
    assert found(client, "136695") == ["Acme Müller GmbH", "Anna Schmidt"]  # VAT, inherited
    assert found(client, "+32 2 513") == ["Jérôme Dupont"]
    assert found(client, "612 345") == ["Zoë Martin"]  # the mobile, typed with spaces


def test_search_treats_like_wildcards_as_text(client: TestClient, people: dict[str, Any]) -> None:
    assert found(client, "%") == []
    assert found(client, "_") == []


def test_search_ranks_the_best_match_first_when_asked(client: TestClient) -> None:
    create(client, kind="PERSON", name="Amarante Marchal")
    create(client, kind="PERSON", name="Mar")
    by_name = gql(client, SEARCH, {"q": "mar"})["partners"]["nodes"]
    assert [n["name"] for n in by_name] == ["Amarante Marchal", "Mar"]
    query = """query($q: String) { partners(search: $q, orderBy: [{field: RELEVANCE,
      direction: DESC}]) { nodes { name } } }"""
    ranked = gql(client, query, {"q": "mar"})["partners"]["nodes"]
    assert ranked[0]["name"] == "Mar"
    refused = gql_raw(client, "{ partners(orderBy: [{field: RELEVANCE}]) { nodes { name } } }")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_relevance_puts_names_starting_with_the_search_first_then_alphabetical(
    client: TestClient,
) -> None:
    for name in ("Zoë Marchal", "Marie Zed", "Anna Mara", "Márta Boros", "Omar Akil", "Maz"):
        create(client, kind="PERSON", name=name)
    query = """query($q: String, $d: OrderDirection) { partners(search: $q,
      orderBy: [{field: RELEVANCE, direction: $d}]) { nodes { name } } }"""
    ranked = gql(client, query, {"q": "mar", "d": "DESC"})["partners"]["nodes"]
    assert [n["name"] for n in ranked] == [
        "Marie Zed",
        "Márta Boros",  # accents aside, as the search and NAME order
        "Anna Mara",
        "Omar Akil",
        "Zoë Marchal",
    ]
    worst_first = gql(client, query, {"q": "mar", "d": "ASC"})["partners"]["nodes"]
    assert [n["name"] for n in worst_first] == [
        *("Anna Mara", "Omar Akil", "Zoë Marchal"),
        *("Marie Zed", "Márta Boros"),
    ]


def test_search_and_filter_combine(client: TestClient, people: dict[str, Any]) -> None:
    assert found(client, "a", countryCode="FR") == ["Jérôme Dupont", "Zoë Martin"]


def test_each_filter_field(client: TestClient, people: dict[str, Any]) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"kind": "PERSON"}, ["Anna Schmidt", "Jérôme Dupont", "Zoë Martin"]),
        ({"isCustomer": True}, ["Acme Müller GmbH", "Zoë Martin"]),
        ({"isSupplier": True}, ["Anna Schmidt", "Zoë Martin"]),
        ({"countryCode": "de"}, ["Acme Müller GmbH", "Anna Schmidt"]),  # Anna: company address
        ({"lang": "fr_FR"}, ["Jérôme Dupont", "Zoë Martin"]),
        ({"email": "JD@example.fr"}, ["Jérôme Dupont"]),
        ({"ref": "CUST-0042"}, ["Anna Schmidt"]),
        ({"vat": "de 136695976"}, ["Acme Müller GmbH", "Anna Schmidt"]),
        ({"parentId": people["acme"]["id"]}, ["Anna Schmidt"]),
        ({"commercialPartnerId": people["acme"]["id"]}, ["Acme Müller GmbH", "Anna Schmidt"]),
    ]
    for filter_, expected in cases:
        assert sorted(names(client, filter=filter_)) == expected, filter_


def test_state_and_time_ranges(client: TestClient) -> None:
    create(client, kind="COMPANY", name="Cali", countryCode="US", stateCode="CA")
    create(client, kind="COMPANY", name="Texan", countryCode="US", stateCode="TX")
    assert names(client, filter={"countryCode": "US", "stateCode": "ca"}) == ["Cali"]
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(hours=1)).isoformat()
    assert names(client, filter={"createdAfter": earlier}) == ["Cali", "Texan"]
    assert names(client, filter={"createdAfter": later}) == []
    assert names(client, filter={"updatedBefore": later, "createdBefore": later}) == [
        "Cali",
        "Texan",
    ]


def test_and_or_not_nest_three_deep(client: TestClient, people: dict[str, Any]) -> None:
    nested = {
        "or": [
            {
                "and": [
                    {"countryCode": "FR"},
                    {"not": {"or": [{"isSupplier": True}, {"kind": "COMPANY"}]}},
                ]
            },
            {"and": [{"kind": "COMPANY"}, {"not": {"not": {"countryCode": "DE"}}}]},
        ]
    }
    assert sorted(names(client, filter=nested)) == ["Acme Müller GmbH", "Jérôme Dupont"]


def test_not_selects_every_partner_the_filter_does_not(
    client: TestClient, people: dict[str, Any]
) -> None:
    """`not: F` is the complement of F: a partner with no country is not in Germany, one
    with no language does not speak German. (SQL's NOT of an unknown is unknown, which
    left them out of every `not` on a field they leave empty.) The page, its totalCount
    and the facets (from the cube, for these dimension-only filters) agree."""
    create(client, kind="COMPANY", name="Nowhere Ltd")
    everyone = set(names(client, first=100))
    for field, value in (("countryCode", "DE"), ("lang", "de_DE"), ("isSupplier", True)):
        chosen = set(names(client, filter={field: value}, first=100))
        rest = {"not": {field: value}}
        assert set(names(client, filter=rest, first=100)) == everyone - chosen, field
        assert "Nowhere Ltd" in everyone - chosen
        total = gql(client, SEARCH, {"filter": rest})["partners"]["totalCount"]
        assert total == len(everyone - chosen), field
        kinds = gql(client, FACETS, {"filter": rest})["partnerFacets"]["kinds"]
        assert sum(k["count"] for k in kinds) == len(everyone - chosen), field
        # Twice negated is the filter itself; the complement of an `or` holds neither.
        assert set(names(client, filter={"not": rest}, first=100)) == chosen, field
    either = {"or": [{"countryCode": "DE"}, {"lang": "fr_FR"}]}
    neither = set(names(client, filter={"not": either}, first=100))
    assert neither == everyone - set(names(client, filter=either, first=100))
    assert "Nowhere Ltd" in neither


def test_five_pages_forward_and_back_equal_the_full_list(client: TestClient) -> None:
    for i in range(23):
        create(client, kind="PERSON", name=f"P{i:02d}")
    everyone = sorted(f"P{i:02d}" for i in range(23))
    forward: list[str] = []
    after = None
    for page_number in range(5):
        page = gql(client, LIST, {"first": 5, "after": after})["partners"]
        forward += [e["node"]["name"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if page_number == 1:  # rows inserted between pages: before and after the cursor
            create(client, kind="PERSON", name="P00a")
            create(client, kind="PERSON", name="P99")
    # P00a sorts before the cursor (not seen), P99 after it (seen): nothing twice, no gap.
    assert forward == [*everyone, "P99"]
    backward: list[str] = []
    before = None
    for _ in range(5):
        page = gql(client, LIST, {"last": 5, "before": before})["partners"]
        backward = [e["node"]["name"] for e in page["edges"]] + backward
        before = page["pageInfo"]["startCursor"]
    assert backward == sorted([*everyone, "P00a", "P99"])[-25:]


def test_facet_counts_equal_counts_from_filters(client: TestClient, people: dict[str, Any]) -> None:
    vip = gql(client, 'mutation { createTag(input: {name: "VIP"}) { tag { id } } }')["createTag"][
        "tag"
    ]
    gql(
        client,
        "mutation($id: ID!, $t: [ID!]!) { addPartnerTags(input: {id: $id, tagIds: $t})"
        " { userErrors { code } } }",
        {"id": people["zoe"]["id"], "t": [vip["id"]]},
    )
    facets = gql(client, FACETS)["partnerFacets"]
    assert {f["value"]: f["count"] for f in facets["countries"]} == {"DE": 2, "FR": 2}
    assert {f["value"]: f["count"] for f in facets["kinds"]} == {"PERSON": 3, "COMPANY": 1}
    assert {f["value"]: f["count"] for f in facets["roles"]} == {
        "CUSTOMER": 1,
        "SUPPLIER": 1,
        "BOTH": 1,
        "NONE": 1,
    }
    assert facets["tags"] == [{"value": vip["id"], "label": "VIP", "count": 1}]
    assert {f["label"] for f in facets["languages"]} >= {"French", "German"}
    for facet, filter_key in (("countries", "countryCode"), ("languages", "lang")):
        for entry in facets[facet]:
            assert len(names(client, filter={filter_key: entry["value"]})) == entry["count"]
    for entry in facets["tags"]:
        assert len(names(client, filter={"tagIds": [entry["value"]]})) == entry["count"]
    french = gql(client, FACETS, {"filter": {"countryCode": "FR"}, "q": "zo"})["partnerFacets"]
    assert french["countries"] == [{"value": "FR", "label": "France", "count": 1}]


def test_facets_over_the_rows_leave_empty_values_out_as_the_cube_does(
    client: TestClient, people: dict[str, Any]
) -> None:
    """The facets counted over the rows (one pass, grouping sets) and from the cube agree,
    partners without a country, a language, an industry or a salesperson included."""
    create(client, kind="PERSON", name="Nobody Nowhere")
    from_cube = gql(client, FACETS)["partnerFacets"]
    # A date is not one of the cube's dimensions: these are counted over the rows.
    over_rows = gql(client, FACETS, {"filter": {"createdAfter": "2000-01-01T00:00:00Z"}})
    assert over_rows["partnerFacets"] == from_cube
    assert sum(f["count"] for f in from_cube["kinds"]) == 5
    assert sum(f["count"] for f in from_cube["countries"]) == 4
    assert all(f["value"] for facet in from_cube.values() for f in facet)


def test_large_counts_are_estimated_and_flagged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "ESTIMATE_ABOVE", 3)
    for i in range(5):
        create(client, kind="PERSON", name=f"P{i}")
    # A filter the partner cube cannot answer (a date) is counted, then estimated.
    query = """{ partners(first: 1, filter: {createdAfter: "2000-01-01T00:00:00Z"}) {
      totalCount totalCountIsEstimate } }"""
    data = gql(client, query)["partners"]
    assert data["totalCountIsEstimate"] is True and data["totalCount"] >= 4
    # One on the cube's dimensions only is exact, however large (app/queries/partners/cube.py).
    exact = gql(client, "{ partners(first: 1) { totalCount totalCountIsEstimate } }")
    assert exact["partners"] == {"totalCount": 5, "totalCountIsEstimate": False}
    small = gql(client, "{ partners(filter: {kind: COMPANY}) { totalCount totalCountIsEstimate } }")
    assert small["partners"] == {"totalCount": 0, "totalCountIsEstimate": False}


SEGMENT = """mutation($input: CreateSegmentInput!) { createSegment(input: $input) {
  segment { id name filter search memberCount members(first: 10) { nodes { name } } }
  userErrors { field code message } } }"""


def test_a_segment_lists_its_members_as_they_are_now(
    client: TestClient, people: dict[str, Any]
) -> None:
    created = gql(
        client,
        SEGMENT,
        {
            "input": {
                "name": "French customers",
                "filter": {"countryCode": "FR", "isCustomer": True},
            }
        },
    )
    segment = created["createSegment"]["segment"]
    assert segment["filter"] == {"countryCode": "FR", "isCustomer": True}
    assert segment["memberCount"] == 1
    assert segment["members"]["nodes"] == [{"name": "Zoë Martin"}]
    create(client, kind="PERSON", name="Élodie", countryCode="FR", isCustomer=True)
    query = """query($id: ID!) { node(id: $id) { ... on Segment { memberCount
      members { nodes { name } } } } }"""
    again = gql(client, query, {"id": segment["id"]})["node"]
    assert again["memberCount"] == 2
    assert [n["name"] for n in again["members"]["nodes"]] == ["Élodie", "Zoë Martin"]


def test_a_segment_with_a_search_and_nested_filter(
    client: TestClient, people: dict[str, Any]
) -> None:
    created = gql(
        client,
        SEGMENT,
        {
            "input": {
                "name": "Not suppliers named a",
                "search": "a",
                "filter": {
                    "not": {"isSupplier": True},
                    "or": [{"kind": "PERSON"}, {"kind": "COMPANY"}],
                },
            }
        },
    )
    segment = created["createSegment"]["segment"]
    assert sorted(n["name"] for n in segment["members"]["nodes"]) == [
        "Acme Müller GmbH",
        "Jérôme Dupont",
    ]


def test_segments_are_updated_deleted_and_validated(client: TestClient) -> None:
    segment = gql(client, SEGMENT, {"input": {"name": "All"}})["createSegment"]["segment"]
    update = gql(
        client,
        """mutation($id: ID!) { updateSegment(input: {id: $id, name: "Companies",
      filter: {kind: COMPANY}}) { segment { name filter } userErrors { code } } }""",
        {"id": segment["id"]},
    )["updateSegment"]
    assert update["segment"] == {"name": "Companies", "filter": {"kind": "COMPANY"}}
    bad = gql(client, SEGMENT, {"input": {"name": "  "}})["createSegment"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(["name"], "VALIDATION")]
    malformed = gql_raw(client, SEGMENT, {"input": {"name": "x", "filter": {"kind": "ROBOT"}}})
    assert malformed["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    deleted = gql(
        client,
        """mutation($id: ID!) { deleteSegment(input: {id: $id}) {
      deletedId userErrors { code } } }""",
        {"id": segment["id"]},
    )["deleteSegment"]
    assert deleted == {"deletedId": segment["id"], "userErrors": []}
    assert gql(client, "{ segments { totalCount } }")["segments"]["totalCount"] == 0
    again = gql(
        client,
        """mutation($id: ID!) { deleteSegment(input: {id: $id}) {
      userErrors { code } } }""",
        {"id": segment["id"]},
    )["deleteSegment"]
    assert [e["code"] for e in again["userErrors"]] == ["NOT_FOUND"]


def test_filters_read_values_the_way_the_fields_store_them(
    client: TestClient, people: dict[str, Any]
) -> None:
    create(client, kind="COMPANY", name="Cali", countryCode="US", stateCode="CA")
    assert names(client, filter={"lang": "fr-fr", "kind": "PERSON"}) == [
        "Jérôme Dupont",
        "Zoë Martin",
    ]
    assert sorted(names(client, filter={"vat": "de 136.695.976"})) == [
        "Acme Müller GmbH",
        "Anna Schmidt",
    ]
    assert names(client, filter={"stateCode": "US-CA"}) == ["Cali"]


def test_a_national_phone_number_finds_the_stored_international_one(
    client: TestClient, people: dict[str, Any]
) -> None:
    assert found(client, "02 513 11 22") == ["Jérôme Dupont"]


def test_a_parent_tag_facet_counts_the_partners_of_its_sub_tags(
    client: TestClient, people: dict[str, Any]
) -> None:
    def tag(name: str, parent: str | None = None) -> str:
        result = gql(
            client,
            "mutation($n: String!, $p: ID) { createTag(input: {name: $n, "
            "parentId: $p}) { tag { id } } }",
            {"n": name, "p": parent},
        )
        tag_id: str = result["createTag"]["tag"]["id"]
        return tag_id

    region = tag("Region")
    emea, apac = tag("EMEA", region), tag("APAC", region)
    for person, tags in (("zoe", [emea]), ("jerome", [apac]), ("anna", [emea, apac])):
        gql(
            client,
            "mutation($id: ID!, $t: [ID!]!) { addPartnerTags(input: {id: $id, "
            "tagIds: $t}) { userErrors { code } } }",
            {"id": people[person]["id"], "t": tags},
        )
    facets = {f["label"]: f["count"] for f in gql(client, FACETS)["partnerFacets"]["tags"]}
    assert facets == {"Region": 3, "Region / EMEA": 2, "Region / APAC": 2}
    for tag_id, count in ((region, 3), (emea, 2), (apac, 2)):
        assert len(names(client, filter={"tagIds": [tag_id]})) == count


SEARCH_PAGE = """query($q: String, $orderBy: [PartnerOrder!], $first: Int, $after: String,
      $last: Int, $before: String) {
  partners(search: $q, orderBy: $orderBy, first: $first, after: $after, last: $last,
           before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { name } } }"""


def search_pages(client: TestClient, order: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """Every match of "mar" by pages of 4, forward then backward."""
    forward: list[str] = []
    after = None
    while True:
        page = gql(client, SEARCH_PAGE, {"q": "mar", "orderBy": order, "first": 4, "after": after})
        forward += [n["name"] for n in page["partners"]["nodes"]]
        if not page["partners"]["pageInfo"]["hasNextPage"]:
            break
        after = page["partners"]["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        variables = {"q": "mar", "orderBy": order, "last": 4, "before": before}
        page = gql(client, SEARCH_PAGE, variables)
        backward = [n["name"] for n in page["partners"]["nodes"]] + backward
        if not page["partners"]["pageInfo"]["hasPreviousPage"]:
            break
        before = page["partners"]["pageInfo"]["startCursor"]
    return forward, backward


def test_search_pages_are_the_same_whichever_plan_reads_them(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search the planner expects few matches for reads all of them through the trigram
    index and sorts their keys (BOUNDED_SEARCH_MATCHES); otherwise it walks the sort
    order. Both give the same pages, in every ordering, both ways."""
    for i in range(13):
        # Names starting with the search, and names holding it further on (RELEVANCE's
        # two ranks), mixed in the alphabet.
        name = f"Mar {i % 5} {i:02d}" if i % 3 else f"{'ABZ'[i % 3 + i % 2]}mar {i:02d}"
        create(client, kind="PERSON", name=name, countryCode=["BE", "FR"][i % 2])
        create(client, kind="PERSON", name=f"Other {i:02d}")
    orders = [
        [],
        [{"field": "NAME", "direction": "DESC"}],
        [{"field": "COUNTRY"}, {"field": "DISPLAY_NAME", "direction": "DESC"}],
        [{"field": "CREATED_AT", "direction": "DESC"}],
        [{"field": "TOTAL_INVOICED"}],
        [{"field": "RELEVANCE", "direction": "DESC"}],
        [{"field": "RELEVANCE"}],
        [{"field": "RELEVANCE", "direction": "DESC"}, {"field": "COUNTRY"}],
    ]
    for order in orders:
        monkeypatch.setattr(pages, "BOUNDED_SEARCH_MATCHES", 1_000_000)
        bounded = search_pages(client, order)
        monkeypatch.setattr(pages, "BOUNDED_SEARCH_MATCHES", -1)
        walked = search_pages(client, order)
        assert bounded == walked, order
        forward, backward = bounded
        assert forward == backward and len(forward) == 13, order


def test_facets_name_industries_salespersons_and_tags_as_they_are_now(
    client: TestClient,
) -> None:
    """The labels of the facets whose values are records (read with the counts): an
    industry's and a salesperson's name, a tag's full name, as they are when asked, an
    archived entry still by its name."""
    from tests.schema.catalog_ops import create_industry, create_partner, create_salesperson

    retail, services = create_industry(client, "Retail"), create_industry(client, "Services")
    mitchell = create_salesperson(client, "Mitchell Admin")
    region = gql(client, 'mutation { createTag(input: {name: "Region"}) { tag { id } } }')
    region_id = region["createTag"]["tag"]["id"]
    emea = gql(
        client,
        'mutation($p: ID) { createTag(input: {name: "EMEA", parentId: $p}) { tag { id } } }',
        {"p": region_id},
    )["createTag"]["tag"]["id"]
    for n, industry in enumerate((retail, retail, services)):
        partner = create_partner(
            client,
            kind="COMPANY",
            name=f"Labelled {n}",
            industryId=industry["id"],
            salespersonId=mitchell["id"],
        )
        gql(
            client,
            "mutation($id: ID!, $t: [ID!]!) { addPartnerTags(input: {id: $id, tagIds: $t}) "
            "{ userErrors { code } } }",
            {"id": partner["id"], "t": [emea]},
        )
    gql(
        client,
        'mutation($id: ID!) { updateIndustry(input: {id: $id, name: "Retail trade"}) '
        "{ userErrors { code } } }",
        {"id": retail["id"]},
    )
    gql(
        client,
        "mutation($id: ID!) { archiveIndustry(input: {id: $id}) { userErrors { code } } }",
        {"id": services["id"]},
    )
    for search in (None, "Labelled"):  # from the cube, and counted over the rows
        facets = gql(client, FACETS, {"q": search})["partnerFacets"]
        assert facets["industries"] == [
            {"value": retail["id"], "label": "Retail trade", "count": 2},
            {"value": services["id"], "label": "Services", "count": 1},
        ]
        assert facets["salespersons"] == [
            {"value": mitchell["id"], "label": "Mitchell Admin", "count": 3}
        ]
        assert sorted(facets["tags"], key=lambda f: f["label"]) == [  # a tie: by id
            {"value": region_id, "label": "Region", "count": 3},
            {"value": emea, "label": "Region / EMEA", "count": 3},
        ]


def test_a_page_and_its_total_count_are_read_side_by_side(
    client: TestClient, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `totalCount` selected the count starts with the page: here the page's read
    waits until the count has finished, which before ran only after the page."""
    counted = asyncio.Event()
    read_page, count = pages.PartnerPages.page, counts.PartnerCounts.total_at

    async def page_after_count(self: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.wait_for(counted.wait(), 60)  # bounds a failure, never a pass
        return await read_page(self, *args, **kwargs)

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await count(self, *args, **kwargs)
        finally:
            counted.set()

    monkeypatch.setattr(pages.PartnerPages, "page", page_after_count)
    monkeypatch.setattr(counts.PartnerCounts, "total_at", counting)
    query = """query($f: PartnerFilter, $q: String) { partners(filter: $f, search: $q, first: 1) {
      nodes { name } ...Counted } }
    fragment Counted on PartnerConnection { ... on PartnerConnection { totalCount } }"""
    data = gql(client, query, {"f": {"kind": "PERSON"}})["partners"]
    assert data["totalCount"] == 3 and len(data["nodes"]) == 1
    counted.clear()
    searched = gql(client, query, {"q": "müller"})["partners"]
    assert searched["totalCount"] == len(found(client, "müller")) == 2


def test_a_page_that_fails_answers_its_error_with_a_count_selected(
    client: TestClient, people: dict[str, Any]
) -> None:
    query = """{ partners(first: 1, after: "not-a-cursor") { totalCount totalCountIsEstimate
      nodes { name } } }"""
    answer = gql_raw(client, query)
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # The count started beside it leaves nothing behind: the next page counts as before.
    again = gql(client, "{ partners(first: 1) { totalCount totalCountIsEstimate } }")
    assert again["partners"] == {"totalCount": 4, "totalCountIsEstimate": False}


def test_a_page_without_total_count_starts_no_count(
    client: TestClient, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Any] = []

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(args)
        raise AssertionError("no count was asked for")

    monkeypatch.setattr(counts.PartnerCounts, "total_at", counting)
    data = gql(client, "{ partners(first: 2) { nodes { name } pageInfo { hasNextPage } } }")
    assert len(data["partners"]["nodes"]) == 2 and started == []
    # Left out by a directive: nothing is counted beside the page (it would run on after
    # the answer); where the directive keeps it, it is counted after the page, as before.
    skipped = """query($skip: Boolean!, $keep: Boolean!) { partners(first: 1) {
      nodes { name } totalCount @skip(if: $skip) ...C @include(if: $keep) }
      } fragment C on PartnerConnection { totalCountIsEstimate }"""
    data = gql(client, skipped, {"skip": True, "keep": False})["partners"]
    assert data == {"nodes": [{"name": "Acme Müller GmbH"}]} and started == []
    monkeypatch.undo()
    data = gql(client, skipped, {"skip": False, "keep": True})["partners"]
    assert data["totalCount"] == 4 and data["totalCountIsEstimate"] is False
