"""The per-request context: services, who is asking, the request id, fresh DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
import strawberry
from strawberry.dataloader import DataLoader

from app.application import Partnerbook
from app.database import Outage, is_unavailable
from app.projections.api_keys import KeyStore, Principal
from app.projections.catalog_queries import CatalogDirectory, CatalogRow, TagRow
from app.projections.change_feed import ChangeFeed
from app.projections.partner_queries import PartnerDirectory, PartnerRow
from app.projections.positions import ProjectionWaiter
from app.projections.relationship_queries import (
    ActivityRow,
    DocumentRow,
    OpportunityRow,
    RelationshipDirectory,
    Stats,
)
from app.schema.live.hub import SubscriptionHub
from app.settings import Settings

T = TypeVar("T")


@dataclass
class Services:
    """What every request may use; built once by `create_app()`."""

    settings: Settings
    app: Partnerbook
    directory: PartnerDirectory
    catalogs: CatalogDirectory
    waiter: ProjectionWaiter
    limiter: anyio.CapacityLimiter
    relationships: RelationshipDirectory
    feed: ChangeFeed
    hub: SubscriptionHub
    keys: KeyStore | None = None
    """API key look-ups (None: no authentication possible, every request refused)."""
    outage: Outage | None = None
    """Fails event-store work fast while the database is known to be away."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """What time it is; tests set it to move activities from PLANNED to TODAY to OVERDUE."""


@dataclass
class Context:
    services: Services
    request_id: str
    actor: str
    partners: DataLoader[UUID, PartnerRow | None] = field(init=False)
    catalog_entries: DataLoader[UUID, CatalogRow | None] = field(init=False)
    tags: DataLoader[UUID, TagRow | None] = field(init=False)
    partner_tags: DataLoader[UUID, list[TagRow]] = field(init=False)
    activities: DataLoader[UUID, ActivityRow | None] = field(init=False)
    documents: DataLoader[UUID, DocumentRow | None] = field(init=False)
    opportunities: DataLoader[UUID, OpportunityRow | None] = field(init=False)
    opportunities_of: DataLoader[UUID, list[OpportunityRow]] = field(init=False)
    stats: DataLoader[UUID, Stats] = field(init=False)
    long_lived: bool = False
    """A WebSocket connection's context: no caching, and the clock read for each event."""
    disconnect: Callable[[int, str], Awaitable[None]] | None = None
    """Closes the WebSocket connection (code, reason), for one that cannot keep up."""
    principal: Principal | None = None
    """The API key's holder; None refuses the request (UNAUTHENTICATED)."""
    auth_error: str | None = None
    auth_failure: Exception | None = None
    """The database could not be asked about the key (it is down): DATABASE_UNAVAILABLE."""
    connection_params: dict[str, Any] | None = None
    key_watch: asyncio.Task[None] | None = None
    """A WebSocket connection's watch on its key (closes it once the key is revoked)."""
    _now: datetime = field(init=False)

    def __post_init__(self) -> None:
        """Fresh loaders per request: batched look-ups, no cache across requests."""
        services = self.services
        self._now = services.clock()
        relationships = services.relationships

        async def partners(ids: Sequence[UUID]) -> list[PartnerRow | None]:
            rows = await services.directory.get_many(ids)
            return [rows.get(i) for i in ids]

        async def entries(ids: Sequence[UUID]) -> list[CatalogRow | None]:
            rows = await services.catalogs.entries(ids)
            return [rows.get(i) for i in ids]

        async def tags(ids: Sequence[UUID]) -> list[TagRow | None]:
            rows = await services.catalogs.tags(ids)
            return [rows.get(i) for i in ids]

        async def partner_tags(ids: Sequence[UUID]) -> list[list[TagRow]]:
            found = await services.catalogs.tags_of_partners(ids)
            return [found.get(i, []) for i in ids]

        async def activities(ids: Sequence[UUID]) -> list[ActivityRow | None]:
            rows = await relationships.activities(ids, self.now)
            return [rows.get(i) for i in ids]

        async def documents(ids: Sequence[UUID]) -> list[DocumentRow | None]:
            rows = await relationships.documents(ids)
            return [rows.get(i) for i in ids]

        async def opportunities(ids: Sequence[UUID]) -> list[OpportunityRow | None]:
            rows = await relationships.opportunities(ids)
            return [rows.get(i) for i in ids]

        async def opportunities_of(ids: Sequence[UUID]) -> list[list[OpportunityRow]]:
            found = await relationships.opportunities_of(ids)
            return [found.get(i, []) for i in ids]

        async def stats(ids: Sequence[UUID]) -> list[Stats]:
            found = await relationships.stats(ids, self.now)
            return [found[i] for i in ids]

        self.activities = DataLoader(load_fn=activities, cache=not self.long_lived)
        self.documents = DataLoader(load_fn=documents, cache=not self.long_lived)
        self.opportunities = DataLoader(load_fn=opportunities, cache=not self.long_lived)
        self.opportunities_of = DataLoader(load_fn=opportunities_of, cache=not self.long_lived)
        self.stats = DataLoader(load_fn=stats, cache=not self.long_lived)
        self.partners = DataLoader(load_fn=partners, cache=not self.long_lived)
        self.catalog_entries = DataLoader(load_fn=entries, cache=not self.long_lived)
        self.tags = DataLoader(load_fn=tags, cache=not self.long_lived)
        self.partner_tags = DataLoader(load_fn=partner_tags, cache=not self.long_lived)

    @property
    def now(self) -> datetime:
        """One clock reading per request, so every state in one answer agrees."""
        return self.services.clock() if self.long_lived else self._now

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs blocking (event store) work in the bounded thread pool; while the
        database is known to be away, fails fast instead (see `Outage`)."""
        outage = self.services.outage
        if outage is not None:
            await outage.check()
        try:
            return await anyio.to_thread.run_sync(
                partial(fn, *args, **kwargs), limiter=self.services.limiter
            )
        except Exception as error:
            if outage is not None and is_unavailable(error):
                outage.mark()
            raise


Info = strawberry.Info[Context, None]
