"""How the walk prices what it cannot size from a field's arguments: the argument lists
with a size limit of their own (`BULK_LISTS`), the fields that replay a partner's events
(`REPLAYS`), the list fields counted at their most (`LIST_SIZES`), one per bulk row
(`ROW_LISTS`), as the page above (`PAGE_LISTS`, `page_list`) or as values (`VALUE_LISTS`,
`VALUE_ITEMS`, `is_value_type`), and the introspection's lists, sized from the schema
itself (`introspection_sizes`)."""

from __future__ import annotations

import weakref
from typing import Any

from graphql import (
    GraphQLSchema,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_leaf_type,
    is_object_type,
    is_union_type,
)

from app.domain.bank_account import MAX_BANK_ACCOUNTS
from app.queries.duplicates import MAX_CANDIDATES

BULK_LISTS: dict[tuple[str, str, str], str] = {("Mutation", "importPartners", "input"): "rows"}
"""Argument lists with a size limit of their own: the operation checks its maximum
(importPartners imports up to 1,000 rows; more is its VALIDATION user error), the walk
`Limits.max_bulk`, far above, so that no body makes them cost more than that. However
the list comes (the argument a variable, the list one inside a literal, a default, a
literal), the lists inside it keep the general limit."""


REPLAYS: dict[tuple[str, str], int] = {
    ("Query", "partnerAsOf"): 40,
    ("Query", "partnerHistory"): 40,
    ("Partner", "history"): 40,
}
"""Fields that rebuild a partner from its events (each up to the snapshot interval, 100 by
default, decrypted; `partnerAsOf` its parents' too) count this many nodes each time they
run, besides their page: 30 aliases of `history(first: 0)` on a page of 100 partners
counted 3,100 and replayed 3,000 aggregates. At 40, a request replays at most ~250. (A
page of 100 partners with their 360° fields and `history(first: 10)`, bench/attacks.py,
fitted MAX_COST at 9,100 until each partner's tags counted their 20: ~31,100, refused.)"""


TAGS_COUNTED = 20
"""Tags one partner is counted to hold. Nothing in the domain bounds a partner's tags (300
tags on each of 56 partners returned 168,000 Tag nodes at cost 560): this is a guess at
the most a partner really has, not a bound, until the domain has one."""

LIST_SIZES: dict[tuple[str, str], int] = {
    ("Partner", "tags"): TAGS_COUNTED,
    ("Partner", "bankAccounts"): MAX_BANK_ACCOUNTS,  # 20, a rule of the bank account
    ("Query", "duplicateCandidates"): MAX_CANDIDATES,  # the 50 best, read with LIMIT
}
"""List fields without `first`/`last`/`ids`/`limit` whose items may hold more nodes: they
count this many nodes (their most) and their selections run that many times, as a page
does (they counted 0 nodes and their selections once: 30 aliases of `duplicateCandidates`
with `partner { history(first: 100) }` counted 4,200 and returned 46,500 history nodes)."""

ROW_LISTS: frozenset[tuple[str, str]] = frozenset({("ImportPartnersPayload", "partners")})
"""Lists of one item per row of a bulk list (`BULK_LISTS`): they count the most rows any
bulk field of the document sends, up to the import's MAX_ROWS (1,000): more rows are
refused whole (a VALIDATION user error), and the list is empty."""

PAGE_LISTS: frozenset[tuple[str, str]] = frozenset(
    {("PartnerCounts", "groups"), ("DocumentTotals", "groups")}
)
"""Lists that are the page their field above counted (its `limit`), as the `edges` and
`nodes` of a connection are its `first`/`last` (`page_list`): counted there, not again."""

VALUE_ITEMS: frozenset[str] = frozenset({"UserError"})
"""Types whose lists are values wherever they are (every payload's `userErrors`)."""

