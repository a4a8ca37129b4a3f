"""What the short paths of app/schema/execution.py work out once: how to read a plain
leaf or a field with a plain resolver, and a per-selection-set memo."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import gather_with_cancel
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.types.field import StrawberryField

Leaf = Callable[[Any], Any] | None
"""How to answer a plain leaf field: a function of the source object giving the field's
serialized value, or Undefined when the value is unusual (see `leaf_reader`)."""

_LEAVES: dict[int, tuple[GraphQLField, Leaf]] = {}


def leaf_plan(field: GraphQLField) -> Leaf:
    """The short path of `field`, or None when it needs graphql-core's full one."""
    known = _LEAVES.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    plan: Leaf = None
    read = field_reader(field)
    if read is not None:
        kind = field.type
        nullable = not isinstance(kind, GraphQLNonNull)
        named = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
        if is_leaf_type(named):
            plan = leaf_reader(field, read, named, nullable)
    _LEAVES[id(field)] = (field, plan)
    return plan


_READERS: dict[int, tuple[GraphQLField, Any]] = {}


def field_reader(field: GraphQLField) -> Any:
    """A one-argument function of the source object giving the field's value, when the
    field is a plain attribute or has a plain resolver (see the module docstring); None
    when it needs strawberry's resolver (arguments, `info`, async, extensions)."""
    known = _READERS.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    read: Any = None
    resolve = field.resolve
    basic = getattr(resolve, "_is_default", False) and (
        getattr(resolve, "__name__", "") == "_get_basic_result"
    )
    if field.args:
        pass
    elif basic:
        read = _reader(field, resolve)
    elif getattr(resolve, "__name__", "") == "_resolver":
        read = _plain_resolver(field)
    _READERS[id(field)] = (field, read)
    return read


def _plain_resolver(field: GraphQLField) -> Any:
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None or resolver.is_async or definition.arguments:
        return None
    if resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter:
        return None
    function: Any = resolver.wrapped_func
    if resolver.self_parameter:
        return function
    return lambda source: function()


def _reader(field: GraphQLField, resolve: Any) -> Any:
    """A one-argument function reading the field from its source object:
    `attrgetter(name)` when strawberry's basic resolver would only do
    `getattr(source, name)` (the field's default resolver, no resolver of its own; the
    basic resolver takes three Python calls to get there, ~1 µs a field), else a call of
    that resolver."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if (
        isinstance(definition, StrawberryField)
        and definition.base_resolver is None
        and definition.default_resolver is getattr
        and definition.python_name
    ):
        return operator.attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


_SERIALIZED_AS_IS: dict[Any, type] = {
    serialize_string: str,
    serialize_id: str,
    serialize_boolean: bool,
}
"""graphql-core's serializers that answer a value of exactly this type unchanged."""


def leaf_reader(field: GraphQLField, read: Any, leaf: GraphQLLeafType, nullable: bool) -> Any:
    """A function of the source object giving the leaf's serialized value as `read`
    reads it, or Undefined when that value is unusual (a null where the schema says
    non-null, an exception, a value the type refuses).

    A page's 400 leaves each took five calls (one doing this, the attribute getter, a
    row field's descriptor and its `work_out`, the scalar's serializer). Here a String, ID or
    Boolean whose value is exactly a str or bool is answered as it is (what graphql-core's
    serializer answers for it), and a field that the source's type works out from the
    instance's `row` (a `Partner`'s, app/schema/partners/row_fields.py) is read from the
    row without going through the descriptor."""
    exact, answer = _answerer(leaf, nullable)
    name = _attribute_of(field)
    if name is None:

        def answer_read(source: Any) -> Any:
            try:
                return answer(read(source))
            except Exception:  # reported by the full path
                return Undefined

        answer_read.object_read = lambda kind: (read, exact, answer)  # type: ignore[attr-defined]
        return answer_read
    row_work: dict[type, Any] = {}

    def work_of(kind: type) -> Any:
        if kind not in row_work:
            row_work[kind] = _row_work(kind, name)
        return row_work[kind]

    def answer_from_row(source: Any) -> Any:
        try:
            work_out = row_work.get(type(source), _Never)
            if work_out is _Never:
                work_out = work_of(type(source))
            if work_out is None:
                value = read(source)
            else:
                state = source.__dict__
                value = state[name] if name in state else work_out(state["row"])
            if type(value) is exact:
                return value
            return answer(value)
        except Exception:  # reported by the full path
            return Undefined

    def row_read(kind: type) -> tuple[Callable[[Any], Any], type, Callable[[Any], Any]] | None:
        work_out = work_of(kind)
        return None if work_out is None else (work_out, exact, answer)

    def object_read(kind: type) -> tuple[Callable[[Any], Any], type, Callable[[Any], Any]] | None:
        return (read, exact, answer) if work_of(kind) is None else None

    answer_from_row.row_read = row_read  # type: ignore[attr-defined]
    answer_from_row.object_read = object_read  # type: ignore[attr-defined]
    return answer_from_row


