"""A list of objects on the short path of app/schema/execution.py, completed in one loop.

graphql-core completes each item of a list through `complete_list_item_value`,
`complete_value` (twice for a non-null type), `complete_object_value`,
`collect_and_execute_subfields`, `execute_collected_subfields` and `execute_fields`:
for a page's 50 edges and 50 nodes that is ~700 calls that only pass the item along.
Here each item whose selection is all short (the `Shortcut` worked out once per request)
is run directly, with graphql-core's handling kept: an error in an item makes it null
(or its list, for a non-null item type) at the item's path; awaitable results are
awaited together, as graphql-core awaits them. The items after the first of their class
are answered in one step when every selected field is a plain leaf: from their rows (a
page's partners) or from themselves (a facet's counts); an item with an unusual value
takes the way above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, GraphQLObjectType

from app.schema.execution_plans import RowReads, answered_from_row, gathered, row_reads

if TYPE_CHECKING:
    from app.schema.execution import ShortLeafExecutionContext

Quick = Callable[[Any], "dict[str, Any] | None"]
"""An item's answer in one step, or None when it is of another class or unusual
(graphql-core's path then answers it)."""

Shortcut = tuple[GraphQLObjectType, Any, Any, Any, dict[type, Quick]] | None
"""(object type, strawberry's `is_type_of` or None, grouped field set, plan, how the
items of each class are answered in one step, worked out when first needed)."""


def shortcut(named: GraphQLObjectType, check: Any, grouped_field_set: Any, plan: Any) -> Shortcut:
    return named, check, grouped_field_set, plan, {}


def reads_of(plan: Any, kind: type) -> Quick:
    """How instances of `kind` are answered from their rows, else from themselves: one
    function per list, with the checks of the usual case in it (two calls an item and a
    keyword-checked zip were ~1,800 of the ~13,000 instructions a facet value cost)."""
    reads = row_reads(plan, kind)
    if reads is not None:
        return _from_rows(kind, reads)
    reads = row_reads(plan, kind, "object_read")
    if reads is None:
        return _never
    names, _, exacts, _, ints, together = reads
    if together is None:
        return lambda item: answered_from_row(reads, item) if type(item) is kind else None
    types = tuple(exacts)

    def from_attributes(item: Any) -> dict[str, Any] | None:
        if type(item) is not kind:
            return None
        try:
            values = together(item)
        except Exception:  # reported by the full path
            return None
        usual = tuple(map(type, values)) == types
        for index in ints:
            if usual and not GRAPHQL_MIN_INT <= values[index] <= GRAPHQL_MAX_INT:
                usual = False
        if usual:
            # One plan gives both, so they have the same length; `strict=` would parse
            # a keyword on every item.
            return dict(zip(names, values))  # noqa: B905
        return answered_from_row(reads, item)

    return from_attributes


def _from_rows(kind: type, reads: RowReads) -> Quick:
    def from_row(item: Any) -> dict[str, Any] | None:
        if type(item) is not kind:
            return None
        state = item.__dict__
        if len(state) == 1 and "row" in state:  # nothing read or set yet
            return answered_from_row(reads, state["row"])
        return None

    return from_row


def _never(item: Any) -> None:
    return None


def complete_objects(
    context: ShortLeafExecutionContext,
    shortcut: Any,
    item_type: Any,
    field_details_list: Any,
    info: Any,
    path: Any,
    items: Any,
    position_context: Any,
) -> Any:
    named, check, _, plan, quick = shortcut
    execute = context._execute_planned
    is_awaitable = context.is_awaitable
    completed: list[Any] = []
    awaiting: list[int] = []
    # Items of one class answered straight from their rows, or from themselves (see
    # `row_reads`): the class of the first usual item, once it has passed the checks below.
    from_rows: Quick | None = None
    try:
        for index, item in enumerate(items):
            if from_rows is not None:
                answered = from_rows(item)
                if answered is not None:
                    completed.append(answered)
                    continue
            item_path = path.add_key(index, None)
            usual = not (item is None or isinstance(item, Exception) or is_awaitable(item))
            if usual and (check is None or check(item, None)):
                if from_rows is None:
                    kind = type(item)
                    from_rows = quick.get(kind)
                    if from_rows is None:
                        from_rows = quick[kind] = reads_of(plan, kind)
                try:
                    value = execute(plan, named, item, item_path, position_context)
                except Exception as raw_error:
                    context.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    value = None
                if is_awaitable(value):
                    value = context._await_completed(
                        value, item_type, field_details_list, item_path
                    )
                    awaiting.append(index)
                completed.append(value)
            elif context.complete_list_item_value(
                item, completed, item_type, field_details_list, info, item_path, position_context
            ):
                awaiting.append(index)
    except Exception:
        if awaiting:
            context.settle_in_background([completed[index] for index in awaiting])
        raise
    if not awaiting:
        return completed
    return gathered(completed, awaiting)
