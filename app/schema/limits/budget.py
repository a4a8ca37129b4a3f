"""What an operation spends as it runs, where the walk could not see it beforehand.

The walk counts the filters a document sends, each as often as its field runs, against
`Limits.max_filter_leaves`. A segment's stored filter is not in the document: it runs each
time the segment's members or count are read (8 aliases of one stored 500-leaf filter ran
4,000 leaves, 2.4 to 9.6 s, at a cost of 8). The Guard hands each operation what its walk
counted (`FILTER_LEAVES`); a stored filter spends its leaves from there when it runs, or
is refused.

So with nodes (`NODES`): the walk counts a partner's tags as 20 (`TAGS_COUNTED`), a guess,
as nothing in the domain bounds them; the tags a partner has past those spend from what
the walk left of `Limits.max_cost` as they are read."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from strawberry.types.graphql import OperationType

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

    from app.schema.limits.rules import Limits


@dataclass
class Budget:
    spent: int
    most: int

    def spend(self, leaves: int) -> bool:
        """Whether `leaves` more fit; they are counted when they do."""
        if self.spent + leaves > self.most:
            return False
        self.spent += leaves
        return True


FILTER_LEAVES: ContextVar[Budget | None] = ContextVar("partnerbook_filter_leaves", default=None)
"""The running operation's filter leaves (set for its task by the Guard's `on_execute`; the
tasks of its fields copy the reference, so they spend from one budget)."""

NODES: ContextVar[Budget | None] = ContextVar("partnerbook_nodes", default=None)
"""The running operation's nodes (its walked cost, against `Limits.max_cost`), likewise."""


def start(context: ExecutionContext, limits: Limits, leaves: int, cost: int) -> None:
    """The running operation's budgets, from what its walk counted, for its task (not
    reset: a subscription's hooks may end in another context). None for a subscription:
    its walk counts one event's answer, and each event is answered on its own."""
    try:
        once = context.operation_type != OperationType.SUBSCRIPTION
    except Exception:  # no operation to run: the executor says so
        once = True
    FILTER_LEAVES.set(Budget(leaves, limits.max_filter_leaves) if once else None)
    NODES.set(Budget(cost, limits.max_cost) if once else None)


def refusal(budget: ContextVar[Budget | None], amount: int) -> int | None:
    """The budget's most when `amount` more (if any) do not fit in it, else None (then
    they are counted)."""
    found = budget.get()
    if amount <= 0 or found is None or found.spend(amount):
        return None
    return found.most
