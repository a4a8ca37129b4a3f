"""Variables are checked against the types their operation declares before the role and
cost checks read them: a wrong type or an out-of-range number is the client's BAD_REQUEST."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextvars import ContextVar
from typing import Any

import graphql.execution.executor as _executor
from graphql import GraphQLError, GraphQLSchema, VariableDefinitionNode, get_operation_ast
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension

_COERCED: ContextVar[tuple[object, object, VariableValues] | None] = ContextVar(
    "coerced_variables", default=None
)
"""(variable definitions, raw variables, their coercion) of the request's operation, as
CheckVariables coerced them: the executor takes them instead of coercing them again."""


def _coerced_once(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
) -> list[GraphQLError] | VariableValues:
    """graphql-core's `get_variable_values` for the executor, answered from CheckVariables'
    coercion of the same definitions and the same variables (the same objects) when
    there is one: the coercion of a filter nested three deep was ~3.5 % of a facets
    request's instructions, spent twice. A coercion that succeeded does not depend on
    `max_errors` or `hide_suggestions` (they shape errors only)."""
    known = _COERCED.get()
    if known is not None and known[0] is var_def_nodes and known[1] is inputs:
        _COERCED.set(None)
        return known[2]
    return get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)


if getattr(_executor, "get_variable_values", None) is get_variable_values:  # its look-up
    setattr(_executor, "get_variable_values", _coerced_once)  # noqa: B010


MAX_VALUES = 60_000
"""Values (scalars, lists, objects) the variables of one operation may hold: 1,000 import
rows of every field are ~30,000."""
MAX_OBJECTS = 12_000
"""Input objects among them. Coercion fills each object's fields left out with their
defaults, before any limit on lists is checked: 330,000 empty `PartnerFilter`s (a 1 MB
body) took 5.5 s of the event loop, 12,000 take ~0.15 s. The longest list the API reads
is 10,000 rows (`importPartners`, refused past 1,000)."""


def over_limit(variables: object) -> str | None:
    """Why raw `variables` are too many to coerce, or None: counted until a limit is
    passed (a few ms), before coercion (the limits walk reads them after it)."""
    values = objects = 0
    pending = list(variables.values()) if isinstance(variables, dict) else [variables]
    while pending:
        value = pending.pop()
        values += 1
        if isinstance(value, dict):
            objects += 1
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        if values > MAX_VALUES or objects > MAX_OBJECTS:
            return (
                f"the variables hold more than {MAX_VALUES:,} values or {MAX_OBJECTS:,} "
                "input objects"
            )
    return None


class CheckVariables(SchemaExtension):
    """The Guard's cost walk reads the variables raw (`"abc"` for an `Int` was a Python
    error in it). When they do not coerce to their declared types, the walk sees none
    (every argument given by a variable counts as left out) and the executor then
    refuses the operation with graphql-core's own message, coded BAD_REQUEST; nothing
    runs. Place it just before the Guard. When they do coerce, the executor takes that
    coercion (`_coerced_once`)."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        _COERCED.set(None)
        if getattr(ec.context, "principal", None) is None:
            yield  # the Guard refuses it (UNAUTHENTICATED) without counting anything
            return
        too_many = over_limit(ec.variables)
        if too_many is not None:
            raise GraphQLError(too_many, extensions={"code": "LIMIT_EXCEEDED"})
        if not self._variables_refused():
            yield
            return
        given = ec.variables
        ec.variables = {}
        try:
            yield
        finally:
            ec.variables = given  # what the executor coerces, and refuses

    def _variables_refused(self) -> bool:
        ec = self.execution_context
        document = ec.graphql_document
        if getattr(ec.context, "principal", None) is None or document is None:
            return False  # the Guard refuses the request without walking it
        operation = get_operation_ast(document, ec.operation_name)
        if operation is None or not operation.variable_definitions:
            return False
        given = ec.variables or {}
        coerced = get_variable_values(
            ec.schema._schema, operation.variable_definitions, given, max_errors=1
        )
        if isinstance(coerced, list):
            return True
        if ec.variables is given:
            _COERCED.set((operation.variable_definitions, given, coerced))
        return False
