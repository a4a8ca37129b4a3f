"""Descriptions of the names that mean the same wherever they appear, written once.

A field's description usually sits with the field. Paging arguments, the fields every
command input has and what every record carries are described here instead, and
`described` gives them to the fields and arguments of a type that have none of their own
(tests/schema/test_schema_lint.py checks that nothing is left undescribed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.enum import StrawberryEnumDefinition

T = TypeVar("T", bound=type[Any])

PAGING = {
    "first": "How many records to return, from the start or after `after` (default 50, at most 100).",
    "after": "Return the records after this cursor (`pageInfo.endCursor`, or an edge's `cursor`).",
    "last": "How many records to return from the end, or before `before` (at most 100).",
    "before": "Return the records before this cursor (`pageInfo.startCursor`, or an edge's `cursor`).",
    "include_archived": "Archived entries are left out unless this is true.",
}

RECORD = {
    "id": "Its global id: opaque, stable; `node(id:)` finds it.",
    "version": "How many changes it has had; send it back as `expectedVersion`.",
    "created_at": "When it was created.",
    "updated_at": "When it last changed.",
    "archived": "Archived: left out of lists by default, kept with its history; restore it to use it again.",
}

COMMAND = {
    "input": "The mutation's parameters. A refused mutation answers `userErrors` and changes nothing.",
    "id": "The global id of the record to change.",
    "expected_version": "The `version` this change was prepared against: if the record has changed since, a CONFLICT user error, and nothing changes.",
    "reason": "Why: recorded with the change, with who made it and the request id.",
    "idempotency_key": "Repeating a create with the same key and input returns the first result and records nothing new; the same key with another input is a VALIDATION error.",
    "user_errors": "Why the mutation was refused, one entry per problem; empty when it succeeded.",
}

AUDIT_FIELDS = {
    "occurred_at": "When it happened.",
    "actor": "Who did it: the name of the API key that sent it (`cli:import`, `demo`: the command line).",
    "request_id": "The request that did it (its `X-Request-Id`).",
    "reason": "The `reason` given with the change, if any.",
}
"""What every recorded change carries (timeline entries, history)."""

PAYLOAD = {"user_errors": COMMAND["user_errors"]}


def described(*vocabularies: Mapping[str, str]) -> Callable[[T], T]:
    """Fills in the descriptions the decorated Strawberry type leaves out, from the first
    vocabulary that has the name: of its fields and their arguments (by Python name), or
    of an enum's values (by name). Put it above the `@strawberry.type` (`input`,
    `interface`, `enum`) decorator."""

    def describe(cls: T) -> T:
        definition = cls.__strawberry_definition__
        if isinstance(definition, StrawberryEnumDefinition):
            for value in definition.values:
                value.description = value.description or _lookup(vocabularies, value.name)
            return cls
        assert isinstance(definition, StrawberryObjectDefinition)
        for field in definition.fields:
            field.description = field.description or _lookup(vocabularies, field.python_name)
            for argument in field.arguments:
                argument.description = argument.description or _lookup(
                    vocabularies, argument.python_name
                )
        return cls

    return describe


def describe_values(enum: type[Any], descriptions: Mapping[str, str]) -> None:
    """Describes the values of an enum registered with `strawberry.enum(cls)` from a class
    that cannot name strawberry itself (a domain enum)."""
    described(descriptions)(enum)


def _lookup(vocabularies: tuple[Mapping[str, str], ...], name: str | None) -> str | None:
    if name is None:
        return None
    return next((v[name] for v in vocabularies if name in v), None)
