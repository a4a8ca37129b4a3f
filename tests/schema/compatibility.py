"""Whether a schema still serves the clients of a released one: graphql-core's breaking and
dangerous changes between the two, where what the release marked `@deprecated` may go.

Deprecated fields, arguments, input fields and enum values are taken out of the release
before the comparison, and so are the types only they led to: removing or changing them
is then no change at all, while every other breaking change graphql-core finds still is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    REMOVE,
    DocumentNode,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    Visitor,
    build_ast_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_named_type,
    parse,
    visit,
)


@dataclass(frozen=True)
class Compatibility:
    """What a client written against the release would meet in the current schema."""

    breaking: list[str]
    """Changes that make some valid operation of the release invalid or differently typed."""
    dangerous: list[str]
    """Changes that keep operations valid but may surprise a client (a new enum value)."""


def compare(released: str, current: str) -> Compatibility:
    """The changes from the `released` SDL to the `current` one."""
    released_schema = build_ast_schema(parse(released))
    current_schema = build_ast_schema(parse(current))
    without_deprecated = _reachable_part(
        build_ast_schema(_without_deprecated(parse(released)), assume_valid=True)
    )
    return Compatibility(
        breaking=[c.description for c in find_breaking_changes(without_deprecated, current_schema)],
        dangerous=[c.description for c in find_dangerous_changes(released_schema, current_schema)],
    )


class _DropDeprecated(Visitor):
    """Removes every field, argument, input field and enum value marked `@deprecated`."""

    def _drop(self, node: Any, *_: Any) -> Any:
        directives = node.directives or ()
        return REMOVE if any(d.name.value == "deprecated" for d in directives) else None

    enter_field_definition = _drop
    enter_input_value_definition = _drop
    enter_enum_value_definition = _drop


def _without_deprecated(document: DocumentNode) -> DocumentNode:
    result: DocumentNode = visit(document, _DropDeprecated())
    return result


def _reachable_part(schema: GraphQLSchema) -> GraphQLSchema:
    """The schema cut down to the types a client can still reach from its roots.

    An object type that implements a reachable interface stays reachable: a client may
    select it with `... on Type` (on `node(id:)`, say), which no deprecation covers.
    """
    roots = [schema.query_type, schema.mutation_type, schema.subscription_type]
    pending: list[GraphQLNamedType] = [root for root in roots if root is not None]
    pending += [get_named_type(arg.type) for d in schema.directives for arg in d.args.values()]
    reached: dict[str, GraphQLNamedType] = {}
    while pending:
        named = pending.pop()
        if named.name in reached:
            continue
        reached[named.name] = named
        pending += _next_types(schema, named)
    return GraphQLSchema(
        query=schema.query_type,
        mutation=schema.mutation_type,
        subscription=schema.subscription_type,
        types=list(reached.values()),
        directives=schema.directives,
        assume_valid=True,
    )


def _next_types(schema: GraphQLSchema, named: GraphQLNamedType) -> list[GraphQLNamedType]:
    """The types a client reaches in one step from `named`."""
    found: list[GraphQLType] = []
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field in named.fields.values():
            found += [field.type, *(arg.type for arg in field.args.values())]
        found += named.interfaces
    if isinstance(named, GraphQLInterfaceType):
        implementations = schema.get_implementations(named)
        found += [*implementations.objects, *implementations.interfaces]
    if isinstance(named, GraphQLUnionType):
        found += named.types
    if isinstance(named, GraphQLInputObjectType):
        found += [field.type for field in named.fields.values()]
    return [get_named_type(type_) for type_ in found]
