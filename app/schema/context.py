"""The per-request context: services, who is asking, the request id, fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
import strawberry
from strawberry.dataloader import DataLoader

from app.application import Partnerbook
from app.projections.catalog_queries import CatalogDirectory, CatalogRow, TagRow
from app.projections.partner_queries import PartnerDirectory, PartnerRow
from app.projections.positions import ProjectionWaiter
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


@dataclass
class Context:
    services: Services
    request_id: str
    actor: str
    partners: DataLoader[UUID, PartnerRow | None] = field(init=False)
    catalog_entries: DataLoader[UUID, CatalogRow | None] = field(init=False)
    tags: DataLoader[UUID, TagRow | None] = field(init=False)
    partner_tags: DataLoader[UUID, list[TagRow]] = field(init=False)

    def __post_init__(self) -> None:
        """Fresh loaders per request: batched look-ups, no cache across requests."""
        services = self.services

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

        self.partners = DataLoader(load_fn=partners)
        self.catalog_entries = DataLoader(load_fn=entries)
        self.tags = DataLoader(load_fn=tags)
        self.partner_tags = DataLoader(load_fn=partner_tags)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs blocking (event store) work in the bounded thread pool."""
        return await anyio.to_thread.run_sync(
            partial(fn, *args, **kwargs), limiter=self.services.limiter
        )


Info = strawberry.Info[Context, None]
