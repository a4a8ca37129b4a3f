"""Refuses text PostgreSQL cannot store (NUL, lone surrogates) anywhere in a request's
variables or literals, before anything runs, naming where it is. Such text once stopped
every read model: a JSON body's "\\ud800" decodes to a lone surrogate, which was
recorded (inside an encrypted field) and then failed to project for ever; fuzzing found
the same with NUL (a catalog entry named "\\x10\\x9c\\n\\xd8\\x00\\xd4")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    visit,
)
from graphql.language import BREAK, SKIP, Visitor
from strawberry.extensions import SchemaExtension

from app.domain.text import storable, unstorable_reason
from app.schema.parsing import DOCUMENT_MEMOS


class RefuseUnstorableText(SchemaExtension):
    """A `BAD_REQUEST` top-level error such as "$input.name contains NUL (\\u0000) …"."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        problem = _in_value(context.variables, "$")
        if problem is None and context.graphql_document is not None:
            problem = _in_literals(context.graphql_document)
        if problem is not None:
            where, reason = problem
            error = GraphQLError(
                # The path itself may hold the text refused (a variable's name): made
                # storable, so that the answer can always be encoded.
                f"{storable(where)} {reason}",
                extensions={"code": "BAD_REQUEST"},
            )
            if _is_subscription(context):
                # A subscription does not look at `result`: strawberry answers what this
                # hook raises instead, and starts nothing.
                raise error
            context.result = ExecutionResult(data=None, errors=[error])
        yield


def _is_subscription(context: Any) -> bool:
    try:
        return bool(context.operation_type.value == "subscription")
    except Exception:  # no single operation: the executor says so
        return False


Problem = tuple[str, str]
"""Where (an argument or variable path) and why."""


def _in_value(value: Any, path: str) -> Problem | None:
    """The first unstorable string in a variables value (keys included)."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        return None if reason is None else (path, reason)
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            where = f"{path}{name}" if path == "$" else f"{path}.{name}"
            reason = unstorable_reason(name)
            if reason is not None:
                return f"{where} (a name)", reason
            found = _in_value(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _in_value(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _in_literal(node: ValueNode, path: str) -> Problem | None:
    if isinstance(node, StringValueNode):
        reason = unstorable_reason(node.value)
        return None if reason is None else (path, reason)
    if isinstance(node, ObjectValueNode):
        for field in node.fields:
            found = _in_literal(field.value, f"{path}.{field.name.value}")
            if found is not None:
                return found
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            found = _in_literal(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class _LiteralFinder(Visitor):
    """Every argument's literal (`createTag(input.name)`) and every variable's default
    (`$name`); string literals appear nowhere else in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.found: Problem | None = None

    def enter_argument(
        self, node: ArgumentNode, _key: Any, _parent: Any, _path: Any, ancestors: Any
    ) -> Any:
        if self.found is None:
            owner = ancestors[-1] if ancestors else None
            name = (
                owner.name.value
                if isinstance(owner, FieldNode)
                else f"@{owner.name.value}"
                if isinstance(owner, DirectiveNode)
                else ""
            )
            self.found = _in_literal(node.value, f"{name}({node.name.value}")
            if self.found is not None:
                where, reason = self.found
                self.found = (where + ")", reason)
        return SKIP if self.found is None else BREAK

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> Any:
        if self.found is None and node.default_value is not None:
            self.found = _in_literal(node.default_value, f"${node.variable.name.value}")
        return SKIP if self.found is None else BREAK


_SEEN: dict[int, tuple[Any, Problem | None]] = {}
"""Documents already looked at (by identity: the parser cache hands out the same
document for the same query text), with their answer; at most `_SEEN_MAX`."""
_SEEN_MAX = 256
DOCUMENT_MEMOS.append(_SEEN.clear)


def _in_literals(document: Any) -> Problem | None:
    seen = _SEEN.get(id(document))
    if seen is not None and seen[0] is document:
        return seen[1]
    finder = _LiteralFinder()
    visit(document, finder)
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[id(document)] = (document, finder.found)
    return finder.found
