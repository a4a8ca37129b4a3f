"""What the cost walk priced 0 or as one item although it returns many nodes: the
introspection (30 aliased full introspections, 8 MB, held the event loop 10-17 s), the
lists a field returns without `first`/`last`/`ids` (a partner's tags, its bank accounts,
the duplicate candidates) and the groups of `partnerCounts`/`documentTotals` (`limit`).
Each is now counted: refused past MAX_COST, sent to the heavy lane from its threshold."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLNonNull,
    GraphQLSchema,
    get_introspection_query,
    get_named_type,
    is_interface_type,
    is_list_type,
    is_object_type,
)
from starlette.testclient import TestClient

from app.schema.lane import LanePolicy, is_heavy_operation
from app.schema.limits import Limits, over_limit, walk
from app.schema.parsing import parse_operation
from app.schema.schema import build_schema
from tests.conftest import gql

LIMITS = Limits()
AUDITED = """__schema { types { name description
  fields(includeDeprecated: true) { name args { name type { name kind ofType { name kind } } }
    type { name kind ofType { name kind } } }
  inputFields { name type { name kind } } enumValues(includeDeprecated: true) { name } } }"""


def schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    walked = walk(schema(), parse_operation(query), None, variables, LIMITS.default_page)
    assert walked is not None
    return walked.cost


def refusal(query: str, variables: dict[str, Any] | None = None) -> str:
    """The LIMIT_EXCEEDED message the walk's verdict gives (nothing runs)."""
    walked = walk(schema(), parse_operation(query), None, variables, LIMITS.default_page)
    assert walked is not None
    error = over_limit(walked, LIMITS)
    assert error is not None, f"not refused: cost {walked.cost}"
    assert (error.extensions or {}).get("code") == "LIMIT_EXCEEDED", error
    return str(error.message)


def heavy(query: str, variables: dict[str, Any] | None = None) -> bool:
    payload = {"query": query, "variables": variables}
    return is_heavy_operation(schema(), payload, LanePolicy(), LIMITS, 5000)


def aliased(n: int, field: str) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(n)) + " }"


def test_aliased_introspections_are_refused_and_one_runs_in_the_heavy_lane(
    client: TestClient,
) -> None:
    # 30 copies (10 KB) walked to cost 0 and ran in the API process: 8 MB, 10-17 s.
    assert "nodes; at most 10000" in refusal(aliased(30, AUDITED))
    full = get_introspection_query(descriptions=True)  # what GraphiQL and codegen send
    assert 100 <= cost(full) <= LIMITS.max_cost
    assert heavy(full)  # not on the API's event loop
    assert gql(client, full)["__schema"]["queryType"]["name"] == "Query"
    # Asking a little stays cheap.
    assert cost("{ __schema { queryType { name } } }") < LanePolicy().cost
    assert cost('{ __type(name: "Partner") { name } }') < LanePolicy().cost
    # Aliased lists inside one introspection count each time.
    inner = " ".join(f"f{i}: fields {{ name args {{ name }} }}" for i in range(29))
    assert "nodes; at most 10000" in refusal(f"{{ __schema {{ types {{ {inner} }} }} }}")


def test_a_partners_tags_and_bank_accounts_count_as_lists() -> None:
    # 300 tags on each of 56 partners: 168,000 Tag nodes at cost 560.
    tags = aliased(30, "partners(first: 56) { nodes { tags { name parent { name } } } }")
    assert "nodes; at most 10000" in refusal(tags)
    assert heavy("{ partners(first: 5) { nodes { tags { name } } } }")
    accounts = """{ partners(first: 100) { nodes {
      bankAccounts { iban partner { history(first: 10) { nodes { version } } } } } } }"""
    assert "nodes; at most 10000" in refusal(accounts)  # was 5,100
    assert cost("query($id: ID!) { partner(id: $id) { bankAccounts { iban } } }") == 20


def test_duplicate_candidates_count_their_fifty_partners() -> None:
    # 30 aliases replayed 1,500 partners and returned 46,500 history nodes at cost 4,200.
    field = (
        'duplicateCandidates(partnerId: "UGFydG5lcjox") '
        "{ score partner { history(first: 100) { nodes { version } } } }"
    )
    assert "nodes; at most 10000" in refusal(aliased(30, field))
    assert cost('{ duplicateCandidates(partnerId: "UGFydG5lcjox") { score } }') == 50


