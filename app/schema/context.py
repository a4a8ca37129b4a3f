"""The per-request context: services, who is asking, the request id, fresh DataLoaders
(made when first used)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, Generic, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
import strawberry
from strawberry.dataloader import DataLoader

from app.application import Partnerbook
from app.application.ports import ReadSide
from app.domain.credit import Credit
from app.infra.api_keys import KeyStore, Principal
from app.infra.database import Outage, is_unavailable
from app.infra.persisted_documents import DocumentStore
from app.infra.positions import ProjectionWaiter
from app.infra.read_share import KeyShares
from app.queries.activity_queries import ActivityRow
from app.queries.affiliation_queries import (
    AffiliationDirectory,
    AffiliationRow,
    AffiliationsAsked,
    BankAccountRow,
)
from app.queries.catalog_queries import CatalogDirectory, CatalogRow, TagRow
from app.queries.change_feed import ChangeFeed
from app.queries.document_queries import DocumentRow
from app.queries.figure_queries import Stats
from app.queries.opportunity_queries import OpportunitiesAsked, OpportunityRow
from app.queries.partners.directory import PartnerDirectory
from app.queries.partners.rows import PartnerRow
from app.queries.relationship_queries import RelationshipDirectory
from app.schema.live.hub import SubscriptionHub
from app.settings import Settings
from app.webhooks.store import WebhookStores

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


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
    documents: DocumentStore | None = None
    """Persisted documents (APQ and the allow-list); None: none can be found."""
    webhooks: WebhookStores | None = None
    """Webhook secrets and delivery records (None: webhooks cannot be managed)."""
    read_side: ReadSide | None = None
    """What a mutation waits for before it answers (the projections, then the standbys
    when there are any); None: the waiter."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """What time it is; tests set it to move activities from PLANNED to TODAY to OVERDUE."""
    command_shares: KeyShares = field(default_factory=lambda: KeyShares(None))
    """Each API key's share of `limiter`'s threads (PARTNERBOOK_COMMAND_SHARE_PER_KEY)."""


class _Shared(Generic[V]):
    """The callers of one loader future: each awaits a future of its own, settled from
    the shared one; the shared one is cancelled only once every caller went away."""

    __slots__ = ("future", "waiting")

    def __init__(self, future: asyncio.Future[V]) -> None:
        self.future = future
        self.waiting = 0

    def hand_out(self) -> asyncio.Future[V]:
        own: asyncio.Future[V] = self.future.get_loop().create_future()
        self.waiting += 1
        self.future.add_done_callback(partial(_settle, own))
        own.add_done_callback(self._left)
        return own

    def _left(self, own: asyncio.Future[V]) -> None:
        if not own.cancelled():
            return
        self.waiting -= 1
        if self.waiting == 0 and not self.future.done():
            self.future.cancel()  # nobody waits for it: strawberry may skip its batch


def _settle(own: asyncio.Future[V], shared: asyncio.Future[V]) -> None:
    if own.done():  # its caller went away
        return
    if shared.cancelled():
        own.cancel()
    elif (error := shared.exception()) is not None:
        own.set_exception(error)
    else:
        own.set_result(shared.result())


class Loader(DataLoader[K, V]):
    """strawberry's DataLoader, where one caller's cancellation never cancels what
    another awaits, and never joining a batch whose every caller went away.

    strawberry hands every caller of a key the same future (cached, or in the batch),
    and a task cancelled while awaiting a future cancels that future: graphql-core
    cancels the other fields of an object when one of them fails (`gather_with_cancel`),
    so a bad cursor beside a `commercialPartner` cancelled the company's future that
    another partner of the answer awaited too, whose resolver then got CancelledError
    (uvicorn's plain-text 500; over WebSocket no answer). Each caller gets a future of
    its own; the shared one is cancelled once all its callers were.

    When every future of a batch is cancelled (a stopped subscription, a dropped
    request) after its dispatch task was created but before that task ran, strawberry
    cancels the task, so the batch is never dispatched, yet it stays the loader's
    current batch: a later `load()` joins it and waits forever. A long-lived connection
    keeps its loaders, so the next subscription on it hung. Such a batch is dropped."""

    def load(self, key: K) -> Awaitable[V]:
        batch = self.batch
        tasks = batch.tasks if batch is not None else None
        # (The first task's future looked at before the others: this runs for every key.)
        if tasks and tasks[0].future.cancelled() and all(t.future.cancelled() for t in tasks):
            self.batch = None  # nobody waits on it: a fresh batch, dispatched anew
        shared = super().load(key)
        assert isinstance(shared, asyncio.Future)
        if shared.done():
            return shared  # awaited without suspending: no cancellation reaches it
        callers = self._callers.get(shared)
        if callers is None:
            callers = self._callers[shared] = _Shared(shared)
            shared.add_done_callback(self._callers.pop)
        return callers.hand_out()

    @cached_property
    def _callers(self) -> dict[asyncio.Future[V], _Shared[V]]:
        """The callers of each future not settled yet."""
        return {}


@dataclass
class Context:
    services: Services
    request_id: str
    actor: str
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
    locale: str = "en"
    """The shipped locale the answers speak (app/locales): Accept-Language, or a
    WebSocket's `connection_init` `locale`."""
    key_watch: asyncio.Task[None] | None = None
    """A WebSocket connection's watch on its key (closes it once the key is revoked)."""
    bearer: str | None = field(default=None, repr=False)
    """A WebSocket connection's API key, as its `connection_init` sent it: its heavy
    operations go to the heavy lane with it (app/schema/live/heavy.py). Never logged."""
    _now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._now = self.services.clock()

    # Fresh loaders per request (batched look-ups, no cache across requests), each made
    # when first used: most requests use one or two of them.

    def _loader(self, load_fn: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        return Loader(load_fn=load_fn, cache=not self.long_lived)

    @cached_property
    def partners(self) -> DataLoader[UUID, PartnerRow | None]:
        directory = self.services.directory

        async def partners(ids: Sequence[UUID]) -> list[PartnerRow | None]:
            rows = await directory.get_many(ids)
            return [rows.get(i) for i in ids]

        return self._loader(partners)

    @cached_property
    def catalog_entries(self) -> DataLoader[UUID, CatalogRow | None]:
        catalogs = self.services.catalogs

        async def entries(ids: Sequence[UUID]) -> list[CatalogRow | None]:
            rows = await catalogs.entries(ids)
            return [rows.get(i) for i in ids]

        return self._loader(entries)

    @cached_property
    def tags(self) -> DataLoader[UUID, TagRow | None]:
        catalogs = self.services.catalogs

        async def tags(ids: Sequence[UUID]) -> list[TagRow | None]:
            rows = await catalogs.tags(ids)
            return [rows.get(i) for i in ids]

        return self._loader(tags)

    @cached_property
    def partner_tags(self) -> DataLoader[UUID, list[TagRow]]:
        catalogs = self.services.catalogs

        async def partner_tags(ids: Sequence[UUID]) -> list[list[TagRow]]:
            found = await catalogs.tags_of_partners(ids)
            return [found.get(i, []) for i in ids]

        return self._loader(partner_tags)

    @cached_property
    def activities(self) -> DataLoader[UUID, ActivityRow | None]:
        relationships = self.services.relationships

        async def activities(ids: Sequence[UUID]) -> list[ActivityRow | None]:
            rows = await relationships.activities(ids, self.now)
            return [rows.get(i) for i in ids]

        return self._loader(activities)

    @cached_property
    def documents(self) -> DataLoader[UUID, DocumentRow | None]:
        relationships = self.services.relationships

        async def documents(ids: Sequence[UUID]) -> list[DocumentRow | None]:
            rows = await relationships.documents(ids, self.now)
            return [rows.get(i) for i in ids]

        return self._loader(documents)

    @cached_property
    def opportunities(self) -> DataLoader[UUID, OpportunityRow | None]:
        relationships = self.services.relationships

        async def opportunities(ids: Sequence[UUID]) -> list[OpportunityRow | None]:
            rows = await relationships.opportunities(ids)
            return [rows.get(i) for i in ids]

        return self._loader(opportunities)

    @cached_property
    def opportunities_of(self) -> DataLoader[OpportunitiesAsked, list[OpportunityRow]]:
        relationships = self.services.relationships

        async def opportunities_of(
            keys: Sequence[OpportunitiesAsked],
        ) -> list[list[OpportunityRow]]:
            found = await relationships.opportunities_of(keys)
            return [found.get(k, []) for k in keys]

        return self._loader(opportunities_of)

    @cached_property
    def stats(self) -> DataLoader[UUID, Stats]:
        relationships = self.services.relationships

        async def stats(ids: Sequence[UUID]) -> list[Stats]:
            found = await relationships.stats(ids, self.now)
            return [found[i] for i in ids]

        return self._loader(stats)

    @cached_property
    def credits(self) -> DataLoader[UUID, Credit | None]:
        relationships = self.services.relationships

        async def credits(ids: Sequence[UUID]) -> list[Credit | None]:
            found = await relationships.credits(ids)
            return [found.get(i) for i in ids]

        return self._loader(credits)

    @cached_property
    def affiliations_of(self) -> DataLoader[AffiliationsAsked, list[AffiliationRow]]:
        reads = AffiliationDirectory(self.services.directory.pool)

        async def affiliations_of(keys: Sequence[AffiliationsAsked]) -> list[list[AffiliationRow]]:
            found = await reads.affiliations_of(keys, self.now)
            return [found[k] for k in keys]

        return self._loader(affiliations_of)

    @cached_property
    def bank_accounts_of(self) -> DataLoader[UUID, list[BankAccountRow]]:
        reads = AffiliationDirectory(self.services.directory.pool)

        async def bank_accounts_of(ids: Sequence[UUID]) -> list[list[BankAccountRow]]:
            found = await reads.bank_accounts_of(ids)
            return [found[i] for i in ids]

        return self._loader(bank_accounts_of)

    def forget_loaded(self) -> None:
        """Drops the loaders made so far (an operation run again starts afresh)."""
        for name, value in list(vars(self).items()):
            if isinstance(value, DataLoader):
                del self.__dict__[name]

    @property
    def now(self) -> datetime:
        """One clock reading per request, so every state in one answer agrees."""
        return self.services.clock() if self.long_lived else self._now

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs blocking (event store) work in the bounded thread pool, within the asking
        key's share of its threads (its other commands wait for the share, holding no
        thread); while the database is known to be away, fails fast instead (`Outage`)."""
        outage = self.services.outage
        if outage is not None:
            await outage.check()
        try:
            async with self.services.command_shares.held(None):
                return await anyio.to_thread.run_sync(
                    partial(fn, *args, **kwargs), limiter=self.services.limiter
                )
        except Exception as error:
            if outage is not None and is_unavailable(error):
                outage.mark()
            raise


Info = strawberry.Info[Context, None]
