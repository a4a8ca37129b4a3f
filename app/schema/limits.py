"""Limits on what one request may ask for; each refusal is a top-level error with
`extensions.code = LIMIT_EXCEEDED`. Tokens are a parser option; everything else (depth,
aliases, fields, list and filter sizes, cost) is computed here by one walk of the
document with its variables, linear in the document (each fragment walked once), which
runs before graphql-core's validation so no document makes that validation expensive."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.error import GraphQLSyntaxError
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


def limit_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": LIMIT_EXCEEDED})


def is_document_limit(error: GraphQLError) -> bool:
    """graphql-core's refusal of a document: the parser's over `max_tokens` or nested
    deeper than it parses (its MAX_NESTING_DEPTH, 200 brackets), or the validation's
    over its budget (VALIDATION_BUDGET below)."""
    if isinstance(error, ValidationAbortedError):
        return True
    return isinstance(error, GraphQLSyntaxError) and (
        "tokens. Parsing aborted" in error.message or "nested too deeply" in error.message
    )


COMBINATORS = frozenset({"and", "or", "not"})
"""Input fields that nest one filter in another."""

FILTER_FIELD = "filter"
"""Arguments and input fields of this name are filters: their leaves and nesting count."""

_CAP = 10**15
"""Counts saturate here: a fragment spread twice per level doubles them at every level,
and the limits are far below."""


def _cap(value: int) -> int:
    return value if value < _CAP else _CAP


@dataclass
class ValueSize:
    """What one argument value holds: its longest list, its filter leaves (every scalar
    and every list item inside a filter) and how deep `and`/`or`/`not` nest in it."""

    longest: int = 0
    leaves: int = 0
    nesting: int = 0


_CONTAINERS = (dict, list, ObjectValueNode, ListValueNode, VariableNode)


def measure_value(
    value: Any,
    *,
    in_filter: bool = False,
    bulk: str | None = None,
    variable: Callable[[str, bool, bool], ValueSize | None] | None = None,
) -> ValueSize:
    """The size of an argument value: a literal (AST) or what a client sent as a variable
    (plain JSON), without recursion, so no nesting can exhaust the stack. `bulk` names
    the top-level list whose own length is not counted (its items' lists are);
    `variable(name, in_filter, top)` sizes a variable met inside a literal."""
    size = ValueSize()
    # (value, inside a filter, combinators above, top-level object, list length counts)
    stack: list[tuple[Any, bool, int, bool, bool]] = [(value, in_filter, 0, True, True)]
    while stack:
        node, filtering, depth, top, counted = stack.pop()
        items: Iterable[tuple[str, Any]] | None = None
        elements: list[Any] | None = None
        if isinstance(node, VariableNode):
            inner = variable(node.name.value, filtering, top) if variable else None
            if inner is not None:
                size.longest = max(size.longest, inner.longest)
                size.leaves = _cap(size.leaves + inner.leaves)
                size.nesting = max(size.nesting, depth + inner.nesting)
            continue
        if isinstance(node, ObjectValueNode):
            items = ((f.name.value, f.value) for f in node.fields)
        elif isinstance(node, Mapping):
            items = ((str(k), v) for k, v in node.items())
        elif isinstance(node, ListValueNode):
            elements = list(node.values)
        elif isinstance(node, list):
            elements = node
        elif node is None or isinstance(node, NullValueNode):
            continue
        elif filtering:
            size.leaves = _cap(size.leaves + 1)
            continue
        else:
            continue
        if elements is not None:
            if counted:
                size.longest = max(size.longest, len(elements))
            # Scalars are most of a large list: counted here, only containers stacked.
            containers = [e for e in elements if isinstance(e, _CONTAINERS)]
            if filtering:
                if isinstance(node, list):
                    nulls = elements.count(None)
                else:
                    nulls = sum(1 for e in elements if isinstance(e, NullValueNode))
                scalars = len(elements) - len(containers) - nulls
                size.leaves = _cap(size.leaves + scalars)
            stack.extend((e, filtering, depth, False, True) for e in containers)
            continue
        assert items is not None
        for key, child in items:
            if not filtering and key == FILTER_FIELD:
                stack.append((child, True, 0, False, True))
                continue
            nested = depth + 1 if filtering and key in COMBINATORS else depth
            size.nesting = max(size.nesting, nested)
            stack.append((child, filtering, nested, False, not (top and key == bulk)))
    return size


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
        self.aliases = _cap(self.aliases + other.aliases)
        self.fields = _cap(self.fields + other.fields)
        self.cost = _cap(self.cost + other.cost)
        self.leaves = _cap(self.leaves + other.leaves)


@dataclass
class Walk:
    """What an operation touches and costs: its root type, every field as (type, field),
    the deepest field nesting, the aliases and the fields once fragments are expanded
    (over the whole document, the largest fragment too), the estimated number of nodes
    it may return, the filter leaves it sends, and the largest single values with where
    they are (the longest list argument, the deepest and the largest filter)."""

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


BULK_LISTS: dict[tuple[str, str, str], str] = {("Mutation", "importPartners", "input"): "rows"}
"""Argument lists with a size limit of their own, checked by the operation (importPartners
takes up to 1,000 rows); the lists inside them keep the general limit."""


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
        self.sized: dict[tuple[str, bool, str | None], ValueSize] = {}

    def variable(self, name: str, in_filter: bool, bulk: str | None) -> ValueSize | None:
        key = (name, in_filter, bulk)
        known = self.sized.get(key)
        if known is None:
            if name in self.variables:
                value: Any = self.variables[name]
            elif name in self.defaults:
                value = self.defaults[name]
            else:
                return None
            known = measure_value(value, in_filter=in_filter, bulk=bulk)
            self.sized[key] = known
        return known

    def argument(self, value: ValueNode, where: str, in_filter: bool, bulk: str | None) -> int:
        """Records the sizes of one argument; returns its filter leaves."""

        def variable(name: str, filtering: bool, top: bool) -> ValueSize | None:
            return self.variable(name, filtering, bulk if top else None)

        size = measure_value(value, in_filter=in_filter, bulk=bulk, variable=variable)
        walk = self.walk
        if size.longest > walk.longest_list[0]:
            walk.longest_list = (size.longest, where)
        if size.nesting > walk.filter_nesting[0]:
            walk.filter_nesting = (size.nesting, where)
        if size.leaves > walk.filter_leaves[0]:
            walk.filter_leaves = (size.leaves, where)
        return size.leaves

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
            bulk = BULK_LISTS.get((parent.name, name, arg_name))
            leaves += self.argument(argument.value, where, arg_name == FILTER_FIELD, bulk)
        count = 0
        times = 1
        if "first" in definition.args or "last" in definition.args:
            size = _page_size(given.get("first"))
            if size is None:
                size = _page_size(given.get("last"))
            times = _cap(max(size if size is not None else self.default_page, 1))
            count = times
        else:
            ids = given.get("ids")
            length = len(ids.values) if isinstance(ids, ListValueNode) else None
            if isinstance(ids, list):
                length = len(ids)
            if length is not None:
                times = count = max(length, 1)
        return count, times, _cap(leaves), get_named_type(definition.type)

    def shape(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Shape:
        """The shape of a selection set, without recursion: a frame per selection set
        being walked; a finished one is folded into the frame below it."""
        root = _Shape()
        # (selections left, their type, the shape so far, how to fold it into the frame below)
        frames: list[tuple[Iterator[SelectionNode], GraphQLNamedType | None, _Shape, Any]] = [
            (iter(selection_set.selections), parent, root, None)
        ]
        pending: set[tuple[str, str | None]] = set()
        while frames:
            selections, of_type, shape, fold = frames[-1]
            selection = next(selections, None)
            if selection is None:
                frames.pop()
                if fold is not None:
                    fold(frames[-1][2], shape)
                continue
            if isinstance(selection, FieldNode):
                count, times, leaves, inner_type = self.field(selection, of_type)
                alias = 1 if selection.alias else 0
                introspection = selection.name.value.startswith("__")
                if selection.selection_set is None:
                    shape.aliases = _cap(shape.aliases + alias)
                    shape.fields = _cap(shape.fields + 1)
                    shape.cost = _cap(shape.cost + count)
                    shape.leaves = _cap(shape.leaves + leaves)
                    continue

                def fold_field(
                    into: _Shape,
                    inner: _Shape,
                    count: int = count,
                    times: int = times,
                    leaves: int = leaves,
                    alias: int = alias,
                    introspection: bool = introspection,
                ) -> None:
                    if not introspection:  # as graphql's depth rules count
                        into.depth = max(into.depth, 1 + inner.depth)
                    into.aliases = _cap(into.aliases + alias + inner.aliases)
                    into.fields = _cap(into.fields + 1 + inner.fields)
                    into.cost = _cap(into.cost + count + _cap(times * inner.cost))
                    into.leaves = _cap(into.leaves + leaves + _cap(times * inner.leaves))

                frames.append(
                    (iter(selection.selection_set.selections), inner_type, _Shape(), fold_field)
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else None
                frames.append(
                    (
                        iter(selection.selection_set.selections),
                        target or of_type,
                        _Shape(),
                        _Shape.add,
                    )
                )
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue  # validation reports it
                target = self.schema.get_type(fragment.type_condition.name.value) or of_type
                key = (fragment.name.value, target.name if target else None)
                known = self.memo.get(key)
                if known is not None:
                    shape.add(known)
                    continue
                if key in pending:
                    continue  # a cycle: validation reports it

                def fold_fragment(
                    into: _Shape, inner: _Shape, key: tuple[str, str | None] = key
                ) -> None:
                    pending.discard(key)
                    self.memo[key] = inner
                    into.add(inner)

                pending.add(key)
                frames.append(
                    (iter(fragment.selection_set.selections), target, _Shape(), fold_fragment)
                )
        return root


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
        result.aliases = _cap(result.aliases + more.aliases)
        result.selections = _cap(result.selections + more.fields)
    for name, fragment in walker.fragments.items():
        target = schema.get_type(fragment.type_condition.name.value)
        key = (name, target.name if target else None)
        if key not in walker.memo:  # spread nowhere in the operation
            walker.memo[key] = walker.shape(fragment.selection_set, target)
    largest = max((s.fields for s in walker.memo.values()), default=0)
    result.selections = max(result.selections, largest)
    return result


@dataclass(frozen=True)
class Limits:
    """The limits one operation is held to (settings `max_*`)."""

    max_depth: int = 15
    max_aliases: int = 30
    max_fields: int = 2000
    max_cost: int = 10_000
    max_batch: int = 100
    max_filter_depth: int = 10
    max_filter_leaves: int = 500
    default_page: int = 50


def over_limit(walked: Walk, limits: Limits) -> GraphQLError | None:
    """The first limit the walked operation exceeds, as a LIMIT_EXCEEDED error."""
    if walked.depth > limits.max_depth:
        return limit_error(
            f"the operation nests fields {walked.depth} deep; "
            f"the maximum operation depth is {limits.max_depth}"
        )
    if walked.aliases > limits.max_aliases:
        return limit_error(
            f"{walked.aliases} aliases found (a fragment's count each time it is spread); "
            f"at most {limits.max_aliases}"
        )
    if walked.selections > limits.max_fields:
        return limit_error(
            f"the document selects {walked.selections} fields once its fragments are "
            f"expanded; at most {limits.max_fields}"
        )
    longest, where = walked.longest_list
    if longest > limits.max_batch:
        return limit_error(f"`{where}` got a list of {longest}; at most {limits.max_batch}")
    nesting, where = walked.filter_nesting
    if nesting > limits.max_filter_depth:
        return limit_error(
            f"`{where}`: filter nesting deeper than {limits.max_filter_depth} (`and`/`or`/`not`)"
        )
    leaves, where = walked.filter_leaves
    if leaves > limits.max_filter_leaves:
        return limit_error(
            f"`{where}`: filter has {leaves} leaves; at most {limits.max_filter_leaves}"
        )
    if walked.leaves > limits.max_filter_leaves:
        return limit_error(
            f"the operation's filters have {walked.leaves} leaves in all (each counted as "
            f"often as its field runs); at most {limits.max_filter_leaves}"
        )
    if walked.cost > limits.max_cost:
        return limit_error(
            f"the operation may return {walked.cost} nodes; at most {limits.max_cost} "
            f"(connections count `first`, or {limits.default_page}, times the ones above)"
        )
    return None


def filter_over_limit(value: Any, limits: Limits) -> str | None:
    """Why a stored filter (JSON in the API's spelling) is refused, or None."""
    size = measure_value(value, in_filter=True)
    if size.nesting > limits.max_filter_depth:
        return f"filter nesting deeper than {limits.max_filter_depth} (`and`/`or`/`not`)"
    if size.leaves > limits.max_filter_leaves:
        return f"filter has {size.leaves} leaves; at most {limits.max_filter_leaves}"
    if size.longest > limits.max_batch:
        return f"filter has a list of {size.longest}; at most {limits.max_batch}"
    return None


class BodyLimit:
    """ASGI middleware: an HTTP request body over `max_bytes` gets 413 with a GraphQL
    error LIMIT_EXCEEDED, before the application reads any of it."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        payload = json.dumps(
            {
                "data": None,
                "errors": [
                    {
                        "message": f"the request body is over {self.max_bytes} bytes",
                        "extensions": {"code": LIMIT_EXCEEDED},
                    }
                ],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


VALIDATION_BUDGET = 20_000
"""Work units graphql-core's OverlappingFieldsCanBeMergedRule may spend on one document
before it aborts the validation ("Validation aborted.", BAD_REQUEST). Its default,
500,000, took ~2 s of one CPU: 500 copies of `partners(first: 1) { totalCount }` (3,500
tokens) spend it all; 20,000 is ~0.1 s more. Queries spend next to nothing (fields of
one name compared pairwise): the introspection query 0, 100 copies of that field 29,700."""


def bound_validation() -> None:
    """Lowers graphql-core's validation budget (a module setting it reads per document)."""
    overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_BUDGET