def _answerer(leaf: GraphQLLeafType, nullable: bool) -> tuple[type, Callable[[Any], Any]]:
    """The type a value of `leaf` is answered as it is when it has exactly, and how any
    value is answered (see `leaf_reader`)."""
    exact = _SERIALIZED_AS_IS.get(getattr(leaf, "serialize", None), _Never)
    coerce = leaf.coerce_output_value
    # An Int that is exactly an int of 32 bits is answered as it is, too (a facet's
    # count, a total): what graphql-core's serializer answers for it.
    int32 = getattr(leaf, "serialize", None) is serialize_int

    def answer(value: Any) -> Any:
        if type(value) is exact:
            return value
        if value is None:
            return None if nullable else Undefined
        if int32 and type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT:
            return value
        if isinstance(value, Exception):
            return Undefined
        coerced = coerce(value)
        return Undefined if coerced is None else coerced

    answer.int32 = int32  # type: ignore[attr-defined]
    return exact, answer


RowReads = tuple[
    tuple[str, ...],
    list[Callable[[Any], Any]],
    list[type],
    list[Any],
    tuple[int, ...],
    Callable[[Any], Any] | None,
]
"""(response names, how each is worked out from a row, the type each is answered as it
is when it has, how each is answered otherwise, which are Ints (answered as they are
when they are ints within 32 bits), and one getter of them all when each is an
attribute of the object)."""


def row_reads(plan: list[Entry], kind: type, way: str = "row_read") -> RowReads | None:
    """How to answer a selection of instances of `kind` straight from their `row`: when
    every field of `plan` is a leaf that `kind` works out from the row (a page's partners
    with their names, emails, flags…; see `complete_objects`). With `way="object_read"`,
    how to answer it from the instances themselves, when every field is a leaf read as
    the short path reads it (an attribute, a plain resolver: facet counts, tags…)."""
    names: list[str] = []
    works: list[Callable[[Any], Any]] = []
    exacts: list[type] = []
    answers: list[Any] = []
    ints: list[int] = []
    for response_name, leaf, _, _, _ in plan:
        row_read = getattr(leaf, way, None)
        read = None if row_read is None else row_read(kind)
        if read is None:
            return None
        work_out, exact, answer = read
        if exact is _Never and getattr(answer, "int32", False):
            # A count: an int is answered as it is once its bounds are checked.
            exact = int
            ints.append(len(names))
        names.append(response_name)
        works.append(work_out)
        exacts.append(exact)
        answers.append(answer)
    attributes = [_attribute_read(work_out) for work_out in works]
    together = None
    if len(attributes) > 1 and None not in attributes:
        # Facet counts, tags: their attributes in one call (`attrgetter` of them all).
        together = operator.attrgetter(*cast(list[str], attributes))
    return tuple(names), works, exacts, answers, tuple(ints), together


def _attribute_read(work_out: Any) -> str | None:
    """The attribute `work_out` reads when it is `attrgetter(name)` of one, else None."""
    if type(work_out) is not operator.attrgetter:
        return None
    args = work_out.__reduce__()[1]
    if len(args) != 1 or not isinstance(args[0], str) or "." in args[0]:
        return None
    return args[0]


