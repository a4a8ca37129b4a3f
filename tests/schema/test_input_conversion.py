"""The fast conversion of input objects (app/schema/input_conversion.py) builds exactly
what strawberry's own conversion builds, for every input type of the schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import graphql
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryObjectDefinition

from app.schema.schema import build_schema

SCHEMA = build_schema()
INPUTS = sorted(
    (
        (name, concrete.definition)
        for name, concrete in SCHEMA.schema_converter.type_map.items()
        if isinstance(concrete.definition, StrawberryObjectDefinition)
        and concrete.definition.is_input
    ),
    key=lambda item: item[0],
)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "String": st.text(max_size=8),
    "ID": st.sampled_from(["UGFydG5lcjox", "x", ""]),
    "Int": st.integers(-5, 5),
    "Float": st.floats(allow_nan=False, allow_infinity=False),
    "Boolean": st.booleans(),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2),
    "DateTime": st.just(datetime(2026, 3, 3, 10, tzinfo=UTC)),
    "Date": st.just(date(2026, 3, 3)),
}


def coerced(kind: graphql.GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of `kind` as graphql-core hands them to resolvers (coerced input values):
    keys by GraphQL name, some fields left out, enums as their Python values."""
    if isinstance(kind, graphql.GraphQLNonNull):
        return coerced(kind.of_type, depth)
    nullable: st.SearchStrategy[Any]
    if isinstance(kind, graphql.GraphQLList):
        nullable = st.lists(coerced(kind.of_type, depth + 1), max_size=2)
    elif isinstance(kind, graphql.GraphQLEnumType):
        nullable = st.sampled_from([v.value for v in kind.values.values()])
    elif isinstance(kind, graphql.GraphQLScalarType):
        nullable = SCALARS[kind.name]
    else:
        assert isinstance(kind, graphql.GraphQLInputObjectType)
        if depth > 2:
            return st.none()
        nullable = st.fixed_dictionaries(
            {n: coerced(f.type, depth + 1) for n, f in kind.fields.items() if _required(f)},
            optional={
                n: coerced(f.type, depth + 1) for n, f in kind.fields.items() if not _required(f)
            },
        )
    return nullable | st.none()


def _required(field: graphql.GraphQLInputField) -> bool:
    return graphql.is_non_null_type(field.type) and field.default_value is graphql.Undefined


@contextlib.contextmanager
def strawberrys_own_conversion() -> Iterator[None]:
    saved = {name: d.from_input for name, d in INPUTS}
    for _, definition in INPUTS:
        definition.from_input = None
    try:
        yield
    finally:
        for name, definition in INPUTS:
            definition.from_input = saved[name]


def convert(definition: StrawberryObjectDefinition, value: Any) -> Any:
    registry = SCHEMA.schema_converter.scalar_registry
    try:
        return ("value", convert_argument(value, definition.origin, registry, SCHEMA.config))
    except Exception as error:  # the same refusal either way
        return ("error", type(error), str(error))


def test_every_input_type_of_the_schema_is_converted_fast() -> None:
    assert INPUTS and all(d.from_input is not None for _, d in INPUTS)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_conversion_equals_strawberrys(data: st.DataObject) -> None:
    name, definition = data.draw(st.sampled_from(INPUTS))
    kind = SCHEMA._schema.get_type(name)
    assert isinstance(kind, graphql.GraphQLInputObjectType)
    value = data.draw(coerced(kind).filter(lambda v: v is not None))
    fast = convert(definition, value)
    with strawberrys_own_conversion():
        own = convert(definition, value)
    assert fast == own, name


def test_decimal_and_nested_lists_come_through() -> None:
    """A payment term's lines: a nested list of input objects with decimals."""
    (definition,) = [d for n, d in INPUTS if n == "CreatePaymentTermInput"]
    value = {
        "name": "30% now",
        "lines": [
            {"kind": "PERCENT", "value": Decimal("30"), "days": 0},
            {"kind": "BALANCE", "days": 30},
        ],
    }
    fast = convert(definition, value)
    with strawberrys_own_conversion():
        assert fast == convert(definition, value)
    assert fast[0] == "value"
