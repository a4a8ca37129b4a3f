"""Refuses text with NUL characters before anything runs: PostgreSQL cannot store them
in text columns, so an event carrying one would stop the projector (found by fuzzing:
a catalog entry named "\\x10\\x9c\\n\\xd8\\x00\\xd4" was recorded, and projecting it failed
for ever)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

NUL = "\x00"


class RefuseNulCharacters(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if _has_nul(context.variables) or (
            context.graphql_document is not None and _literal_has_nul(context.graphql_document)
        ):
            context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "text must not contain NUL (\\u0000) characters",
                        extensions={"code": "BAD_REQUEST"},
                    )
                ],
            )
        yield


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class _Finder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if NUL in node.value:
            self.found = True


_SEEN: dict[int, tuple[Any, bool]] = {}
"""Documents already looked at (by identity: the parser cache hands out the same
document for the same query text), with their answer; at most `_SEEN_MAX`."""
_SEEN_MAX = 256


def _literal_has_nul(document: Any) -> bool:
    seen = _SEEN.get(id(document))
    if seen is not None and seen[0] is document:
        return seen[1]
    finder = _Finder()
    visit(document, finder)
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[id(document)] = (document, finder.found)
    return finder.found
