"""One walk of a document with its variables: what the operation touches, its depth,
aliases, fields and cost, and its largest argument values (`Walk`); linear in the document
(each fragment walked once), without recursion. The walker is `walker.py`, the prices of
the lists it cannot size from their arguments `prices.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, OperationType

from app.schema.limits.values import cap
from app.schema.limits.walker import Walker


@dataclass
class Walk:
    """What an operation touches and costs: its root type, every field as (type, field),
    the deepest field nesting, the aliases and the fields once fragments are expanded
    (over the whole document, the largest fragment too), the estimated number of nodes
    it may return, the filter leaves it sends, and the largest single values with where
    they are (the longest list argument, the deepest and the largest filter, the longest
    bulk list, the longest `search`)."""

    operation: OperationType
    fields: set[tuple[str, str]] = field(default_factory=set)
    depth: int = 0
    aliases: int = 0
    selections: int = 0
    cost: int = 0
    leaves: int = 0
    longest_list: tuple[int, str] = (0, "")
    filter_nesting: tuple[int, str] = (0, "")
    filter_leaves: tuple[int, str] = (0, "")
    longest_bulk: tuple[int, str] = (0, "")
    longest_search: tuple[int, str] = (0, "")


def walk(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page: int,
) -> Walk | None:
    """Walks the operation to run (None when there is no such single operation: the
    executor reports that), and the rest of the document for its size. Connection fields
    (with `first`) count their page size, multiplied by the sizes of the connections
    above them; `ids` lists count their length; a filter's leaves count as often as
    its field runs. Each fragment is walked once; the work is linear in the document."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = operations
    if operation_name is not None:
        chosen = [o for o in operations if o.name and o.name.value == operation_name]
    if len(chosen) != 1:
        return None
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    defaults = {
        d.variable.name.value: d.default_value
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    result = Walk(operation.operation)
    walker = Walker(schema, document, variables or {}, defaults, default_page, result)
    if operation.operation == OperationType.MUTATION:  # the bulk fields are mutations
        walker.rows = walker.bulk_rows(document)
    shape = walker.shape(operation.selection_set, root)
    result.cost, result.leaves = shape.cost, shape.leaves
    # The rest only for the size of the document: validation walks all of it.
    walker.touching = False
    result.depth, result.aliases, result.selections = shape.depth, shape.aliases, shape.fields
    for other in operations:
        if other is operation:
            continue
        more = walker.shape(other.selection_set, schema.get_root_type(other.operation))
        result.depth = max(result.depth, more.depth)
        result.aliases = cap(result.aliases + more.aliases)
        result.selections = cap(result.selections + more.fields)
    for name, fragment in walker.fragments.items():
        target = schema.get_type(fragment.type_condition.name.value)
        key = (name, target.name if target else None)
        if key not in walker.memo:  # spread nowhere in the operation
            walker.memo[key] = walker.shape(fragment.selection_set, target)
    largest = max((s.fields for s in walker.memo.values()), default=0)
    result.selections = max(result.selections, largest)
    return result
