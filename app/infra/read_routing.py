"""Which server a read goes to: the read pool hands out a standby's connection to the
reads of a GraphQL query (marked by `RouteQueries`), and the primary's to everything
else (commands, key checks, webhooks, the reads a mutation makes). A query whose standby
connection breaks is marked `failed`, so the endpoint runs it again on the primary."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.infra.database import Database
from app.infra.pool_check import check_unless_fresh
from app.infra.positions import ProjectionWaiter
from app.infra.read_share import KeyShares
from app.infra.replicas import Replica, ReplicaSet, replica_name

log = logging.getLogger(__name__)

REPLICA_ACQUIRE_SECONDS = 1.0
"""How long a read waits for a standby's connection before it goes to the primary."""


@dataclass
class ReadRoute:
    """One operation's route, shared by the tasks it spawns (DataLoader batches)."""

    replica_ok: bool = False
    primary_only: bool = False
    at_least: int = 0
    """A standby must have replayed this WAL position too (a read that needs it)."""
    failed: bool = False
    """A standby connection broke under it: run it again on the primary."""
    query: bool = False
    """The operation is a query (it changes nothing: it may run again)."""
    conflicted: bool = False
    """A query's statement was aborted by a lock conflict (a deadlock with a rebuild's
    swap or a start that alters tables): run it again."""


READ_ROUTE: ContextVar[ReadRoute | None] = ContextVar("partnerbook_read_route", default=None)


@contextlib.contextmanager
def routed(route: ReadRoute) -> Iterator[ReadRoute]:
    token = READ_ROUTE.set(route)
    try:
        yield route
    finally:
        READ_ROUTE.reset(token)


class RouteQueries(SchemaExtension):
    """Lets the reads of a query operation go to a standby (never a mutation's or a
    subscription's)."""

    def on_execute(self) -> Iterator[None]:
        route = READ_ROUTE.get()
        is_query = self.execution_context.operation_type == OperationType.QUERY
        if route is not None and is_query:
            route.query = True
            route.replica_ok = not route.primary_only
        yield
        if route is not None:
            route.replica_ok = route.query = False


def _is_standby_failure(error: BaseException) -> bool:
    """A broken connection, a server shutting down, or a query cancelled by a conflict
    with recovery: the same read may succeed on the primary."""
    return isinstance(error, psycopg.OperationalError | psycopg.errors.SerializationFailure)


def _is_lock_conflict(error: BaseException) -> bool:
    """A statement PostgreSQL aborted to break a deadlock, or for a serialization
    conflict: the same read, run again, finds the locks gone."""
    return isinstance(error, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)


class RoutedPool(AsyncConnectionPool[Any]):
    """The read pool: the primary's connections, or a standby's for a routed query."""

    replicas: ReplicaSet | None = None
    shares = KeyShares(None)
    """Each API key's share of the pool (app/infra/read_share.py), set when opened."""

    @contextlib.asynccontextmanager
    async def primary(self, timeout: float | None = None) -> AsyncIterator[Any]:  # noqa: ASYNC109
        """A connection to the primary, whatever the request's route (the projections'
        positions, which a standby may show late)."""
        async with super().connection(timeout) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Any]:  # noqa: ASYNC109 (psycopg_pool's signature)
        share = self.shares.held(self.timeout if timeout is None else timeout)
        async with share, self._routed(timeout) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _routed(self, timeout: float | None) -> AsyncIterator[Any]:  # noqa: ASYNC109
        route = READ_ROUTE.get()
        replica = None
        if self.replicas is not None and route is not None and route.replica_ok:
            replica = self.replicas.choose(route.at_least)
        if replica is None:
            async with super().connection(timeout) as conn:
                try:
                    yield conn
                except Exception as error:
                    if route is not None and route.query and _is_lock_conflict(error):
                        route.conflicted = True
                    raise
            return
        async with contextlib.AsyncExitStack() as stack:
            try:
                conn = await stack.enter_async_context(
                    replica.pool.connection(timeout=REPLICA_ACQUIRE_SECONDS)
                )
            except (psycopg.Error, PoolTimeout) as error:
                assert self.replicas is not None
                if not isinstance(error, PoolTimeout):  # busy is not away: only spill over
                    self.replicas.failed(replica, error)
                conn = await stack.enter_async_context(super().connection(timeout))
                yield conn
                return
            try:
                yield conn
            except Exception as error:
                if _is_standby_failure(error) and route is not None:
                    route.failed = True
                    if conn.closed or conn.broken:
                        assert self.replicas is not None
                        self.replicas.failed(replica, error)
                raise


class ReplicatedReadSide:
    """The mutations' read side with standbys: the projections first, then the
    standbys' replay of the projections' commit (`ReplicaSet.show`)."""

    def __init__(self, waiter: ProjectionWaiter, replicas: ReplicaSet) -> None:
        self.waiter = waiter
        self.replicas = replicas

    @property
    def position(self) -> int:
        return self.waiter.position

    async def wait_for(self, position: int | None, within: float) -> bool:
        if not await self.waiter.wait_for(position, within):
            return False
        if position is None:
            return True
        try:
            lsn = await self.replicas.primary_now()
        except Exception:
            # Without the position, no standby can be trusted to show the change.
            log.warning("cannot read the primary's WAL position; reads go to the primary")
            self.replicas.unsure = True
            return True
        await self.replicas.show(lsn)
        return True


def add_replicas(
    replicas: ReplicaSet, urls: list[str], pool_size: int, kwargs: dict[str, Any], timeout: float
) -> None:
    """One pool per standby URL (opened by `ReplicaSet.start`), with the read pool's
    connection options."""
    for url in urls:
        db = Database.from_url(url)
        found: list[Replica] = []

        async def configure(conn: Any, found: list[Replica] = found) -> None:
            await replicas.check_new_connection(found[0], conn)

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            db.conninfo(application_name="partnerbook-read"),
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs=kwargs,
            timeout=timeout,
            check=check_unless_fresh,
            configure=configure,
        )
        found.append(Replica(replica_name(db), db, pool))
        replicas.replicas.append(found[0])