VALUE_LISTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("BankAccountPayload", "warnings"),
        ("BulkUpdatePartnersPayload", "refused"),  # at most 100 (MAX_REFUSED_KEPT)
        ("Document", "dueDates"),
        ("DocumentPayload", "warnings"),
        ("DocumentTerms", "explicitTerms"),
        ("DocumentTotalGroup", "amounts"),  # one per currency
        ("DuplicateCandidate", "reasons"),
        ("ImportPartnersPayload", "rejected"),
        ("ImportPartnersPayload", "warnings"),
        ("MergePartnersPayload", "moved"),
        ("PartnerChange", "changes"),  # the fields of one event
        ("PartnerFacets", "countries"),
        ("PartnerFacets", "tags"),
        ("PartnerFacets", "roles"),
        ("PartnerFacets", "kinds"),
        ("PartnerFacets", "industries"),
        ("PartnerFacets", "languages"),
        ("PartnerFacets", "salespersons"),
        ("PartnerStats", "totalInvoiced"),  # one per currency, as the other amounts
        ("PartnerStats", "totalPaid"),
        ("PartnerStats", "amountDue"),
        ("PartnerStats", "overdueAmount"),
        ("PartnerStats", "totalBilled"),
        ("PartnerStats", "totalPaidToSupplier"),
        ("PartnerStats", "saleOrderAmount"),
        ("PartnerStats", "purchaseOrderAmount"),
        ("PaymentTerm", "lines"),
        ("Query", "countries"),  # the ISO catalogs
        ("Query", "languages"),
        ("Query", "paymentSchedule"),
        ("Query", "apiKeys"),  # admin only
        ("Query", "webhookEndpoints"),  # admin only, at most `max_webhook_endpoints`
        ("UnmergePartnerPayload", "movedBack"),
        ("UnmergePartnerPayload", "leftInPlace"),
        ("UnmergePartnerPayload", "fieldsKept"),
        ("UserError", "field"),
        ("WebhookEndpoint", "eventKinds"),
    }
)
"""Lists of values (scalars, enums, objects of values: `is_value_type`), counted 0 nodes
and run once: nothing under them is priced, so nothing multiplies. tests/security/
test_costs_priced.py checks that every list field without a page argument of the schema
is in LIST_SIZES, ROW_LISTS, a page (`page_list`) or here with values for items."""


def page_list(type_name: str, field_name: str) -> bool:
    """Whether the list is the page of the field above (counted there)."""
    if type_name.endswith("Connection") and field_name in ("edges", "nodes"):
        return True
    return (type_name, field_name) in PAGE_LISTS


def is_value_type(of_type: Any) -> bool:
    """Whether a type is a value: a scalar or an enum, or an object type whose fields take
    no arguments and are values (or lists of them)."""
    seen: set[str] = set()
    stack = [get_named_type(of_type)]
    while stack:
        named = stack.pop()
        if is_leaf_type(named) or named.name in seen:
            continue
        if not is_object_type(named):
            return False
        seen.add(named.name)
        for definition in named.fields.values():
            if definition.args:
                return False
            stack.append(get_named_type(definition.type))
    return True


_INTROSPECTION: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], int]] = (
    weakref.WeakKeyDictionary()
)


def _per(total: int, items: int) -> int:
    """`total` spread over `items`, rounded up, at least 1."""
    return max(1, -(-total // max(items, 1)))


def introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """How many nodes each list of the introspection counts, from the schema itself:
    `__Schema.types` its types, `directives` its directives; the lists of one type
    (`fields`, `inputFields`, `enumValues`, `interfaces`, `possibleTypes`) and of one
    field or directive (`args`) what they hold on average, so that `__schema { types {
    fields { args } } }` counts about the nodes it returns. A `__Type` reached otherwise
    (`__type(name:)`, a field's `type`, `ofType`) may be the largest: its selections run
    `widest` times (`("__Type", "")`), the largest list over its average."""
    known = _INTROSPECTION.get(schema)
    if known is not None:
        return known
    types = list(schema.type_map.values())
    fielded = [t for t in types if is_object_type(t) or is_interface_type(t)]
    fields = [f for t in fielded for f in t.fields.values()]
    abstract = [t for t in types if is_union_type(t) or is_interface_type(t)]
    per_type = {
        "fields": [len(t.fields) for t in fielded],
        "inputFields": [len(t.fields) for t in types if is_input_object_type(t)],
        "enumValues": [len(t.values) for t in types if is_enum_type(t)],
        "interfaces": [len(t.interfaces) for t in fielded],
        "possibleTypes": [len(schema.get_possible_types(t)) for t in abstract],
    }
    directives = schema.directives
    lists = {name: (sum(counts), max(counts, default=0)) for name, counts in per_type.items()}
    sizes = {("__Type", name): _per(total, len(types)) for name, (total, _) in lists.items()}
    sizes[("__Type", "")] = max(
        _per(most, sizes[("__Type", name)]) for name, (_, most) in lists.items()
    )
    sizes[("__Schema", "types")] = max(len(types), 1)
    sizes[("__Schema", "directives")] = max(len(directives), 1)
    sizes[("__Field", "args")] = _per(sum(len(f.args) for f in fields), len(fields))
    sizes[("__Directive", "args")] = _per(sum(len(d.args) for d in directives), len(directives))
    _INTROSPECTION[schema] = sizes
    return sizes
