"""One walk of a document with its variables: what the operation touches, its depth,
aliases, fields and cost, and its largest argument values; linear in the document (each
fragment walked once), without recursion."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

from app.schema.limits.values import FILTER_FIELD, ValueSize, cap, measure_value


@dataclass
class _Shape:
    """What a selection set adds up to, once for one run of it: the fields nested in it,
    its aliases and fields with fragments expanded, the nodes it may return and the
    filter leaves it sends (both per run: a field inside a connection runs once per
    node)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    leaves: int = 0

    def add(self, other: _Shape) -> None:
        """A fragment spread (or inline fragment) here: its fields run as often as ours."""
        self.depth = max(self.depth, other.depth)
        self.aliases = cap(self.aliases + other.aliases)
        self.fields = cap(self.fields + other.fields)
        self.cost = cap(self.cost + other.cost)
        self.leaves = cap(self.leaves + other.leaves)


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


_Frame = tuple[
    Iterator[SelectionNode],
    GraphQLNamedType | None,
    _Shape,
    Callable[[_Shape, _Shape], None] | None,
]
"""A selection set being walked: the selections left, their type, the shape so far, and
how to fold it into the frame below (None for the bottom one)."""


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
counted 3,100 and replayed 3,000 aggregates. At 40, a request replays at most ~250, and a
page of 100 partners with their 360° fields and `history(first: 10)` (bench/attacks.py)
still fits MAX_COST (9,100)."""


SEARCH_ARGUMENT = "search"
"""String arguments of this name are searches: their length (spaces around them aside)
is held to MAX_SEARCH_CHARS (app/schema/limits/rules.py)."""


def _search_length(value: Any) -> int | None:
    """A search's characters as sent (a literal, a variable's value or its default),
    spaces around it aside; None when it is no string (the executor refuses it)."""
    if isinstance(value, StringValueNode):
        value = value.value
    return len(value.strip()) if isinstance(value, str) else None


def _page_size(value: Any) -> int | None:
    """A page size as sent; None when it is no integer (the executor refuses it)."""
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class _Walker:
    """One walk of a document: each fragment is walked once per type it is spread on
    (memoised), and the walk keeps its own stack, so the work is linear in the document
    however the fragments spread and nest."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        defaults: Mapping[str, ValueNode],
        default_page: int,
        walk: Walk,
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.defaults = defaults
        self.default_page = default_page
        self.walk = walk
        self.touching = True
        self.memo: dict[tuple[str, str | None], _Shape] = {}
        self.sized: dict[tuple[str, bool, str | None, bool], ValueSize] = {}

    def variable(
        self, name: str, in_filter: bool, bulk: str | None, counted: bool
    ) -> ValueSize | None:
        """A variable's size: the whole argument (`bulk` its list not counted), or the
        bulk list itself (`counted` False), or any other value; measured once each way."""
        key = (name, in_filter, bulk, counted)
        known = self.sized.get(key)
        if known is None:
            if name in self.variables:
                value: Any = self.variables[name]
            elif name in self.defaults:
                value = self.defaults[name]
            else:
                return None
            known = measure_value(value, in_filter=in_filter, bulk=bulk, counted=counted)
            self.sized[key] = known
        return known

    def argument(self, value: ValueNode, where: str, in_filter: bool, bulk: str | None) -> int:
        """Records the sizes of one argument; returns its filter leaves."""

        def variable(name: str, filtering: bool, top: bool, counted: bool) -> ValueSize | None:
            return self.variable(name, filtering, bulk if top else None, counted)

        size = measure_value(value, in_filter=in_filter, bulk=bulk, variable=variable)
        walk = self.walk
        if size.longest > walk.longest_list[0]:
            walk.longest_list = (size.longest, where)
        if size.nesting > walk.filter_nesting[0]:
            walk.filter_nesting = (size.nesting, where)
        if size.leaves > walk.filter_leaves[0]:
            walk.filter_leaves = (size.leaves, where)
        if size.bulk > walk.longest_bulk[0]:
            walk.longest_bulk = (size.bulk, where)
        return size.leaves

    def search(self, of_type: Any, value: Any, where: str) -> None:
        """Records the length of a `search` argument of type String."""
        if get_named_type(of_type) is not GraphQLString:
            return
        length = _search_length(value)
        if length is not None and length > self.walk.longest_search[0]:
            self.walk.longest_search = (length, where)

    def resolve(self, value: ValueNode) -> Any:
        """A variable's value as sent (or its default's node); literals as they are."""
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                return self.variables[name]
            return self.defaults.get(name)
        return value

    def field(
        self, selection: FieldNode, parent: GraphQLNamedType | None
    ) -> tuple[int, int, int, GraphQLNamedType | None]:
        """A field's own part: (nodes it counts, times its selections run, filter leaves,
        the type of its selections)."""
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(selection.name.value)
        if parent is None or definition is None:
            return 0, 1, 0, None  # unknown: validation refuses it after the limits
        name = selection.name.value
        where = f"{parent.name}.{name}"
        if self.touching:
            self.walk.fields.add((parent.name, name))
        leaves = 0
        given: dict[str, Any] = {}
        for argument in selection.arguments or ():
            arg_name = argument.name.value
            if arg_name not in definition.args:
                continue
            given[arg_name] = self.resolve(argument.value)
            if arg_name == SEARCH_ARGUMENT:
                self.search(definition.args[arg_name].type, given[arg_name], where)
            bulk = BULK_LISTS.get((parent.name, name, arg_name))
            leaves += self.argument(argument.value, where, arg_name == FILTER_FIELD, bulk)
        count = 0
        times = 1
        if "first" in definition.args or "last" in definition.args:
            size = _page_size(given.get("first"))
            if size is None:
                size = _page_size(given.get("last"))
            times = cap(max(size if size is not None else self.default_page, 1))
            count = times
        else:
            ids = given.get("ids")
            length = len(ids.values) if isinstance(ids, ListValueNode) else None
            if isinstance(ids, list):
                length = len(ids)
            if length is not None:
                times = count = max(length, 1)
        count = cap(count + REPLAYS.get((parent.name, name), 0))
        return count, times, cap(leaves), get_named_type(definition.type)

    def shape(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Shape:
        """The shape of a selection set, without recursion: a frame per selection set
        being walked; a finished one is folded into the frame below it."""
        root = _Shape()
        frames: list[_Frame] = [(iter(selection_set.selections), parent, root, None)]
        pending: set[tuple[str, str | None]] = set()
        while frames:
            selections, of_type, shape, fold = frames[-1]
            selection = next(selections, None)
            if selection is None:
                frames.pop()
                if fold is not None:
                    fold(frames[-1][2], shape)
                continue
            frame: _Frame | None = None
            if isinstance(selection, FieldNode):
                frame = self._field_frame(selection, of_type, shape)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else None
                selections = iter(selection.selection_set.selections)
                frame = (selections, target or of_type, _Shape(), _Shape.add)
            elif isinstance(selection, FragmentSpreadNode):
                frame = self._spread_frame(selection, of_type, shape, pending)
            if frame is not None:
                frames.append(frame)
        return root

    def _field_frame(
        self, selection: FieldNode, of_type: GraphQLNamedType | None, shape: _Shape
    ) -> _Frame | None:
        """A leaf field is added to `shape`; a field with selections gets a frame that
        folds them in, run as often as the field says."""
        count, times, leaves, inner_type = self.field(selection, of_type)
        alias = 1 if selection.alias else 0
        introspection = selection.name.value.startswith("__")
        if selection.selection_set is None:
            shape.aliases = cap(shape.aliases + alias)
            shape.fields = cap(shape.fields + 1)
            shape.cost = cap(shape.cost + count)
            shape.leaves = cap(shape.leaves + leaves)
            return None

        def fold_field(into: _Shape, inner: _Shape) -> None:
            if not introspection:  # as graphql's depth rules count
                into.depth = max(into.depth, 1 + inner.depth)
            into.aliases = cap(into.aliases + alias + inner.aliases)
            into.fields = cap(into.fields + 1 + inner.fields)
            into.cost = cap(into.cost + count + cap(times * inner.cost))
            into.leaves = cap(into.leaves + leaves + cap(times * inner.leaves))

        return (iter(selection.selection_set.selections), inner_type, _Shape(), fold_field)

    def _spread_frame(
        self,
        selection: FragmentSpreadNode,
        of_type: GraphQLNamedType | None,
        shape: _Shape,
        pending: set[tuple[str, str | None]],
    ) -> _Frame | None:
        """A fragment already walked on this type is added to `shape`; a new one gets a
        frame that memoises it when done. `pending` holds the ones being walked."""
        fragment = self.fragments.get(selection.name.value)
        if fragment is None:
            return None  # validation reports it
        target = self.schema.get_type(fragment.type_condition.name.value) or of_type
        key = (fragment.name.value, target.name if target else None)
        known = self.memo.get(key)
        if known is not None:
            shape.add(known)
            return None
        if key in pending:
            return None  # a cycle: validation reports it

        def fold_fragment(into: _Shape, inner: _Shape) -> None:
            pending.discard(key)
            self.memo[key] = inner
            into.add(inner)

        pending.add(key)
        return (iter(fragment.selection_set.selections), target, _Shape(), fold_fragment)


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
    walker = _Walker(schema, document, variables or {}, defaults, default_page, result)
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
