"""partnerFacets: how the partners a filter selects divide up, with readable labels."""

from __future__ import annotations

import strawberry

from app.domain.messages import Message
from app.locales import names, translate
from app.queries.partners.filters import PartnerFilter
from app.schema.context import Info
from app.schema.ids import catalog_global_id


@strawberry.type(description="One value of a facet and how many partners have it.")
class FacetCount:
    value: str = strawberry.field(description="A country code, an id, CUSTOMER, COMPANY…")
    label: str = strawberry.field(
        description="The value for people (a country's name…), in the request's language."
    )
    count: int = strawberry.field(description="How many of the partners selected have it.")


@strawberry.type(
    description="How the partners selected divide up; each facet most frequent first, "
    "values no partner has left out."
)
class PartnerFacets:
    countries: list[FacetCount] = strawberry.field(
        description="By country code of the address that applies (`countryCode`)."
    )
    tags: list[FacetCount] = strawberry.field(
        description="By tag id (`tagIds`): the partners with the tag or one of its "
        "sub-tags, each once (as the `tagIds` filter selects them)."
    )
    roles: list[FacetCount] = strawberry.field(description="CUSTOMER, SUPPLIER, BOTH, NONE")
    kinds: list[FacetCount] = strawberry.field(description="COMPANY or PERSON (`kind`).")
    industries: list[FacetCount] = strawberry.field(
        description="By id of the industry that applies (`industryId`)."
    )
    languages: list[FacetCount] = strawberry.field(description="By `lang` as stored (`en_US`).")
    salespersons: list[FacetCount] = strawberry.field(
        description="By id of the salesperson that applies (`salespersonId`)."
    )


ROLE_LABELS = {
    "CUSTOMER": Message("Customer"),
    "SUPPLIER": Message("Supplier"),
    "BOTH": Message("Customer and supplier"),
    "NONE": Message("Prospect"),
}
KIND_LABELS = {"COMPANY": Message("Company"), "PERSON": Message("Person")}


async def partner_facets(
    info: Info, where: PartnerFilter | None, search: str | None, locale: str
) -> PartnerFacets:
    """The facets, labelled in `locale` (names of countries and languages from the
    standards' translations, roles and kinds from Partnerbook's catalog; tags, industries
    and salespersons by their names, read with the counts)."""
    ctx = info.context
    counts = await ctx.services.directory.facet_counts(where, search, ctx.now)

    def named(name: str, type_name: str) -> list[FacetCount]:
        return [
            FacetCount(
                value=catalog_global_id(type_name, v), label=v if label is None else label, count=n
            )
            for v, n, label in counts[name]
        ]

    return PartnerFacets(
        countries=[
            FacetCount(value=v, label=names.country_name(v, locale), count=n)
            for v, n, _ in counts["countries"]
        ],
        tags=named("tags", "Tag"),
        roles=[_coded(v, ROLE_LABELS, n, locale) for v, n, _ in counts["roles"]],
        kinds=[_coded(v, KIND_LABELS, n, locale) for v, n, _ in counts["kinds"]],
        industries=named("industries", "Industry"),
        languages=[
            FacetCount(value=v, label=names.language_name(v, locale), count=n)
            for v, n, _ in counts["languages"]
        ],
        salespersons=named("salespersons", "Salesperson"),
    )


def _coded(value: str, labels: dict[str, Message], count: int, locale: str) -> FacetCount:
    label = labels.get(value)
    text = translate(label, locale) if label is not None else value.capitalize()
    return FacetCount(value=value, label=text, count=count)
