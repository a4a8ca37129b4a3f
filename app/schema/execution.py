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

A field computed by a plain resolver (a method of the type with no arguments and no
`info`, synchronous, no field extensions: an edge's `cursor`, a partner's `address`) is
read the same way: strawberry's wrapper around it builds an `Info`, converts the (no)
arguments and chains the (no) extensions, ~10 µs a call.

An object value (an edge, its node, a partner's address and its country; each item of a
list of them) whose selected fields all take the short path is completed by running
those fields directly: graphql-core's own completion of an object goes through five
calls (`complete_value` twice for a non-null type, `complete_object_value`,
`collect_and_execute_subfields`, `execute_collected_subfields`) and first builds a
`GraphQLResolveInfo` for the field that returned it, none of which the short path uses.
It only applies where graphql-core's would do no more: no `@defer` below, and an
`is_type_of` that is strawberry's own (an isinstance check, which is made) or none.

What is worked out for a selection (its fields collected, its plan, how its items are
answered) lasts past the request when nothing in the operation can make it differ: the
same document (the parser's cache gives the same nodes to every request of a text), no
directive in it (`@skip`/`@include` take variables; `@defer`/`@stream` split it), and
the same role (a role that may not read a field never takes the short path to it). A
facets request's seven lists were ~115 µs of planning each time.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.schema.execution_lists import Shortcut, complete_objects, shortcut
from app.schema.execution_plans import (
    Entry,
    ObjectPlan,
    PerFieldSet,
    field_reader,
    gathered,
    leaf_plan,
    strawberry_type_check,
)
from app.schema.parsing import DOCUMENT_MEMOS

Plans = dict[tuple[int, tuple[int, ...], Hashable], tuple[Any, tuple[Any, ...], Shortcut]]
"""(type, field nodes, scope) by ids -> (type, nodes, shortcut): the type and nodes held
with the answer, so that no other object takes their ids while it is kept."""

_BY_OPERATION: dict[int, tuple[weakref.ref[OperationDefinitionNode], Plans | None]] = {}
"""Operation (by id) -> the plans that outlive its requests (None: it has directives).
An entry goes with its operation, when the parser's cache and the last request let go of
it: a client sending ever new documents makes the plans of each for its requests only."""


DOCUMENT_MEMOS.append(_BY_OPERATION.clear)


def _plans_of(operation: OperationDefinitionNode, fragments: Any) -> Plans | None:
    key = id(operation)
    known = _BY_OPERATION.get(key)
    if known is not None and known[0]() is operation:
        return known[1]

    # The dict as a closure's: at the interpreter's exit the module's names are None when
    # the last operations go ("Exception ignored in: gone", AttributeError).
    by_operation = _BY_OPERATION

    def gone(ref: weakref.ref[OperationDefinitionNode]) -> None:
        if by_operation.get(key, (None,))[0] is ref:
            del by_operation[key]

    # A fragment with variables of its own (graphql-core's experimental fragment
    # arguments) may be collected differently at each spread.
    plain = not _has_directives(operation.selection_set) and not any(
        fragment.variable_signatures
        or fragment.definition.directives
        or _has_directives(fragment.definition.selection_set)
        for fragment in fragments.values()
    )
    plans: Plans | None = {} if plain else None
    _BY_OPERATION[key] = (weakref.ref(operation, gone), plans)
    return plans


def _has_directives(selection_set: SelectionSetNode | None) -> bool:
    """Whether a selection in the set, or in those within it, has a directive (a walk
    with a stack of its own: no recursion however deep the text nests)."""
    pending = [selection_set]
    while pending:
        current = pending.pop()
        for selection in current.selections if current else ():
            if selection.directives:
                return True
            pending.append(getattr(selection, "selection_set", None))
    return False


class ShortLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        converter = getattr(
            getattr(self.schema, "_strawberry_schema", None), "schema_converter", None
        )
        # Strawberry's exception handlers live in the resolver wrapper: none, or no short path.
        handlers = getattr(converter, "_exception_handler_specs", None)
        self._short = (manager is None or not manager.middlewares) and not handlers
        self._object_plan = PerFieldSet(self._plan_object)
        self._objects: dict[tuple[int, int], tuple[Any, Any, Shortcut]] = {}
        self._plans: Plans | bool | None = False  # not looked up yet

    def plan_scope(self) -> Hashable:
        """What, besides the document, the short path's plans depend on (a subclass that
        refuses fields by role says its role: see `may_shortcut`)."""
        return None

    def _shortcut(self, return_type: Any, field_details_list: Any) -> Shortcut:
        """What `_object_of` says of values of `return_type` selected by
        `field_details_list`, worked out once per request, or once for all the requests
        of the same document and role (see the module docstring)."""
        key = (id(return_type), id(field_details_list))
        known = self._objects.get(key)
        if known is None:
            # The type and details are kept with the answer, so that their ids stay theirs.
            known = self._objects[key] = (
                field_details_list,
                return_type,
                self._lasting_shortcut(return_type, field_details_list),
            )
        return known[2]

    def _lasting_shortcut(self, return_type: Any, field_details_list: Any) -> Shortcut:
        plans = self._plans
        if plans is False:
            plans = self._plans = _plans_of(self.operation, self.fragments)
        if not isinstance(plans, dict):
            return self._object_of(return_type, field_details_list)
        nodes: tuple[FieldNode, ...] = tuple(d.node for d in field_details_list)
        key = (id(return_type), tuple(map(id, nodes)), self.plan_scope())
        known = plans.get(key)
        if known is None:
            known = plans[key] = (
                return_type,
                nodes,
                self._object_of(return_type, field_details_list),
            )
        return known[2]

    def _object_of(self, return_type: Any, field_details_list: Any) -> Shortcut:
        """(object type, its strawberry `is_type_of` or None, grouped field set, plan)
        when values of `return_type` take the short path; None when they do not."""
        named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if not isinstance(named, GraphQLObjectType):
            return None
        check = strawberry_type_check(named)
        if check is Undefined:
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(named, field_details_list)
        plan = None if new_defer_usages else self._object_plan(named, grouped_field_set)
        if plan is None or not self.may_shortcut(named, grouped_field_set):
            return None
        return shortcut(named, check, grouped_field_set, plan)

    def may_shortcut(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> bool:
        """Whether objects of this selection may skip `execute_fields` (a subclass that
        checks fields there says no for the selections it refuses something of)."""
        return True

    def _complete_object(
        self, return_type: Any, field_details_list: Any, path: Any, result: Any, context: Any
    ) -> Any:
        """`result` (not awaitable) completed as an object of `return_type` on the short
        path (see the module docstring), or Undefined when graphql-core's own path must
        do it."""
        if result is None or isinstance(result, Exception):
            return Undefined
        shortcut = self._shortcut(return_type, field_details_list)
        if shortcut is None:
            return Undefined
        named, check, _, plan, _ = shortcut
        if check is not None and not check(result, None):
            return Undefined
        return self._execute_planned(plan, named, result, path, context)

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects on the short path (a page's edges or nodes) completed in one
        loop; anything else, or an item that is unusual (null, an error, awaitable, of
        another type), as graphql-core completes it."""
        shortcut = self._shortcut(item_type, field_details_list) if self._short else None
        if shortcut is None or self.get_stream_usage(field_details_list, path) is not None:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        return complete_objects(
            self, shortcut, item_type, field_details_list, info, path, items, position_context
        )

    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._short:
            completed = self._complete_object(
                return_type, field_details_list, path, result, position_context
            )
            if completed is not Undefined:
                return completed
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan_object(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> ObjectPlan:
        plan: list[Entry] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            if field is None or node.arguments:
                return None
            leaf = leaf_plan(field)
            if leaf is not None:
                plan.append((response_name, leaf, None, field, field_details_list))
                continue
            read = field_reader(field)
            if read is None:
                return None
            plan.append((response_name, None, read, field, field_details_list))
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """An object whose selected fields are all plain leaves or plain reads (a page's
        partners with their names, emails, flags, address…) is read in one loop; a leaf
        that is unusual (see the module docstring) takes graphql-core's path alone."""
        if self._short:
            plan = self._object_plan(parent_type, grouped_field_set)
            if plan is not None:
                return self._execute_planned(
                    plan, parent_type, source_value, path, position_context
                )
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _execute_planned(
        self,
        plan: list[Entry],
        parent_type: GraphQLObjectType,
        source: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields` over a plan: the same results, awaited alike."""
        results: dict[str, Any] = {}
        awaiting: list[str] = []
        try:
            for response_name, leaf, read, field, details in plan:
                value = Undefined if leaf is None else leaf(source)
                if value is Undefined:
                    field_path = Path(path, response_name, parent_type.name)
                    if leaf is None:
                        value = self._complete_read(
                            field, read, parent_type, source, details, field_path, position_context
                        )
                    else:  # graphql-core's own path reports it
                        value = self.execute_field(
                            parent_type, source, details, field_path, position_context
                        )
                    if self.is_awaitable(value):
                        awaiting.append(response_name)
                results[response_name] = value
        except Exception:
            if awaiting:
                self.settle_in_background([results[name] for name in awaiting])
            raise
        if not awaiting:
            return results
        return gathered(results, awaiting)

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
                leaf = leaf_plan(field)
                if leaf is not None:
                    value = leaf(source)
                    if value is not Undefined:  # else reported by the full path below
                        return value
                elif (read := field_reader(field)) is not None:
                    return self._complete_read(
                        field, read, parent_type, source, field_details_list, path, position_context
                    )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _complete_read(
        self,
        field: GraphQLField,
        read: Any,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` for a field read by `read` (no arguments)."""
        return_type = field.type
        try:
            result = read(source)
            completed = (
                Undefined
                if self.is_awaitable(result)
                else self._complete_object(
                    return_type, field_details_list, path, result, position_context
                )
            )
            if completed is not Undefined:
                if self.is_awaitable(completed):
                    return self._await_completed(completed, return_type, field_details_list, path)
                return completed
            info = self.build_resolve_info(
                field, [d.node for d in field_details_list], parent_type, path
            )
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
