"""Input objects converted through strawberry's `from_input` hook, with the per-field work
done once per type instead of once per request.

Strawberry's own conversion (`convert_argument`) re-derives, for every field of an input
object on every request, the field's GraphQL name (a camel-case conversion) and its
resolved type, then recurses even for plain strings and booleans: ~200 µs for a
`CreatePartnerInput` (29 fields, which graphql-core fills in with their published
defaults). Here each type's fields are read once; a scalar or enum value, and a null for
any optional field (a filter's unset ids, lists and nested filters: two calls each),
is taken as graphql-core coerced it, exactly what `convert_argument` returns for those;
anything else (lists, nested inputs, `Maybe`, global ids) still goes
through `convert_argument`, so the results are the same objects built the same way.

Types with a `Maybe[T]` field that refuses null keep strawberry's path: its validation
rule checks those nulls only for types without a `from_input`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import (
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType

FromInput = Callable[[type, Mapping[str, Any], InputContext], Any]


def install(schema: strawberry.Schema) -> int:
    """Gives every input type of `schema` that can take it the fast conversion; returns
    how many did. Idempotent: a type converted already keeps its converter."""
    registry = schema.schema_converter.scalar_registry
    names = schema.config.name_converter
    installed = 0
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if definition.from_input is not None or not _supported(definition):
            continue
        definition.from_input = _converter(definition, registry, names.from_field)
        installed += 1
    return installed


def _field_type(definition: StrawberryObjectDefinition, field: Any) -> StrawberryType | type:
    return field.resolve_type(type_definition=definition)  # type: ignore[no-any-return]


def _supported(definition: StrawberryObjectDefinition) -> bool:
    for field in definition.fields:
        kind = _field_type(definition, field)
        if isinstance(kind, StrawberryMaybe) and not isinstance(kind.of_type, StrawberryOptional):
            return False
    return True


def _is_leaf(kind: Any, registry: Mapping[object, Any]) -> bool:
    """Whether `convert_argument` hands a value of `kind` back unchanged."""
    if isinstance(kind, StrawberryMaybe):
        return False  # wrapped in Some
    if isinstance(kind, StrawberryOptional):
        kind = kind.of_type
    if isinstance(kind, LazyType):
        kind = kind.resolve_type()
    if kind is GlobalID:
        return False
    if isinstance(kind, StrawberryEnumDefinition) or has_enum_definition(kind):
        return True
    return bool(is_scalar(kind, registry))


def _converter(
    definition: StrawberryObjectDefinition,
    registry: Mapping[object, Any],
    graphql_name_of: Callable[[Any], str],
) -> FromInput:
    fields: list[tuple[str, str, StrawberryType | type, bool, bool]] = []
    implicit: dict[str, None] = {}
    for field in definition.fields:
        python_name = field.python_name
        assert python_name is not None
        kind = _field_type(definition, field)
        graphql_name = graphql_name_of(field)
        # `convert_argument` gives None for a null of an optional type (not `Maybe`).
        nullable = isinstance(kind, StrawberryOptional) and not isinstance(kind, StrawberryMaybe)
        fields.append((graphql_name, python_name, kind, _is_leaf(kind, registry), nullable))
        if (
            field.default_value is dataclasses.MISSING
            and field.default_factory is dataclasses.MISSING
        ):
            implicit[python_name] = None  # as strawberry: nullable fields need no default

    def from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, Any] = dict(implicit)
        for graphql_name, python_name, kind, leaf, nullable in fields:
            if graphql_name not in value:
                continue
            item = value[graphql_name]
            if leaf or (item is None and nullable):
                kwargs[python_name] = item
            else:
                kwargs[python_name] = convert_argument(
                    item,
                    kind,
                    context.scalar_registry,
                    context.config,
                    context.info,
                    path=(*context.path, graphql_name),
                )
        return cls(**kwargs)

    return from_input
