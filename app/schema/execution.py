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

import operator
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

Plan = tuple[Any, GraphQLLeafType, bool] | None
"""How to read a plain leaf field: a function of the source object, its scalar or enum
type, nullable."""

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
            plan = (_reader(field, resolve), named, nullable)
    _PLANS[id(field)] = (field, plan)
    return plan


def _reader(field: GraphQLField, resolve: Any) -> Any:
    """A one-argument function reading the field from its source object:
    `attrgetter(name)` when strawberry's basic resolver would only do
    `getattr(source, name)` (the field's default resolver, no resolver of its own; the
    basic resolver takes three Python calls to get there, ~1 µs a field), else a call of
    that resolver."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if (
        isinstance(definition, StrawberryField)
        and definition.base_resolver is None
        and definition.default_resolver is getattr
        and definition.python_name
    ):
        return operator.attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


T = TypeVar("T")


class PerFieldSet(Generic[T]):
    """What an execution works out once per grouped field set: graphql-core collects the
    selection set of a list's items once (memoized per request), so the 50 nodes of a
    page share one grouped field set, and one answer. Keyed by identity; the set is held
    with its answer, so another cannot take its id while it is remembered."""

    def __init__(self, work_out: Callable[[GraphQLObjectType, Any], T]) -> None:
        self._work_out = work_out
        self._known: dict[int, tuple[Any, T]] = {}

    def __call__(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> T:
        known = self._known.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        answer = self._work_out(parent_type, grouped_field_set)
        self._known[id(grouped_field_set)] = (grouped_field_set, answer)
        return answer


ObjectPlan = list[tuple[str, Any, GraphQLLeafType, bool]] | None
"""Every field of a selection set, when all of them are plain leaves: (response name,
reader, leaf type, nullable)."""


class ShortLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares
        self._object_plan = PerFieldSet(self._plan_object)

    def _plan_object(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> ObjectPlan:
        plan: ObjectPlan = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            leaf = leaf_plan(field) if field is not None and not node.arguments else None
            if leaf is None or plan is None:
                plan = None
                break
            plan.append((response_name, *leaf))
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """An object whose selected fields are all plain leaves (a page's partners with
        their names, emails, flags…) is read in one loop. Anything unusual (see the module
        docstring) sends the whole object through graphql-core's path instead."""
        if self._short:
            plan = self._object_plan(parent_type, grouped_field_set)
            if plan is not None:
                results: dict[str, Any] = {}
                try:
                    for response_name, read, leaf, nullable in plan:
                        value = read(source_value)
                        if value is None:
                            if not nullable:
                                break
                            results[response_name] = None
                            continue
                        if isinstance(value, Exception):
                            break
                        coerced = leaf.coerce_output_value(value)
                        if coerced is None or coerced is Undefined:
                            break
                        results[response_name] = coerced
                    else:
                        return results
                except Exception:  # reported by the full path below
                    pass
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

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
                    read, leaf, nullable = plan
                    try:
                        value = read(source)
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
