"""The list queries of the seven catalogs (by name, keyset paging), each declared under
its own name; they share `_entries`."""

from __future__ import annotations

from typing import Any

import strawberry

from app.schema.catalogs.types import (
    Account,
    DeliveryMethod,
    FiscalPosition,
    Industry,
    PaymentTerm,
    Pricelist,
    Salesperson,
    catalog_item,
)
from app.schema.context import Info
from app.schema.descriptions import PAGING, described
from app.schema.relay import Connection, check_page_args, page_connection, read_page


async def _entries(
    info: Info, code: str, first: int | None, after: str | None, include_archived: bool
) -> Connection[Any]:
    check_page_args(first, after, None, None)
    catalogs = info.context.services.catalogs
    fetch = catalogs.entry_page(code, include_archived=include_archived, first=first, after=after)
    return page_connection(await read_page(fetch), catalog_item, catalogs.count)


def _lists(name: str) -> str:
    return f"The {name} catalog, by name (archived left out)."


@described(PAGING)
@strawberry.type
class CatalogQueries:
    @strawberry.field(description=_lists("Industry"))
    async def industries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Industry]:
        return await _entries(info, "INDUSTRY", first, after, include_archived)

    @strawberry.field(description=_lists("PaymentTerm"))
    async def payment_terms(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[PaymentTerm]:
        return await _entries(info, "PAYMENT_TERM", first, after, include_archived)

    @strawberry.field(description=_lists("Pricelist"))
    async def pricelists(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Pricelist]:
        return await _entries(info, "PRICELIST", first, after, include_archived)

    @strawberry.field(description=_lists("DeliveryMethod"))
    async def delivery_methods(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[DeliveryMethod]:
        return await _entries(info, "DELIVERY_METHOD", first, after, include_archived)

    @strawberry.field(description=_lists("Salesperson"))
    async def salespersons(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Salesperson]:
        return await _entries(info, "SALESPERSON", first, after, include_archived)

    @strawberry.field(description=_lists("Account"))
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Account]:
        return await _entries(info, "ACCOUNT", first, after, include_archived)

    @strawberry.field(description=_lists("FiscalPosition"))
    async def fiscal_positions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[FiscalPosition]:
        return await _entries(info, "FISCAL_POSITION", first, after, include_archived)
