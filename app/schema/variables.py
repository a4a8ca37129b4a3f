"""Variables are checked against the types their operation declares before the role and
cost checks read them: a wrong type or an out-of-range number is the client's BAD_REQUEST."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension


class CheckVariables(SchemaExtension):
    """The Guard's cost walk reads the variables raw (`"abc"` for an `Int` was a Python
    error in it). When they do not coerce to their declared types, the walk sees none
    (every argument given by a variable counts as left out) and the executor then
    refuses the operation with graphql-core's own message, coded BAD_REQUEST; nothing
    runs. Place it just before the Guard."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
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
        coerced = get_variable_values(
            ec.schema._schema, operation.variable_definitions, ec.variables or {}, max_errors=1
        )
        return isinstance(coerced, list)
