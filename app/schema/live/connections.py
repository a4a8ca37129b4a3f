"""The WebSocket connections each API key holds in this process, held to
PARTNERBOOK_MAX_CONNECTIONS_PER_KEY: each connection may hold
`max_subscriptions_per_connection` subscriptions and their queues, and one key could
open any number of connections (app/graphql_view.py takes a slot at `connection_init`
and gives it back when the connection ends)."""

from __future__ import annotations

import uuid
from collections import Counter

CLOSE_CODE = 4429
"""graphql-transport-ws close code of a `connection_init` past the cap (the protocol's
code for too many, as for a second `connection_init`)."""
REFUSAL_CODE = "RATE_LIMITED"
"""The error code of a legacy graphql-ws `connection_error` past the cap."""


class KeyConnections:
    """Slots per key: `take` one for a connection (its context), `give_back` when it ends
    (the handlers' `shutdown`/`cleanup`, which run however the connection ends, even
    cancelled). A connection holds at most one slot, however often it asks."""

    def __init__(self) -> None:
        self._open: Counter[uuid.UUID] = Counter()
        self._held: dict[int, uuid.UUID] = {}
        """The key of each holder of a slot, by the holder's id (alive until given back)."""

    def take(self, holder: object, key_id: uuid.UUID, limit: int) -> bool:
        """False when `key_id` already has `limit` connections (other than `holder`'s)."""
        if id(holder) in self._held:
            return True
        if self._open[key_id] >= limit:
            return False
        self._open[key_id] += 1
        self._held[id(holder)] = key_id
        return True

    def give_back(self, holder: object) -> None:
        """Frees `holder`'s slot, if it has one (more calls do nothing)."""
        key_id = self._held.pop(id(holder), None)
        if key_id is None:
            return
        self._open[key_id] -= 1
        if self._open[key_id] <= 0:
            del self._open[key_id]

    def open_count(self, key_id: uuid.UUID | None = None) -> int:
        """Connections holding a slot: of `key_id`, or of every key."""
        return self._open[key_id] if key_id is not None else sum(self._open.values())

    def __repr__(self) -> str:
        return f"KeyConnections({dict(self._open)})"
