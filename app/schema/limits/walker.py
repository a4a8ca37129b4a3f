"""The walker behind `walk`: the shape of each selection set (depth, aliases, fields,
cost, filter leaves), each field's price (its page, its list size, `prices.py`) and the
sizes of its arguments, recorded on the `Walk`; each fragment walked once per type, with
its own stack instead of recursion."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_list_type,
)
from graphql.type.definition import GraphQLField, GraphQLNonNull
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from app.application.import_partners import MAX_ROWS
from app.schema.limits.prices import (
    BULK_LISTS,
    LIST_SIZES,
    REPLAYS,
    ROW_LISTS,
    introspection_sizes,
)
from app.schema.limits.values import FILTER_FIELD, ValueSize, cap, measure_value

if TYPE_CHECKING:
    from app.schema.limits.walk import Walk


@dataclass
class Shape:
    """What a selection set adds up to, once for one run of it: the fields nested in it,
    its aliases and fields with fragments expanded, the nodes it may return and the
    filter leaves it sends (both per run: a field inside a connection runs once per
    node)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    leaves: int = 0

    def add(self, other: Shape) -> None:
        """A fragment spread (or inline fragment) here: its fields run as often as ours."""
        self.depth = max(self.depth, other.depth)
        self.aliases = cap(self.aliases + other.aliases)
        self.fields = cap(self.fields + other.fields)
        self.cost = cap(self.cost + other.cost)
        self.leaves = cap(self.leaves + other.leaves)


_Frame = tuple[
    Iterator[SelectionNode],
    GraphQLNamedType | None,
    Shape,
    Callable[[Shape, Shape], None] | None,
]
"""A selection set being walked: the selections left, their type, the shape so far, and
how to fold it into the frame below (None for the bottom one)."""


def _is_list(of_type: Any) -> bool:
    while isinstance(of_type, GraphQLNonNull):
        of_type = of_type.of_type
    return is_list_type(of_type)


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


_META_FIELDS: dict[str, GraphQLField] = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
"""The introspection's roots, fields of the query type that its `fields` do not hold."""


class Walker:
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
        self.memo: dict[tuple[str, str | None], Shape] = {}
        self.sized: dict[tuple[str, bool, str | None, bool], ValueSize] = {}
        self.rows = 0

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
        name = selection.name.value
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
            if definition is None and parent is self.schema.query_type:
                definition = _META_FIELDS.get(name)
        if parent is None or definition is None:
            return 0, 1, 0, None  # unknown: validation refuses it after the limits
        where = f"{parent.name}.{name}"
        introspection = name.startswith("__") or parent.name.startswith("__")
        if self.touching and not introspection:
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
        if introspection:
            count, times = self.introspected(parent.name, name, definition)
        else:
            count, times = self.counted(parent.name, name, definition, given)
        count = cap(count + REPLAYS.get((parent.name, name), 0))
        return count, times, cap(leaves), get_named_type(definition.type)

    def counted(
        self, parent: str, name: str, definition: GraphQLField, given: dict[str, Any]
    ) -> tuple[int, int]:
        """(nodes a field counts, times its selections run): a page its `first`/`last`
        (`default_page` when not given), a group list its `limit` (its default when not
        given), `ids` their number, a list without such argument its most."""
        size: int | None = None
        if "first" in definition.args or "last" in definition.args:
            size = _page_size(given.get("first"))
            if size is None:
                size = _page_size(given.get("last"))
            if size is None:
                size = self.default_page
        elif "limit" in definition.args:
            size = _page_size(given.get("limit"))
            if size is None:
                size = _page_size(definition.args["limit"].default_value)
            if size is None:
                size = self.default_page
        elif (parent, name) in LIST_SIZES:
            size = LIST_SIZES[(parent, name)]
        elif (parent, name) in ROW_LISTS:
            size = self.rows
        else:
            ids = given.get("ids")
            length = len(ids.values) if isinstance(ids, ListValueNode) else None
            if isinstance(ids, list):
                length = len(ids)
            if length is None:
                return 0, 1
            size = length
        times = cap(max(size, 1))
        return times, times

    def introspected(self, parent: str, name: str, definition: GraphQLField) -> tuple[int, int]:
        """(nodes, times) of an introspection field (`introspection_sizes`)."""
        sizes = introspection_sizes(self.schema)
        size = sizes.get((parent, name))
        if size is not None:
            return size, size
        if get_named_type(definition.type).name == "__Type" and not _is_list(definition.type):
            return 0, sizes[("__Type", "")]  # any type: maybe the largest
        return 0, 1

    def bulk_rows(self, document: DocumentNode) -> int:
        """The most rows a bulk field of the document sends (`BULK_LISTS`): the items of
        its `ROW_LISTS`. Every field of that name is measured, wherever it is."""
        arguments = {(name, argument): bulk for (_, name, argument), bulk in BULK_LISTS.items()}
        most = 0
        stack: list[Any] = [d for d in document.definitions if hasattr(d, "selection_set")]
        while stack:
            node = stack.pop()
            if isinstance(node, FieldNode):
                for argument in node.arguments or ():
                    bulk = arguments.get((node.name.value, argument.name.value))
                    if bulk is None:
                        continue

                    def variable(
                        name: str, filtering: bool, top: bool, counted: bool, bulk: str = bulk
                    ) -> ValueSize | None:
                        return self.variable(name, filtering, bulk if top else None, counted)

                    size = measure_value(argument.value, bulk=bulk, variable=variable)
                    if size.bulk <= MAX_ROWS:  # more: refused whole, nothing listed
                        most = max(most, size.bulk)
            inner = getattr(node, "selection_set", None)  # a spread has none
            if inner is not None:
                stack.extend(inner.selections)
        return most

    def shape(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Shape:
        """The shape of a selection set, without recursion: a frame per selection set
        being walked; a finished one is folded into the frame below it."""
        root = Shape()
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
                frame = (selections, target or of_type, Shape(), Shape.add)
            elif isinstance(selection, FragmentSpreadNode):
                frame = self._spread_frame(selection, of_type, shape, pending)
            if frame is not None:
                frames.append(frame)
        return root

    def _field_frame(
        self, selection: FieldNode, of_type: GraphQLNamedType | None, shape: Shape
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

        def fold_field(into: Shape, inner: Shape) -> None:
            if not introspection:  # as graphql's depth rules count
                into.depth = max(into.depth, 1 + inner.depth)
            into.aliases = cap(into.aliases + alias + inner.aliases)
            into.fields = cap(into.fields + 1 + inner.fields)
            into.cost = cap(into.cost + count + cap(times * inner.cost))
            into.leaves = cap(into.leaves + leaves + cap(times * inner.leaves))

        return (iter(selection.selection_set.selections), inner_type, Shape(), fold_field)

    def _spread_frame(
        self,
        selection: FragmentSpreadNode,
        of_type: GraphQLNamedType | None,
        shape: Shape,
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

        def fold_fragment(into: Shape, inner: Shape) -> None:
            pending.discard(key)
            self.memo[key] = inner
            into.add(inner)

        pending.add(key)
        return (iter(fragment.selection_set.selections), target, Shape(), fold_fragment)
