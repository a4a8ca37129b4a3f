"""Partner queries: by id, and filtered, ordered pages."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.locales import names
from app.queries.partners.ordering import BadOrder, Order, check_orders
from app.schema.catalogs.types import Country, Language
from app.schema.context import Info
from app.schema.descriptions import PAGING, described
from app.schema.errors import ClientError
from app.schema.ids import BadId, expect_id
from app.schema.language import LocaleArgument, locale_of
from app.schema.partners.facets import PartnerFacets, partner_facets
from app.schema.partners.inputs import PartnerFilterInput, PartnerOrder
from app.schema.partners.types import Partner, partner_connection
from app.schema.relay import Connection

_ARGUMENTS = {
    "id": "The partner's global id.",
    "filter": "Only the partners that match (archived ones only if it mentions `archived`).",
    "search": "A substring of the name (a contact's company's too), email, reference, VAT or phone; case and accents ignored (at most 200 characters).",
    "order_by": "Sort keys, in order (NAME ASC by default); the id breaks the last tie.",
}
_CountrySearch = Annotated[
    str | None,
    strawberry.argument(
        description="A country code, or a part of the name (any case, in the locale or in "
        "English; at most 200 characters)."
    ),
]
_LanguageSearch = Annotated[
    str | None,
    strawberry.argument(
        description="A part of the locale's code or name (any case; at most 200 characters)."
    ),
]


@described(PAGING, _ARGUMENTS)
@strawberry.type
class PartnerQueries:
    @strawberry.field(description="A partner by id, archived ones included.")
    async def partner(self, info: Info, id: strawberry.ID) -> Partner | None:
        try:
            ident = expect_id(id, "Partner")
        except BadId:
            return None
        row = await info.context.partners.load(ident)
        return Partner.from_row(row) if row else None

    @strawberry.field(
        description="Partners matching a filter and a search, in pages (`first` ≤ 100). The "
        "search finds a substring of the name (its company's too), email, reference, VAT or "
        "phone, ignoring case and accents. Alphabetical by default; orderBy RELEVANCE (DESC) "
        "puts the partners whose name starts with the search first."
    )
    async def partners(
        self,
        info: Info,
        filter: PartnerFilterInput | None = None,
        search: str | None = None,
        order_by: list[PartnerOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Partner]:
        where = filter.to_filter() if filter else None
        orders = _orders(order_by)
        return await partner_connection(info, where, orders, search, first, after, last, before)

    @strawberry.field(
        description="Counts by country, tag, role, kind, industry, language and salesperson "
        "of the partners a filter and search select (for dashboards)."
    )
    async def partner_facets(
        self,
        info: Info,
        filter: PartnerFilterInput | None = None,
        search: str | None = None,
        locale: LocaleArgument = None,
    ) -> PartnerFacets:
        where = filter.to_filter() if filter else None
        return await partner_facets(info, where, search, locale_of(info, locale))

    @strawberry.field(
        description="Countries (ISO 3166-1), by name, optionally matching a search (in the "
        "names of the locale and in English)."
    )
    def countries(
        self, info: Info, search: _CountrySearch = None, locale: LocaleArgument = None
    ) -> list[Country]:
        chosen = locale_of(info, locale)
        return [Country(code=c, locale=chosen) for c, _ in names.countries(search, chosen)]

    @strawberry.field(
        description="Locales for `Partner.lang` (`fr_BE`, `en_US`…), by name, optionally "
        "matching a search in the code or the name (in the locale or in English). `lang` accepts any valid locale; these "
        "are the ones in common use."
    )
    def languages(
        self, info: Info, search: _LanguageSearch = None, locale: LocaleArgument = None
    ) -> list[Language]:
        found = names.languages(search, locale_of(info, locale))
        return [Language(code=code, name=name) for code, name in found]


def _orders(order_by: list[PartnerOrder] | None) -> list[Order]:
    """The orderings asked for; a field named twice is BAD_REQUEST (a forged cursor's
    seek grew with the square of the keys)."""
    orders = [o.to_order() for o in order_by or ()]
    try:
        check_orders(orders)
    except BadOrder as error:
        raise ClientError(error.args[0], "BAD_REQUEST") from None
    return orders
