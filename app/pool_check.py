"""A cheaper health check for the read pool.

`AsyncConnectionPool.check_connection` sends an empty query every time a connection is
handed out: a network round trip per request, as long as the query itself for a
`partner(id)` read. A connection given back moments ago was working moments ago, so it is
only checked once it has been idle for longer than `FRESH_SECONDS` (a database restart
breaks idle connections, which are then still replaced before a query sees them).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg.pq import ConnStatus
from psycopg_pool import AsyncConnectionPool

FRESH_SECONDS = 1.0

_returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def check_unless_fresh(conn: AsyncConnection[Any]) -> None:
    """The pool's `check`: skips the round trip for a connection returned < 1 s ago."""
    returned = _returned.pop(conn, None)
    if (
        returned is not None
        and time.monotonic() - returned < FRESH_SECONDS
        and conn.pgconn.status == ConnStatus.OK
    ):
        return
    await AsyncConnectionPool.check_connection(conn)


async def note_returned(conn: AsyncConnection[Any]) -> None:
    """The pool's `reset`: remembers when the connection came back in a clean state."""
    _returned[conn] = time.monotonic()
