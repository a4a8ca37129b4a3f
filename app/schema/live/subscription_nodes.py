"""The nodes the live subscriptions of each API key may answer for one event, in this
process (PARTNERBOOK_SUBSCRIPTION_NODES_PER_KEY).

Every event is answered once per subscription that follows it, on this process's event
loop. The limits on connections (20 a key) and operations (100 a connection) allowed one
viewer 2,000 `partnerChanged` subscriptions: each partner update became 2,000 answers,
~1.4 s of the loop, and another client's `partner(id)` waited up to 1.3 s. So each
subscription takes, when it starts, one node plus what the walk says one event's answer
may return (app/schema/limits), from its key's budget, and gives them back when it ends
however it ends (the client's `complete` gives them back at once). One that does not fit
is refused with LIMIT_EXCEEDED before it registers anything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLFormattedError, GraphQLSchema, OperationType

from app import locales
from app.domain.messages import Message
from app.schema.context import Context
from app.schema.lane import walk_of
from app.schema.limits import Limits

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@dataclass(eq=False)
class Reservation:
    """What one subscription holds of its key's budget; given back once."""

    key: str
    nodes: int
    given_back: bool = False


@dataclass
class SubscriptionNodes:
    """The budget of every key's live subscriptions in this process, and how a
    subscription's nodes are counted (`nodes_of`, with the API's limits)."""

    most: int
    limits: Limits
    max_tokens: int
    schema: Callable[[], GraphQLSchema]
    held: Counter[str] = field(default_factory=Counter)

    def take(self, context: Context, payload: Any) -> Reservation | GraphQLFormattedError | None:
        """The nodes a subscription `payload` of the connection takes, held until
        `give_back`; the error that refuses it when they do not fit; None when it is no
        subscription this counts (not one, not walkable: the executor answers it)."""
        principal = context.principal
        if principal is None:
            return None
        nodes = nodes_of(self.schema(), payload, self.limits, self.max_tokens)
        if nodes is None:
            return None
        key = str(principal.key_id)
        held = self.held[key]
        if held + nodes > self.most:
            message = Message(
                "this subscription answers up to %(nodes)s nodes for each event, and this "
                "API key's live subscriptions may answer %(most)s in all (%(left)s left); "
                "end one of them, or select less",
                nodes=nodes,
                most=self.most,
                left=self.most - held,
            )
            text = locales.translate(message, context.locale)
            return {"message": text, "extensions": {"code": LIMIT_EXCEEDED}}
        self.held[key] = held + nodes
        return Reservation(key, nodes)

    def give_back(self, reservation: Reservation) -> None:
        if reservation.given_back:
            return
        reservation.given_back = True
        left = self.held[reservation.key] - reservation.nodes
        if left > 0:
            self.held[reservation.key] = left
        else:
            self.held.pop(reservation.key, None)


def nodes_of(schema: Any, payload: Any, limits: Limits, max_tokens: int) -> int | None:
    """The nodes a subscription operation takes (1 plus its walk's cost), or None when
    the payload is no subscription this can walk (the executor answers it)."""
    walked = walk_of(schema, payload, limits, max_tokens)
    if walked is None or walked.operation != OperationType.SUBSCRIPTION:
        return None
    return 1 + walked.cost
