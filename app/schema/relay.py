"""Relay building blocks: the Node interface, generic connections and page info."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

import strawberry
from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)

from app.domain.messages import Message
from app.queries.keyset import MAX_PAGE, BadCursor
from app.schema.descriptions import RECORD, described
from app.schema.errors import ClientError

DEFAULT_PAGE = 50
NodeT = TypeVar("NodeT")
T = TypeVar("T")


@strawberry.interface(description="An object with a global id.")
class Node:
    id: strawberry.ID = strawberry.field(description=RECORD["id"])


@strawberry.type(description="Where a page sits in its list, and the cursors to page on.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More records follow this page.")
    has_previous_page: bool = strawberry.field(description="Records come before this page.")
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first record (for `before`); null when empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last record (for `after`); null when empty."
    )


@strawberry.type(description="A record of a page, with its cursor.")
class Edge(Generic[NodeT]):
    node: NodeT = strawberry.field(description="The record.")
    cursors: strawberry.Private[Sequence[str]]
    index: strawberry.Private[int]

    @strawberry.field(description="Where this record is in the list: pass it as `after`/`before`.")
    def cursor(self) -> str:
        return self.cursors[self.index]


Counter = Callable[[], Awaitable[int | tuple[int, bool]]]
"""Counts the records of a list: exactly, or (count, is_estimate)."""


@strawberry.type(description="A page of a list (Relay connection), with its total count.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The page's records, with cursors.")
    page_info: PageInfo = strawberry.field(description="Whether there is more, and the cursors.")
    count: strawberry.Private[Counter]
    counted: strawberry.Private[tuple[int, bool] | None] = None

    async def resolve_count(self) -> tuple[int, bool]:
        if self.counted is None:
            value = await self.count()
            self.counted = value if isinstance(value, tuple) else (value, False)
        return self.counted

    @strawberry.field(description="How many records match, over all pages.")
    async def total_count(self) -> int:
        return (await self.resolve_count())[0]

    @strawberry.field(
        description="True when totalCount is the planner's estimate (above 10,000 matches)."
    )
    async def total_count_is_estimate(self) -> bool:
        return (await self.resolve_count())[1]

    @strawberry.field(description="The records of this page (the nodes of `edges`).")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@described(
    {
        "ASC": "Smallest (or A, or oldest) first.",
        "DESC": "Largest (or Z, or newest) first.",
    }
)
@strawberry.enum(description="Which way to sort.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def check_page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> None:
    """`first`/`last` are 0..100; paging both ways at once is refused."""
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise ClientError(
                Message(
                    "`%(name)s` must be between 0 and %(max_page)s", name=name, max_page=MAX_PAGE
                ),
                "LIMIT_EXCEEDED",
            )
    if first is not None and last is not None:
        raise ClientError("give `first` or `last`, not both", "BAD_REQUEST")


def make_connection(
    nodes: list[NodeT],
    cursors: Sequence[str],
    *,
    has_next_page: bool,
    has_previous_page: bool,
    count: Counter,
) -> Connection[NodeT]:
    return Connection(
        edges=[Edge(node=node, cursors=cursors, index=i) for i, node in enumerate(nodes)],
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        count=count,
    )


class CountedPage(Protocol):
    """A keyset page of a read model that can count its whole list."""

    @property
    def rows(self) -> Sequence[Any]: ...
    @property
    def cursors(self) -> Sequence[str]: ...
    @property
    def has_next_page(self) -> bool: ...
    @property
    def has_previous_page(self) -> bool: ...
    @property
    def count_query(self) -> Any: ...


def page_connection(
    page: CountedPage, build: Callable[[Any], NodeT], count: Callable[[Any], Awaitable[int]]
) -> Connection[NodeT]:
    """The page as a connection; `count(page.count_query)` answers `totalCount`."""
    return make_connection(
        [build(row) for row in page.rows],
        page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        count=lambda: count(page.count_query),
    )


COUNT_FIELDS = frozenset({"totalCount", "totalCountIsEstimate"})


def selects_count(info: Any) -> bool:
    """Whether the connection a resolver answers has `totalCount` (or whether it is an
    estimate) in its selection, directly or through fragments, and not left out by
    `@skip`/`@include`. Reads graphql-core's own nodes (strawberry's `selected_fields`
    converts the whole selection below the field, the page's nodes too, on every call).
    A count started here that no field awaits would still run after the answer, so a
    directive that cannot be read counts as leaving the field out: the field, if it is
    executed after all, then counts as it did before, after the page."""
    raw = info._raw_info
    pending: list[SelectionSetNode | None] = [node.selection_set for node in raw.field_nodes]
    spread: set[str] = set()
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections if selection_set else ():
            if selection.directives and not _included(selection, raw.variable_values):
                continue
            if isinstance(selection, FieldNode):
                if selection.name.value in COUNT_FIELDS:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                fragment = raw.fragments.get(selection.name.value)
                pending.append(fragment.selection_set if fragment else None)
    return False


def _included(node: Any, variables: Any) -> bool:
    """Not left out by `@skip(if: true)` or `@include(if: false)`, a literal or a
    variable (validation made both Booleans); anything else counts as left out."""
    values = getattr(variables, "coerced", variables) or {}
    for directive in node.directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition = next((a.value for a in directive.arguments if a.name.value == "if"), None)
        holds: object
        if isinstance(condition, BooleanValueNode):
            holds = condition.value
        elif isinstance(condition, VariableNode):
            holds = values.get(condition.name.value)
        else:
            return False
        if not isinstance(holds, bool) or holds == (name == "skip"):
            return False
    return True


def count_beside(counting: Awaitable[T]) -> asyncio.Future[T]:
    """`counting` started now, to run beside the page's statement on a connection of its
    own: a page with its `totalCount` then waits for the longer of the two statements,
    not for both one after the other. Its error, if no field awaits it, is retrieved
    (not logged as never retrieved); cancel it when the page fails."""
    task = asyncio.ensure_future(counting)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return task


async def read_page(fetch: Awaitable[T]) -> T:
    """The page a read model answers; a cursor it did not issue is the client's error."""
    try:
        return await fetch
    except BadCursor as error:
        raise ClientError(str(error), "BAD_REQUEST") from None
