"""Rules every name of the public schema follows: it is described (the descriptions are the
API's reference documentation, shown by GraphiQL and code generators), and it is spelled
as GraphQL APIs spell it: types PascalCase, fields and arguments camelCase, enum values
UPPER_SNAKE_CASE; a deprecation says what to use instead.

Introspection types, the specified scalars and directives belong to GraphQL, not to us:
they are left out."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import (
    DEFAULT_DEPRECATION_REASON,
    GraphQLArgument,
    GraphQLDirective,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    is_introspection_type,
    is_specified_directive,
    is_specified_scalar_type,
)

PASCAL_CASE = re.compile(r"[A-Z][a-zA-Z0-9]*")
CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")
UPPER_SNAKE_CASE = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*")

Member = (
    GraphQLField
    | GraphQLArgument
    | GraphQLInputField
    | GraphQLEnumValue
    | GraphQLNamedType
    | GraphQLDirective
)


def lint(schema: GraphQLSchema) -> list[str]:
    """One line per problem, naming where it is: `Type`, `Type.field`, `Type.field(arg:)`."""
    problems: list[str] = []
    for path, name, member, spelling in _members(schema):
        if not spelling.fullmatch(name):
            problems.append(f"{path}: not {_SPELLINGS[spelling.pattern]}")
        if not (member.description or "").strip():
            problems.append(f"{path}: no description")
        reason = getattr(member, "deprecation_reason", None)
        if reason is not None and reason.strip() in ("", DEFAULT_DEPRECATION_REASON):
            problems.append(f"{path}: deprecated without saying what to use instead")
    return problems


_SPELLINGS = {
    PASCAL_CASE.pattern: "PascalCase",
    CAMEL_CASE.pattern: "camelCase",
    UPPER_SNAKE_CASE.pattern: "UPPER_SNAKE_CASE",
}


def _members(schema: GraphQLSchema) -> Iterator[tuple[str, str, Member, re.Pattern[str]]]:
    """Every named thing of the schema that is ours: where it is, its name, itself, and how
    its name is spelled."""
    for named in schema.type_map.values():
        if is_introspection_type(named) or is_specified_scalar_type(named):
            continue
        yield named.name, named.name, named, PASCAL_CASE
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in named.fields.items():
                yield f"{named.name}.{name}", name, field, CAMEL_CASE
                for arg_name, arg in field.args.items():
                    yield f"{named.name}.{name}({arg_name}:)", arg_name, arg, CAMEL_CASE
        elif isinstance(named, GraphQLInputObjectType):
            for name, input_field in named.fields.items():
                yield f"{named.name}.{name}", name, input_field, CAMEL_CASE
        elif isinstance(named, GraphQLEnumType):
            for name, value in named.values.items():
                yield f"{named.name}.{name}", name, value, UPPER_SNAKE_CASE
    for directive in schema.directives:
        if is_specified_directive(directive):
            continue
        yield f"@{directive.name}", directive.name, directive, CAMEL_CASE
        for arg_name, arg in directive.args.items():
            yield f"@{directive.name}({arg_name}:)", arg_name, arg, CAMEL_CASE