def test_group_limits_count_like_first() -> None:
    counts = "partnerCounts(groupBy: [COUNTRY], limit: 10000) { groups { countryCode count } }"
    assert "300000 nodes" in refusal(aliased(30, counts))  # 86 MB on the event loop
    assert cost(f"{{ {counts} }}") == 10_000
    totals = "query($n: Int!) { documentTotals(groupBy: [MONTH], limit: $n) { groups { count } } }"
    assert cost(totals, {"n": 2500}) == 2500
    assert heavy("{ partnerCounts(groupBy: [COUNTRY]) { groups { count } } }")  # 1,000 groups
    assert "20000 nodes" in refusal(
        aliased(2, "documentTotals(groupBy: [MONTH], limit: 10000) { truncated }")
    )


def _is_list(of_type: Any) -> bool:
    while isinstance(of_type, GraphQLNonNull):
        of_type = of_type.of_type
    return is_list_type(of_type)


def test_every_list_without_a_page_argument_has_a_price() -> None:
    """A list field the walk cannot size from its arguments is in LIST_SIZES (counted at
    its most), ROW_LISTS (one item per row sent), a page of the field above (`page_list`,
    whose type only fields with a page argument return) or a list of values
    (VALUE_LISTS, VALUE_ITEMS: scalars, enums, objects of them), so a new list field
    fails here until it is priced."""
    from app.schema.limits.prices import (
        LIST_SIZES,
        PAGE_LISTS,
        ROW_LISTS,
        VALUE_ITEMS,
        VALUE_LISTS,
        is_value_type,
        page_list,
    )

    found = schema()
    paged = {"first", "last", "ids", "limit"}
    unpriced: list[str] = []
    pages: set[str] = set()
    for type_name, of_type in found.type_map.items():
        if type_name.startswith("__") or not (
            is_object_type(of_type) or is_interface_type(of_type)
        ):
            continue
        for name, definition in of_type.fields.items():
            key = (type_name, name)
            if not _is_list(definition.type) or paged & set(definition.args):
                continue
            item = get_named_type(definition.type)
            if key in LIST_SIZES or key in ROW_LISTS:
                continue
            if page_list(type_name, name):
                pages.add(type_name)
                continue
            if (key in VALUE_LISTS or item.name in VALUE_ITEMS) and is_value_type(item):
                continue
            unpriced.append(f"{type_name}.{name}: [{item.name}]")
    assert not unpriced, unpriced
    # A page's type is returned only by fields that size it.
    for type_name, of_type in found.type_map.items():
        if not (is_object_type(of_type) or is_interface_type(of_type)):
            continue
        for name, definition in of_type.fields.items():
            if get_named_type(definition.type).name in pages:
                assert paged & set(definition.args), f"{type_name}.{name} returns a page unsized"
    listed = (*LIST_SIZES, *ROW_LISTS, *PAGE_LISTS, *VALUE_LISTS)
    stale = [k for k in listed if k[1] not in _fields(found, k[0])]
    assert not stale, stale


def _fields(found: GraphQLSchema, type_name: str) -> set[str]:
    of_type = found.type_map.get(type_name)
    return set(of_type.fields) if is_object_type(of_type) or is_interface_type(of_type) else set()


def test_imported_partners_count_one_per_row() -> None:
    query = """mutation($rows: [PartnerImportRow!]!) { importPartners(input: {rows: $rows}) {
      created partners { name tags { name } } } }"""
    assert cost(query, {"rows": [{"name": f"P{i}"} for i in range(7)]}) == 7 * (1 + 20)
    history = query.replace("tags { name }", "history(first: 100) { totalCount }")
    rows = [{"name": f"P{i}"} for i in range(1000)]  # 1,000 partners, each rebuilt: 140 nodes more
    assert "141000 nodes" in refusal(history, {"rows": rows})
    # More than the import takes is refused whole (a user error): nothing is listed.
    assert cost(query, {"rows": [*rows, {"name": "One too many"}]}) == 1 + 20
