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

from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType

from app.schema.execution_plans import RowReads, answered_from_row, gathered, row_reads

if TYPE_CHECKING:
    from app.schema.execution import ShortLeafExecutionContext

Shortcut = tuple[GraphQLObjectType, Any, Any, Any] | None
"""(object type, strawberry's `is_type_of` or None, grouped field set, plan)."""


FromRows = tuple[type, RowReads | None, bool]
"""(a class, how its instances are answered quickly or None, whether from their rows)."""


def reads_of(plan: Any, kind: type) -> FromRows:
    """How instances of `kind` are answered from their rows, else from themselves."""
    reads = row_reads(plan, kind)
    if reads is not None:
        return kind, reads, True
    return kind, row_reads(plan, kind, "object_read"), False


def answered_quickly(from_rows: FromRows, item: Any) -> dict[str, Any] | None:
    """`item`'s answer from its row or from itself (`reads_of`), or None when it is of
    another class or unusual (graphql-core's path then answers it)."""
    kind, reads, on_row = from_rows
    if reads is None or type(item) is not kind:
        return None
    if not on_row:
        return answered_from_row(reads, item)
    state = item.__dict__
    if len(state) == 1 and "row" in state:  # nothing read or set yet
        return answered_from_row(reads, state["row"])
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
    named, check, _, plan = shortcut
    execute = context._execute_planned
    is_awaitable = context.is_awaitable
    completed: list[Any] = []
    awaiting: list[int] = []
    # Items of one class answered straight from their rows, or from themselves (see
    # `row_reads`): the class of the first usual item, once it has passed the checks below.
    from_rows: FromRows | None = None
    try:
        for index, item in enumerate(items):
            if from_rows is not None:
                answered = answered_quickly(from_rows, item)
                if answered is not None:
                    completed.append(answered)
                    continue
            item_path = path.add_key(index, None)
            usual = not (item is None or isinstance(item, Exception) or is_awaitable(item))
            if usual and (check is None or check(item, None)):
                if from_rows is None:
                    from_rows = reads_of(plan, type(item))
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
