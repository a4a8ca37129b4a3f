"""Limits on what one request may ask for; each refusal is a top-level error with
`extensions.code = LIMIT_EXCEEDED`. Depth and aliases are graphql-core validation rules
(strawberry's, re-coded), tokens a parser option, and the cost and batch sizes are
computed here by walking the operation with its variables."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValidationContext,
    ValidationRule,
    get_named_type,
    value_from_ast,
)
from graphql.error import GraphQLSyntaxError

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


def limit_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": LIMIT_EXCEEDED})


class _Recoding:
    """A ValidationContext whose reported errors carry LIMIT_EXCEEDED."""

    def __init__(self, inner: ValidationContext) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def report_error(self, error: GraphQLError) -> None:
        self._inner.report_error(
            GraphQLError(error.message, error.nodes, extensions={"code": LIMIT_EXCEEDED})
        )


def as_limit(rule: type[ValidationRule]) -> type[ValidationRule]:
    """The validation rule `rule`, its errors coded LIMIT_EXCEEDED."""

    class Limit(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_Recoding(context))

    Limit.__name__ = f"Limit{rule.__name__}"
    return Limit


def is_token_limit(error: GraphQLError) -> bool:
    """The parser's refusal of a document over `max_tokens`."""
    return isinstance(error, GraphQLSyntaxError) and "tokens. Parsing aborted" in error.message


@dataclass
class Walk:
    """What an operation touches: its root type, every field as (type, field), the
    estimated number of nodes it may return, and the longest list argument."""

    operation: OperationType
    fields: set[tuple[str, str]] = field(default_factory=set)
    cost: int = 0
    longest_list: tuple[int, str] = (0, "")


def walk(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page: int,
) -> Walk | None:
    """Walks the operation to run (None when there is no such single operation: the
    executor reports that). Connection fields (with `first`) count their page size,
    multiplied by the sizes of the connections above them; `ids` lists count their
    length."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    result = Walk(operation.operation)
    _selections(
        schema, operation.selection_set, root, 1, fragments, variables or {}, result, default_page
    )
    return result


BULK_LISTS: dict[tuple[str, str, str], str] = {("Mutation", "importPartners", "input"): "rows"}
"""Argument lists with a size limit of their own, checked by the operation (importPartners
takes up to 1,000 rows); the lists inside them keep the general limit."""


def _longest(value: Any) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest(v) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_longest(v) for v in value.values())])
    return 0


def _selections(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode,
    parent: GraphQLNamedType,
    multiplier: int,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    result: Walk,
    default_page: int,
) -> None:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                continue
            definition = parent.fields.get(selection.name.value)
            if definition is None:
                continue  # __typename and introspection
            result.fields.add((parent.name, selection.name.value))
            args: dict[str, Any] = {}
            for argument in selection.arguments or ():
                arg_def = definition.args.get(argument.name.value)
                if arg_def is None:
                    continue
                value = value_from_ast(argument.value, arg_def.type, dict(variables))
                if value is Undefined:
                    continue
                args[argument.name.value] = value
                bulk = BULK_LISTS.get((parent.name, selection.name.value, argument.name.value))
                if bulk is not None and isinstance(value, dict):
                    rows = value.get(bulk)
                    rest = {k: v for k, v in value.items() if k != bulk}
                    longest = max([_longest(rest), *map(_longest, rows or [])])
                else:
                    longest = _longest(value)
                if longest > result.longest_list[0]:
                    result.longest_list = (longest, f"{parent.name}.{selection.name.value}")
            inner = multiplier
            if "first" in definition.args or "last" in definition.args:
                size = args.get("first")
                if size is None:
                    size = args.get("last")
                inner = multiplier * max(int(size if size is not None else default_page), 1)
                result.cost += inner
            elif isinstance(args.get("ids"), list):
                inner = multiplier * max(len(args["ids"]), 1)
                result.cost += inner
            if selection.selection_set is not None:
                _selections(
                    schema,
                    selection.selection_set,
                    get_named_type(definition.type),
                    inner,
                    fragments,
                    variables,
                    result,
                    default_page,
                )
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            _selections(
                schema,
                selection.selection_set,
                target or parent,
                multiplier,
                fragments,
                variables,
                result,
                default_page,
            )
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            target = schema.get_type(fragment.type_condition.name.value)
            _selections(
                schema,
                fragment.selection_set,
                target or parent,
                multiplier,
                fragments,
                variables,
                result,
                default_page,
            )


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
