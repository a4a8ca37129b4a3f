"""A search's length is bounded: a `search` argument goes through SQL `searchable()` and
into a `LIKE '%…%'` on a trigram index (30 aliases of a 30,000-character search took
585 ms at 5,400 partners, one 900,000-character search 613 ms). Longer than
MAX_SEARCH_CHARS (after strip) it is refused with LIMIT_EXCEEDED before anything runs; a
segment's stored search is refused as a VALIDATION user error on `search`."""

from __future__ import annotations

from app.schema.limits import MAX_SEARCH_CHARS
from tests.security.conftest import Live
from tests.security.test_costly_operations import refusal

LONG = "a" * (MAX_SEARCH_CHARS + 1)
PARTNERS = "query($s: String) { partners(search: $s, first: 5) { totalCount nodes { id } } }"


def _named(message: str, where: str) -> None:
    assert where in message and str(MAX_SEARCH_CHARS) in message, message


def test_the_limit_is_200_characters() -> None:
    assert MAX_SEARCH_CHARS == 200


def test_a_long_literal_search_is_refused(live: Live) -> None:
    query = f'{{ partners(search: "{LONG}", first: 5) {{ totalCount }} }}'
    _named(refusal(live, query, role="viewer"), "Query.partners")
    facets = f'{{ partnerFacets(search: "{LONG}") {{ countries {{ value count }} }} }}'
    _named(refusal(live, facets, role="viewer"), "Query.partnerFacets")


def test_a_search_of_the_limit_is_answered_spaces_around_it_aside(live: Live) -> None:
    padded = "   " + "b" * MAX_SEARCH_CHARS + "   "
    data = live.data(PARTNERS, {"s": padded}, role="viewer")
    assert data["partners"]["totalCount"] == 0
    blank = " " * 10 * MAX_SEARCH_CHARS  # no search at all once stripped
    assert live.data(PARTNERS, {"s": blank}, role="viewer")["partners"]["nodes"] == []


def test_a_long_variable_is_refused_even_after_a_short_one_of_the_same_document(
    live: Live,
) -> None:
    """The walk is remembered by document and the shape of the variables: a short search
    first must not make the same document pass with a long one."""
    assert live.data(PARTNERS, {"s": "mar"}, role="viewer")["partners"]["totalCount"] == 0
    _named(refusal(live, PARTNERS, {"s": LONG}, role="viewer"), "Query.partners")
    _named(refusal(live, PARTNERS, {"s": "x" * 900_000}, role="viewer"), "Query.partners")
    assert live.data(PARTNERS, {"s": "mar"}, role="viewer")["partners"]["totalCount"] == 0


def test_a_long_default_value_is_refused(live: Live) -> None:
    query = f'query($s: String = "{LONG}") {{ partners(search: $s, first: 1) {{ totalCount }} }}'
    _named(refusal(live, query, role="viewer"), "Query.partners")


def test_aliases_of_a_long_search_get_one_refusal(live: Live) -> None:
    search = "z" * 30_000
    fields = " ".join(f"p{i}: partners(search: $s, first: 1) {{ totalCount }}" for i in range(30))
    query = f"query($s: String) {{ {fields} }}"
    _named(refusal(live, query, {"s": search}, role="viewer"), "Query.partners")


def test_catalog_searches_are_bounded_too(live: Live) -> None:
    query = "query($s: String) { countries(search: $s) { code } languages(search: $s) { code } }"
    _named(refusal(live, query, {"s": LONG}, role="viewer"), "Query.countries")
    found = live.data(query, {"s": "belg"}, role="viewer")
    assert [c["code"] for c in found["countries"]] == ["BE"]


CREATE = """mutation($s: String) { createSegment(input: {name: "S", search: $s}) {
  segment { id search } userErrors { field code message } } }"""
UPDATE = """mutation($id: ID!, $s: String) { updateSegment(input: {id: $id, search: $s}) {
  segment { id search } userErrors { field code message } } }"""


def _search_refused(payload: dict[str, object]) -> None:
    assert payload["segment"] is None, payload
    errors = payload["userErrors"]
    assert isinstance(errors, list) and len(errors) == 1, errors
    (error,) = errors
    assert error["code"] == "VALIDATION", error
    assert error["field"][-1] == "search", error
    assert str(MAX_SEARCH_CHARS) in error["message"], error


def test_a_segment_keeps_no_search_over_the_limit(live: Live) -> None:
    _search_refused(live.data(CREATE, {"s": LONG}, role="editor")["createSegment"])
    _search_refused(live.data(CREATE, {"s": "q" * 900_000}, role="editor")["createSegment"])
    assert live.data("{ segments(first: 5) { nodes { id } } }")["segments"]["nodes"] == []
    created = live.data(CREATE, {"s": " " + "c" * MAX_SEARCH_CHARS + " "}, role="editor")
    segment = created["createSegment"]["segment"]
    assert segment["search"] == "c" * MAX_SEARCH_CHARS
    refused = live.data(UPDATE, {"id": segment["id"], "s": LONG}, role="editor")
    _search_refused(refused["updateSegment"])
    members = """query($id: ID!) { node(id: $id) { ... on Segment { search memberCount } } }"""
    node = live.data(members, {"id": segment["id"]}, role="viewer")["node"]
    assert node == {"search": "c" * MAX_SEARCH_CHARS, "memberCount": 0}


BULK = """mutation($s: String) { bulkUpdatePartners(input: {filter: {isCustomer: true},
  search: $s, changes: {isSupplier: true}}) { matched changed userErrors { field code message } } }"""


def test_a_bulk_edit_by_filter_takes_no_search_over_the_limit(live: Live) -> None:
    """`bulkUpdatePartners(input: {filter, search})`: an input field, not an argument the
    walk sees; refused as a segment's is, nothing read or changed."""
    for text in (LONG, "q" * 900_000):
        refused = live.data(BULK, {"s": text}, role="editor")["bulkUpdatePartners"]
        assert refused["matched"] == 0 and refused["changed"] == 0, refused
        [error] = refused["userErrors"]
        assert error["code"] == "VALIDATION" and error["field"][-1] == "search", error
    answered = live.data(BULK, {"s": " " + "c" * MAX_SEARCH_CHARS + " "}, role="editor")
    assert answered["bulkUpdatePartners"] == {"matched": 0, "changed": 0, "userErrors": []}
