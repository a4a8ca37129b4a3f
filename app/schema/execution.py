"""The execution context of the schema: graphql-core's, with a short path for the fields
that only read an attribute and return a scalar or an enum.

graphql-core builds a `GraphQLResolveInfo` (a 13-field named tuple), a list of field
nodes and the argument values for every field of every object, then completes the value
through three calls before serializing it. A page of 50 partners with 8 scalar fields
does that 400 times, and strawberry's resolver of a plain attribute uses none of it.
Here such a field (strawberry's basic resolver, no arguments, no field middleware) reads
its attribute and serializes it directly. Anything unusual — a null where the schema
says non-null, a value the scalar refuses, an exception — goes through graphql-core's
own path again, which reports it exactly as before (the attribute read has no effects).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Plan = tuple[Any, GraphQLLeafType, bool] | None
"""How to read a plain leaf field: its resolver, its scalar or enum type, nullable."""

_PLANS: dict[int, tuple[GraphQLField, Plan]] = {}


def leaf_plan(field: GraphQLField) -> Plan:
    """The short path of `field`, or None when it needs graphql-core's full one."""
    known = _PLANS.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    plan: Plan = None
    resolve = field.resolve
    basic = getattr(resolve, "_is_default", False) and (
        getattr(resolve, "__name__", "") == "_get_basic_result"
    )
    if basic and not field.args:
        kind = field.type
        nullable = not isinstance(kind, GraphQLNonNull)
        named = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
        if is_leaf_type(named):
            plan = (resolve, named, nullable)
    _PLANS[id(field)] = (field, plan)
    return plan


class ShortLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self._short:
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            if field is not None and not node.arguments:
                plan = leaf_plan(field)
                if plan is not None:
                    resolve, leaf, nullable = plan
                    try:
                        value = resolve(source, None)
                        if value is None:
                            if nullable:
                                return None
                        elif not isinstance(value, Exception):
                            coerced = leaf.coerce_output_value(value)
                            if coerced is not None and coerced is not Undefined:
                                return coerced
                    except Exception:  # reported by the full path below
                        pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
