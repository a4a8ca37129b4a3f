"""A cheaper health check for the connection pools (the read pool, and the event store's).

`check_connection` sends an empty query every time a connection is handed out: a network
round trip per request, as long as the query itself for a `partner(id)` read, and one per
statement of the event store (two for loading an aggregate). A connection that answered
a check moments ago is handed out again without one; it is checked once its last check
is older than `FRESH_SECONDS`, or at once when psycopg knows it is broken. So a database
restart costs at most the queries sent on connections checked in the second before it.

Not done with the pools' `reset` callback (noting when a connection comes back): with a
`reset`, psycopg_pool hands every returned connection to a worker first, and the next
request waits for that hand-over (~10 ms for the event store's thread pool).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.pq import ConnStatus
from psycopg_pool import AsyncConnectionPool, ConnectionPool

FRESH_SECONDS = 1.0

_checked: weakref.WeakKeyDictionary[AsyncConnection[Any] | Connection[Any], float] = (
    weakref.WeakKeyDictionary()
)


def _recently_checked(conn: AsyncConnection[Any] | Connection[Any]) -> bool:
    checked = _checked.get(conn)
    return (
        checked is not None
        and time.monotonic() - checked < FRESH_SECONDS
        and conn.pgconn.status == ConnStatus.OK
    )


async def check_unless_fresh(conn: AsyncConnection[Any]) -> None:
    """The async pool's `check`: a round trip at most once a second per connection."""
    if not _recently_checked(conn):
        await AsyncConnectionPool.check_connection(conn)
        _checked[conn] = time.monotonic()


def check_unless_fresh_sync(conn: Connection[Any]) -> None:
    """`check_unless_fresh` for a (threaded) `ConnectionPool`."""
    if not _recently_checked(conn):
        ConnectionPool.check_connection(conn)
        _checked[conn] = time.monotonic()


def check_lazily(pool: ConnectionPool[Any]) -> bool:
    """Gives a pool that checks every connection it hands out (eventsourcing's
    `POSTGRES_PRE_PING`) the cheaper check instead. eventsourcing builds its pool itself
    and takes no `check` of ours, so it is set on the pool it built (psycopg_pool keeps it
    as `_check`; tests/test_pool_check.py guards that). Returns whether it did."""
    if getattr(pool, "_check", None) is None:
        return False
    pool._check = check_unless_fresh_sync
    return True
