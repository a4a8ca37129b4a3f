"""partnerCounts: partners counted by groups (month of creation, country, role…) for
dashboards; from the partner cube when the filter reads its dimensions only."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import strawberry

from app.domain.messages import Message
from app.queries.partners.trends import GROUPS, MAX_GROUP_BY, CountGroup
from app.schema.context import Info
from app.schema.descriptions import described
from app.schema.errors import ClientError
from app.schema.ids import to_global_id
from app.schema.partners.inputs import PartnerFilterInput
from app.schema.partners.row_fields import PartnerKind

MAX_GROUPS = 10_000
"""Groups one answer may hold (`limit`)."""
DEFAULT_GROUPS = 1_000


@described(
    {
        "CREATED_MONTH": "The month the partner was created (UTC).",
        "COUNTRY": "The country code of the address that applies (`countryCode`).",
        "STATE": "The state code of the address that applies (`stateCode`).",
        "KIND": "COMPANY or PERSON.",
        "IS_CUSTOMER": "Whether it is a customer.",
        "IS_SUPPLIER": "Whether it is a supplier.",
        "LANG": "Its language (`lang`, as stored: `fr_BE`).",
        "INDUSTRY": "The industry that applies (the commercial partner's).",
        "SALESPERSON": "The salesperson that applies (the commercial partner's).",
    }
)
@strawberry.enum(description="What partners can be counted by (`partnerCounts`).")
class PartnerCountDimension(Enum):
    CREATED_MONTH = "CREATED_MONTH"
    COUNTRY = "COUNTRY"
    STATE = "STATE"
    KIND = "KIND"
    IS_CUSTOMER = "IS_CUSTOMER"
    IS_SUPPLIER = "IS_SUPPLIER"
    LANG = "LANG"
    INDUSTRY = "INDUSTRY"
    SALESPERSON = "SALESPERSON"


assert {d.value for d in PartnerCountDimension} == set(GROUPS)


@strawberry.type(
    description="One group of `partnerCounts`: the values of the dimensions asked for "
    "(the others are null; null is also a value: no country, say) and how many partners."
)
class PartnerCountGroup:
    created_month: date | None = strawberry.field(
        description="The first day of the month they were created in (CREATED_MONTH)."
    )
    country_code: str | None = strawberry.field(description="Their country code (COUNTRY).")
    state_code: str | None = strawberry.field(description="Their state code (STATE).")
    kind: PartnerKind | None = strawberry.field(description="Their kind (KIND).")
    is_customer: bool | None = strawberry.field(description="Customers or not (IS_CUSTOMER).")
    is_supplier: bool | None = strawberry.field(description="Suppliers or not (IS_SUPPLIER).")
    lang: str | None = strawberry.field(description="Their language (LANG).")
    industry_id: strawberry.ID | None = strawberry.field(
        description="The global id of their industry (INDUSTRY)."
    )
    salesperson_id: strawberry.ID | None = strawberry.field(
        description="The global id of their salesperson (SALESPERSON)."
    )
    count: int = strawberry.field(description="How many partners of the filter are in it.")

    @classmethod
    def of(cls, group: CountGroup) -> PartnerCountGroup:
        v: dict[str, Any] = group.values
        return cls(
            created_month=v.get("CREATED_MONTH"),
            country_code=v.get("COUNTRY"),
            state_code=v.get("STATE"),
            kind=PartnerKind(v["KIND"]) if v.get("KIND") else None,
            is_customer=v.get("IS_CUSTOMER"),
            is_supplier=v.get("IS_SUPPLIER"),
            lang=v.get("LANG"),
            industry_id=_global("Industry", v.get("INDUSTRY")),
            salesperson_id=_global("Salesperson", v.get("SALESPERSON")),
            count=group.count,
        )


def _global(type_name: str, value: UUID | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, value)) if value is not None else None


@strawberry.type(description="Partners counted by groups, ordered by the groups' values.")
class PartnerCounts:
    groups: list[PartnerCountGroup] = strawberry.field(
        description="The groups that have partners, ordered by the values of `groupBy` in "
        "its order (months oldest first; no value last)."
    )
    truncated: bool = strawberry.field(
        description="True when there were more groups than `limit`: the first ones are given."
    )


_GroupBy = Annotated[
    list[PartnerCountDimension],
    strawberry.argument(
        name="groupBy",
        description=f"What to count by: 1 to {MAX_GROUP_BY} distinct dimensions "
        "(CREATED_MONTH and COUNTRY: new partners per month by country).",
    ),
]
_Limit = Annotated[
    int,
    strawberry.argument(
        description=f"At most this many groups (1 to {MAX_GROUPS:,}); `truncated` says "
        "when there were more."
    ),
]
_Filter = Annotated[
    PartnerFilterInput | None,
    strawberry.argument(
        description="Only the partners that match (archived ones only if it mentions "
        "`archived`). On kind, roles, archived, country, state, language, industry, "
        "salesperson and tags only, it is answered from pre-aggregated counts."
    ),
]


@strawberry.type
class PartnerCountQueries:
    @strawberry.field(
        description="How many partners a filter selects, by groups: new customers per "
        "month by country, partners per salesperson… (for dashboards)."
    )
    async def partner_counts(
        self,
        info: Info,
        group_by: _GroupBy,
        filter: _Filter = None,
        limit: _Limit = DEFAULT_GROUPS,
    ) -> PartnerCounts:
        names = _checked(group_by, limit)
        where = filter.to_filter() if filter else None
        ctx = info.context
        found = await ctx.services.directory.grouped_counts(where, names, ctx.now, limit)
        return PartnerCounts(
            groups=[PartnerCountGroup.of(g) for g in found.groups], truncated=found.truncated
        )


def _checked(group_by: list[PartnerCountDimension], limit: int) -> list[str]:
    """The dimensions' names; too many, repeated or none, or a limit out of bounds, is
    the client's error."""
    names = [d.value for d in group_by]
    if not 1 <= len(names) <= MAX_GROUP_BY or len(set(names)) != len(names):
        raise ClientError(
            Message("`groupBy` takes 1 to %(most)s distinct dimensions", most=MAX_GROUP_BY),
            "BAD_REQUEST",
        )
    if not 1 <= limit <= MAX_GROUPS:
        raise ClientError(
            Message("`limit` must be between 1 and %(most)s", most=MAX_GROUPS), "LIMIT_EXCEEDED"
        )
    return names
