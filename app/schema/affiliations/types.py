"""The `Affiliation` and `BankAccount` types, and the lists `Partner` shows of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from app.domain.bank_account import format_iban
from app.domain.messages import Message
from app.queries.affiliation_queries import AffiliationDirectory, AffiliationRow, BankAccountRow
from app.queries.history_queries import AsOfPartnerRow
from app.queries.partners.rows import PartnerRow
from app.schema.context import Info
from app.schema.descriptions import RECORD, described
from app.schema.errors import ClientError
from app.schema.ids import to_global_id
from app.schema.relay import Node

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]
MAX_LISTED = 100


def directory(info: Info) -> AffiliationDirectory:
    return AffiliationDirectory(info.context.services.directory.pool)


async def _partner(info: Info, partner_id: UUID) -> PartnerRef | None:
    from app.schema.partners.types import Partner

    row = await info.context.partners.load(partner_id)
    return Partner.from_row(row) if row else None


@described(RECORD)
@strawberry.type(
    description="A person's place in a company besides (or as well as) its main one "
    "(`parent`): a board seat, a job at a subsidiary, a former employer."
)
class Affiliation(Node):
    row: strawberry.Private[AffiliationRow]
    role: str | None = strawberry.field(
        description="The kind of tie, in the client's words (Board member, Consultant…); "
        "personal data: erased with the person."
    )
    function: str | None = strawberry.field(
        description="Job position in that company; personal data: erased with the person."
    )
    start_date: date | None = strawberry.field(description="The first day it holds.")
    end_date: date | None = strawberry.field(
        description="The first day it no longer holds; null while it lasts."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: AffiliationRow) -> Affiliation:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Affiliation", row.id)),
            role=row.role,
            function=row.function,
            start_date=row.start_date,
            end_date=row.end_date,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The person (null once it is no longer readable).")
    async def person(self, info: Info) -> PartnerRef | None:
        return await _partner(info, self.row.partner_id)

    @strawberry.field(description="The company.")
    async def company(self, info: Info) -> PartnerRef | None:
        return await _partner(info, self.row.company_id)


@described(RECORD)
@strawberry.type(description="A bank account of a partner (Odoo's `res.partner.bank`).")
class BankAccount(Node):
    row: strawberry.Private[BankAccountRow]
    iban: str | None = strawberry.field(
        description="The IBAN, formatted in groups of four; null once erased with its person."
    )
    bic: str | None = strawberry.field(description="The bank's BIC (SWIFT code).")
    holder_name: str | None = strawberry.field(
        description="Who holds the account, when not the partner itself; erased with a person."
    )
    currency: str | None = strawberry.field(description="ISO 4217 code of the account.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: BankAccountRow) -> BankAccount:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("BankAccount", row.id)),
            iban=format_iban(row.iban),
            bic=row.bic,
            holder_name=row.holder_name,
            currency=row.currency,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The partner the account belongs to.")
    async def partner(self, info: Info) -> PartnerRef | None:
        return await _partner(info, self.row.partner_id)


async def affiliations_of(
    info: Info, row: PartnerRow, include_ended: bool, first: int
) -> list[Affiliation]:
    """A partner's affiliations in force (all, with `include_ended`); for a partner as of
    an instant, those in force then."""
    if not 0 <= first <= MAX_LISTED:
        raise ClientError(
            Message("`first` must be between 0 and %(max_page)s", max_page=MAX_LISTED),
            "BAD_REQUEST",
        )
    at = row.as_of_at if isinstance(row, AsOfPartnerRow) else None
    rows = await info.context.affiliations_of.load((row.id, include_ended, at, first))
    return [Affiliation.from_row(r) for r in rows]


async def bank_accounts_of(info: Info, partner_id: UUID) -> list[BankAccount]:
    return [BankAccount.from_row(r) for r in await info.context.bank_accounts_of.load(partner_id)]
