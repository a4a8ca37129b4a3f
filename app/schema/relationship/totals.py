"""documentTotals: the 360° figures over time (how many documents, how much money per
currency) by month, kind, module, status or currency."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from app.domain.messages import Message
from app.queries.document_totals import GROUPS, TotalGroup, TotalsQuery
from app.schema.catalogs.types import Money
from app.schema.context import Info
from app.schema.descriptions import described
from app.schema.errors import ClientError, argument_id
from app.schema.relationship.enums import DocumentKind, DocumentModule, DocumentStatus

MAX_GROUPS = 10_000
DEFAULT_GROUPS = 1_000


@described(
    {
        "MONTH": "The month of the document's date.",
        "KIND": "What the document is (INVOICE, SALE_ORDER…).",
        "MODULE": "The module that reported it.",
        "STATUS": "Where it stands (OPEN, PAID…).",
        "CURRENCY": "The currency of its amount.",
    }
)
@strawberry.enum(description="What documents can be totalled by (`documentTotals`).")
class DocumentTotalDimension(Enum):
    MONTH = "MONTH"
    KIND = "KIND"
    MODULE = "MODULE"
    STATUS = "STATUS"
    CURRENCY = "CURRENCY"


assert {d.value for d in DocumentTotalDimension} == set(GROUPS)


@strawberry.type(
    description="One group of `documentTotals`: the values of the dimensions asked for "
    "(the others are null), how many documents and their amounts."
)
class DocumentTotalGroup:
    month: date | None = strawberry.field(description="The first day of the month (MONTH).")
    kind: DocumentKind | None = strawberry.field(description="Their kind (KIND).")
    module: DocumentModule | None = strawberry.field(description="Their module (MODULE).")
    status: DocumentStatus | None = strawberry.field(description="Their status (STATUS).")
    currency: str | None = strawberry.field(description="Their currency (CURRENCY).")
    count: int = strawberry.field(description="How many documents are in it.")
    amounts: list[Money] = strawberry.field(
        description="The sum of their amounts, one per currency (by currency code); "
        "a credit note's amount is counted as recorded (positive)."
    )

    @classmethod
    def of(cls, group: TotalGroup) -> DocumentTotalGroup:
        v = group.values
        return cls(
            month=v.get("MONTH"),
            kind=DocumentKind(v["KIND"]) if v.get("KIND") else None,
            module=DocumentModule(v["MODULE"]) if v.get("MODULE") else None,
            status=DocumentStatus(v["STATUS"]) if v.get("STATUS") else None,
            currency=v.get("CURRENCY"),
            count=group.count,
            amounts=[
                Money(amount=amount, currency=currency)
                for currency, amount in sorted(
                    (c, a) for c, a in group.amounts.items() if c is not None
                )
            ],
        )


@strawberry.type(description="Documents totalled by groups, ordered by the groups' values.")
class DocumentTotals:
    groups: list[DocumentTotalGroup] = strawberry.field(
        description="The groups that have documents, ordered by the values of `groupBy` in "
        "its order (months oldest first)."
    )
    truncated: bool = strawberry.field(
        description="True when there were more groups than `limit`: the first ones are given."
    )


_ARGUMENTS = {
    "group_by": "What to total by: distinct dimensions (none: one group, every document).",
    "kinds": "Only documents of these kinds.",
    "statuses": "Only documents in these statuses (by default, all but DRAFT and CANCELLED, "
    "as the 360° figures count them).",
    "currency": "Only documents in this currency (ISO 4217, `EUR`).",
    "partner_id": "Only the documents of this partner's 360° view (its contacts' too when "
    "it is a commercial partner).",
    "limit": f"At most this many groups (1 to {MAX_GROUPS:,}); `truncated` says when there "
    "were more.",
}


def _arg(name: str) -> strawberry.types.arguments.StrawberryArgumentAnnotation:
    return strawberry.argument(description=_ARGUMENTS[name])


@strawberry.type
class DocumentTotalQueries:
    @strawberry.field(
        description="The 360° figures over time: how many documents and how much money "
        "per currency, by month, kind, module, status or currency (for dashboards)."
    )
    async def document_totals(
        self,
        info: Info,
        group_by: Annotated[list[DocumentTotalDimension], _arg("group_by")],
        kinds: Annotated[list[DocumentKind] | None, _arg("kinds")] = None,
        statuses: Annotated[list[DocumentStatus] | None, _arg("statuses")] = None,
        currency: Annotated[str | None, _arg("currency")] = None,
        partner_id: Annotated[strawberry.ID | None, _arg("partner_id")] = None,
        limit: Annotated[int, _arg("limit")] = DEFAULT_GROUPS,
    ) -> DocumentTotals:
        q = _query(group_by, kinds, statuses, currency, partner_id, limit)
        groups, truncated = await info.context.services.relationships.document_totals(q)
        return DocumentTotals(
            groups=[DocumentTotalGroup.of(g) for g in groups], truncated=truncated
        )


def _checked(group_by: list[DocumentTotalDimension], limit: int) -> list[str]:
    names = [d.value for d in group_by]
    if len(set(names)) != len(names):
        raise ClientError(Message("`groupBy` names a dimension twice"), "BAD_REQUEST")
    if not 1 <= limit <= MAX_GROUPS:
        raise ClientError(
            Message("`limit` must be between 1 and %(most)s", most=MAX_GROUPS), "LIMIT_EXCEEDED"
        )
    return names


def _query(
    group_by: list[DocumentTotalDimension],
    kinds: list[DocumentKind] | None,
    statuses: list[DocumentStatus] | None,
    currency: str | None,
    partner_id: strawberry.ID | None,
    limit: int,
) -> TotalsQuery:
    return TotalsQuery(
        group_by=_checked(group_by, limit),
        kinds=[k.value for k in kinds] if kinds is not None else None,
        statuses=[s.value for s in statuses] if statuses is not None else None,
        currency=currency,
        partner_id=argument_id(partner_id, "Partner") if partner_id is not None else None,
        limit=limit,
    )
