"""The standbys of one API process (PARTNERBOOK_READ_DATABASE_URLS): opened and watched
(app/infra/replicas.py), and the subscription hub's reads moved onto them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from psycopg_pool import AsyncConnectionPool

from app.infra import database
from app.infra.read_routing import ReadRoute, RoutedPool, add_replicas, routed
from app.infra.replicas import ReplicaSet
from app.queries.change_feed import ChangeFeed
from app.queries.timeline_queries import TimelineRow
from app.settings import Settings

T = TypeVar("T")


async def open_replicas(pool: RoutedPool, settings: Settings) -> ReplicaSet | None:
    """The standbys, watched (none need be up now); None without any."""
    if not settings.read_database_urls:
        return None
    replicas = ReplicaSet(
        pool,
        [],
        max_lag_bytes=settings.replica_max_lag_bytes,
        wait_timeout=settings.replica_wait_timeout,
        check_interval=settings.replica_check_interval,
        connect_timeout=settings.connect_timeout,
    )
    options = database.read_options(settings.statement_timeout)
    add_replicas(
        replicas,
        settings.read_database_urls,
        settings.db_pool_size,
        {"autocommit": True, "options": options},
        settings.pool_timeout or settings.connect_timeout,
    )
    pool.replicas = replicas
    await replicas.start()
    return replicas


class StandbyFeed(ChangeFeed):
    """The hub's change feed, read from a standby that has replayed the stretch (the
    primary's WAL position, taken once the projections announced it), else from the
    primary. What the hub then loads about the rows (`enrich`) reads at the same
    position."""

    def __init__(self, pool: AsyncConnectionPool[Any], replicas: ReplicaSet) -> None:
        super().__init__(pool)
        self.replicas = replicas
        self.position = 0
        """The WAL position of the stretch read last."""

    async def between(self, after: int, upto: int) -> list[TimelineRow]:
        self.position = await self.replicas.primary_now()
        await self.replicas.replayed(self.position)  # else the primary serves it
        return await self.at_position(lambda: super(StandbyFeed, self).between(after, upto))

    async def at_position(self, read: Callable[[], Awaitable[T]]) -> T:
        """`read()` on a standby at `position`; again on the primary if it broke there."""
        with routed(ReadRoute(replica_ok=True, at_least=self.position)) as route:
            try:
                return await read()
            except Exception:
                if not route.failed:
                    raise
        with routed(ReadRoute(primary_only=True)):
            return await read()

    def enriching(
        self, enrich: Callable[[Sequence[TimelineRow]], Awaitable[T]]
    ) -> Callable[[Sequence[TimelineRow]], Awaitable[T]]:
        async def at_position(rows: Sequence[TimelineRow]) -> T:
            return await self.at_position(lambda: enrich(rows))

        return at_position