def answered_from_row(reads: RowReads, row: Any) -> dict[str, Any] | None:
    """An object's answer from its row (`row_reads`), or None when a value is unusual
    (the full path then answers it, and reports what it must)."""
    names, works, exacts, answers, ints, together = reads
    try:
        values = list(together(row)) if together else [work_out(row) for work_out in works]
        usual = list(map(type, values)) == exacts
        for index in ints:
            if usual and not GRAPHQL_MIN_INT <= values[index] <= GRAPHQL_MAX_INT:
                usual = False
        if not usual:
            for index, value in enumerate(values):
                if type(value) is not exacts[index] or index in ints:
                    value = values[index] = answers[index](value)
                    if value is Undefined:
                        return None
    except Exception:  # reported by the full path
        return None
    return dict(zip(names, values, strict=True))


class _Never:
    """The type of no value (`leaf_reader`'s `exact` for a serializer not known)."""


def _attribute_of(field: GraphQLField) -> str | None:
    """The attribute strawberry reads `field` from with `getattr` (no resolver of its
    own), or None."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if (
        not isinstance(definition, StrawberryField)
        or definition.base_resolver is not None
        or definition.default_resolver is not getattr
    ):
        return None
    return definition.python_name or None


def _row_work(kind: type, name: str) -> Callable[[Any], Any] | None:
    """How instances of `kind` work out attribute `name` from their `row` when it is not
    in their `__dict__` (a `_FromRow` descriptor's `work_out`), or None for a plain
    attribute read. (A field of an interface, such as `Node.id`, is read from instances of
    several types: each is looked up once.)"""
    descriptor = None
    for base in kind.__mro__:  # as Python finds a class attribute
        descriptor = base.__dict__.get(name)
        if descriptor is not None:
            break
    work_out = getattr(descriptor, "work_out", None)
    if work_out is None or getattr(descriptor, "name", None) != name:
        return None
    return work_out  # type: ignore[no-any-return]


def strawberry_type_check(object_type: GraphQLObjectType) -> Any:
    """The object type's `is_type_of` when there is none (None) or it is the check
    strawberry generates for a type with interfaces, which never reads its `info` (see
    `GraphQLCoreConverter.from_object`); Undefined for any other (it may read `info`)."""
    check = object_type.is_type_of
    if check is None:
        return None
    if getattr(check, "__qualname__", "").endswith("_get_is_type_of.<locals>.is_type_of"):
        return check
    return Undefined


T = TypeVar("T")


class PerFieldSet(Generic[T]):
    """What an execution works out once per grouped field set: graphql-core collects the
    selection set of a list's items once (memoized per request), so the 50 nodes of a
    page share one grouped field set, and one answer. Keyed by identity; the set is held
    with its answer, so another cannot take its id while it is remembered."""

    def __init__(self, work_out: Callable[[GraphQLObjectType, Any], T]) -> None:
        self._work_out = work_out
        self._known: dict[int, tuple[Any, T]] = {}

    def __call__(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> T:
        known = self._known.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        answer = self._work_out(parent_type, grouped_field_set)
        self._known[id(grouped_field_set)] = (grouped_field_set, answer)
        return answer


Entry = tuple[str, Leaf, Any, GraphQLField, Any]
"""A field of a selection set on the short path: (response name, its `leaf_plan` or None
for a value graphql-core completes (an object, a list), the reader of such a value, the
field, its field details)."""
ObjectPlan = list[Entry] | None
"""Every field of a selection set, when each is a plain leaf or read by a plain reader."""


async def gathered(results: Any, keys: list[Any]) -> Any:
    """`results` (a dict of an object's fields, or a list's items) with the awaitables
    at `keys` awaited in place: as graphql-core does, one in line, several together."""
    if len(keys) == 1:
        results[keys[0]] = await results[keys[0]]
        return results
    values = await gather_with_cancel(*(results[key] for key in keys))
    for key, value in zip(keys, values, strict=True):
        results[key] = value
    return results
