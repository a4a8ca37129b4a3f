"""What the use cases need from outside the write side, as small protocols: the thread
pool that runs blocking commands, the read side's position, and the read-model queries a
use case compares with (implemented by the query directories in `app/queries`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import Field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from app.application.importing.known import KnownEntry, KnownPartner, MatchKeys
from app.application.merging import MovedIds
from app.domain.partner import Partner

T = TypeVar("T")
Row = TypeVar("Row", bound="PartnerRowLike")
Row_co = TypeVar("Row_co", bound="PartnerRowLike", covariant=True)


class BlockingRunner(Protocol):
    """Runs blocking (event store) work off the event loop, in the bounded thread pool."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


class ReadSide(Protocol):
    """The projections' progress (read-your-writes)."""

    async def wait_for(self, position: int | None, within: float) -> bool:
        """True once every projection has passed `position`; False after `within` s."""
        ...


class PartnerRowLike(Protocol):
    """What a use case reads of a read-model partner row (a dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def id(self) -> UUID: ...
    @property
    def version(self) -> int: ...
    @property
    def commercial_partner_id(self) -> UUID: ...
    @property
    def own_name(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str: ...


class PartnerRows(Protocol[Row_co]):
    """The `partners` read model, by id."""

    async def get_many(self, ids: Sequence[UUID]) -> Mapping[UUID, Row_co]: ...


RowOfState = Callable[[Partner, Row | None], Row]
"""Builds the row the read model holds for a state of a partner, its parent's row given
(None: no parent)."""


class OwnedRecords(Protocol):
    """What each partner has that a merge moves (children, activities, documents,
    opportunities), by kind."""

    async def owned(self, partner_ids: Sequence[UUID]) -> Mapping[UUID, MovedIds]: ...


class ImportLookupReads(Protocol):
    """What an import compares its rows with, read once before it plans: registered
    partners with their own values, tags, catalog entries."""

    async def partners_matching(self, keys: MatchKeys) -> list[KnownPartner]:
        """The partners with one of these ids, external ids, refs, VATs or emails, and the
        companies with one of these names."""
        ...

    async def partners(self, ids: Sequence[UUID]) -> list[KnownPartner]: ...

    async def tags(self) -> list[KnownEntry]: ...

    async def catalog_entries(self, catalogs: Sequence[str]) -> dict[str, list[KnownEntry]]:
        """The entries of each catalog named (an empty list for one that has none)."""
        ...


class ImportLookupSource(Protocol):
    """Where an import's look-ups are read, all on one connection."""

    def reading(self) -> AbstractAsyncContextManager[ImportLookupReads]: ...


class PartnerVersions(Protocol):
    """Which version of a partner was in force at an instant (None: it did not exist)."""

    async def version_at(self, partner_id: UUID, at: datetime) -> int | None: ...
