"""The `Partner` type and the value types it shows (address, country; its state: states.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from app.domain import contact_fields as cf
from app.domain.address_format import format_address
from app.domain.messages import Message
from app.domain.partner_fields import TYPE_LABELS
from app.locales import names, translate
from app.queries.partners.filters import PartnerFilter
from app.queries.partners.ordering import Order
from app.queries.partners.rows import PartnerRow
from app.schema.affiliations.types import (
    Affiliation,
    BankAccount,
    affiliations_of,
    bank_accounts_of,
)
from app.schema.catalogs.types import Country, Industry, Salesperson
from app.schema.context import Info
from app.schema.descriptions import PAGING, RECORD, described
from app.schema.errors import ClientError
from app.schema.limits import LIMIT_EXCEEDED, NODES
from app.schema.limits.budget import refusal
from app.schema.limits.prices import TAGS_COUNTED
from app.schema.partners.descriptions import PARTNER_FIELDS
from app.schema.partners.row_fields import AddressType, PartnerKind, read_from_row
from app.schema.partners.states import State, state_of
from app.schema.partners.terms import CommercialTerms, load_entry
from app.schema.relationship.connections import (
    activity_connection,
    document_connection,
    timeline_connection,
)
from app.schema.relationship.credit import PartnerCredit, partner_credit
from app.schema.relationship.documents import Document
from app.schema.relationship.enums import TimelineKind
from app.schema.relationship.filters import ActivityFilterInput, DocumentFilterInput
from app.schema.relationship.stats import PartnerStats
from app.schema.relationship.types import Activity, Opportunity, TimelineEntry
from app.schema.relay import (
    DEFAULT_PAGE,
    Connection,
    Node,
    check_page_args,
    count_beside,
    make_connection,
    read_page,
    selects_count,
)
from app.schema.tags.types import Tag

if TYPE_CHECKING:
    from app.schema.history import PartnerChangeConnection

_ARGUMENTS = {
    "filter": "Only the records that match (its `partnerId` is ignored: this partner's is used).",
    "kinds": "Only entries of these kinds (all when left out).",
}


@described(PARTNER_FIELDS)
@strawberry.type(description="A postal address.")
class Address:
    street: str | None
    street2: str | None
    city: str | None
    zip: str | None
    state: State | None = strawberry.field(description="State or province.")
    country: Country | None = strawberry.field(description="Country.")
    inherited_from_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The partner this address is taken from, when inherited.")
    async def inherited_from(
        self, info: Info
    ) -> Annotated[Partner, strawberry.lazy("app.schema.partners.types")] | None:
        if self.inherited_from_id is None:
            return None
        row = await info.context.partners.load(self.inherited_from_id)
        return Partner.from_row(row) if row else None


@read_from_row
@described(PARTNER_FIELDS, RECORD, PAGING, _ARGUMENTS)
@strawberry.type(description="A business partner: a company or a person.")
class Partner(Node):
    row: strawberry.Private[PartnerRow]
    kind: PartnerKind
    type: AddressType
    name: str
    display_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    website: str | None
    lang: str | None
    tz: str | None
    function: str | None = strawberry.field(description="Job position (for people).")
    vat: str | None = strawberry.field(description="Tax id; a contact shows its company's.")
    ref: str | None = strawberry.field(description="Internal reference.")
    external_id: str | None = strawberry.field(
        description="Its id in the system it was imported from (e.g. an Odoo external id)."
    )
    company_registry: str | None
    notes: str | None
    is_customer: bool
    is_supplier: bool
    archived: bool
    anonymized: bool = strawberry.field(
        description="True once the person's personal data was erased (anonymizePartner)."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: PartnerRow) -> Partner:
        """The partner of `row`; each field is worked out from the row when first read
        (`FROM_ROW`): a page of 50 asks for a few of its 24 fields."""
        partner = cls.__new__(cls)
        partner.__dict__["row"] = row
        return partner

    @strawberry.field(
        description="The partner this one was merged into (it is then archived); null otherwise."
    )
    async def merged_into(self, info: Info) -> Partner | None:
        if self.row.merged_into is None:
            return None
        row = await info.context.partners.load(self.row.merged_into)
        return Partner.from_row(row) if row else None

    @strawberry.field(description="False when the phone was kept as typed (not E.164).")
    def phone_is_valid(self) -> bool | None:
        return cf.phone_is_normalized(self.row.phone) if self.row.phone else None

    @strawberry.field(description="False when the mobile was kept as typed (not E.164).")
    def mobile_is_valid(self) -> bool | None:
        return cf.phone_is_normalized(self.row.mobile) if self.row.mobile else None

    @strawberry.field(description="The address that applies: a contact shows its company's.")
    def address(self) -> Address:
        row = self.row
        return Address(
            street=row.street,
            street2=row.street2,
            city=row.city,
            zip=row.zip,
            state=state_of(row),
            country=Country.of(row.country_code),
            inherited_from_id=row.address_from_id if row.address_from_id != row.id else None,
        )

    @strawberry.field(description="The address type for people, in the request's language.")
    def type_label(self, info: Info) -> str:
        return translate(TYPE_LABELS[self.row.type], info.context.locale)

    @strawberry.field(description="The address laid out as the post of its country expects.")
    def formatted_address(self, info: Info) -> str | None:
        row, state = self.row, state_of(self.row)
        locale = info.context.locale
        return format_address(
            {
                **{f: getattr(row, f) for f in ("street", "street2", "city", "zip")},
                "state_code": row.state_code,
                "state_name": state.name_in(locale) if state else None,
                "country_code": row.country_code,
                "country_name": names.country_name(row.country_code, locale)
                if row.country_code
                else None,
            }
        )

    @strawberry.field(description="The industry that applies (the commercial partner's).")
    async def industry(self, info: Info) -> Industry | None:
        return await load_entry(info, self.row.effective_industry_id, Industry.from_row)

    @strawberry.field(description="Its own salesperson, else its commercial partner's.")
    async def salesperson(self, info: Info) -> Salesperson | None:
        return await load_entry(info, self.row.effective_salesperson_id, Salesperson.from_row)

    @strawberry.field(description="Its tags, by name.")
    async def tags(self, info: Info) -> list[Tag]:
        as_of = getattr(self.row, "as_of_tag_ids", None)  # partnerAsOf: its tags then
        if as_of is not None:
            found = await info.context.tags.load_many(list(as_of))
            rows = sorted((r for r in found if r), key=lambda r: r.name)
        else:
            rows = await info.context.partner_tags.load(self.row.id)
        if (most := refusal(NODES, len(rows) - TAGS_COUNTED)) is not None:
            raise _too_many_tags(len(rows), most)
        return [Tag.from_row(row) for row in rows]

    @strawberry.field(description="The sales & purchase terms that apply to this partner.")
    async def commercial_terms(self, info: Info) -> CommercialTerms:
        source = self.row
        as_of = getattr(self.row, "as_of_commercial", None)  # partnerAsOf: its company then
        if as_of is not None:
            source = as_of
        elif source.commercial_partner_id != source.id:
            source = await info.context.partners.load(source.commercial_partner_id) or source
        return CommercialTerms(source=source, asked_for=self.row)

    @strawberry.field(
        description="Its figures; a company's include its contacts' (and the activities that "
        "name it)."
    )
    async def stats(self, info: Info) -> PartnerStats:
        return PartnerStats(stats=await info.context.stats.load(self.row.id))

    @strawberry.field(
        description="Its credit limit and the exposure against it, now, for a commercial "
        "partner with a credit limit (its contacts' documents included); null for a contact "
        "(ask its commercialPartner) and for a partner without a limit."
    )
    async def credit(self, info: Info) -> PartnerCredit | None:
        return await partner_credit(info, self.row.id)

    @strawberry.field(
        description="Its activities (a company's include its contacts', and those that name "
        "it with `companyId`)."
    )
    async def activities(
        self,
        info: Info,
        filter: ActivityFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activity]:
        f = (filter or ActivityFilterInput()).to_filter(partner_id=self.row.id)
        return await activity_connection(info, f, first, after)

    @strawberry.field(description="Documents reported for it (a company's include its contacts').")
    async def documents(
        self,
        info: Info,
        filter: DocumentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Document]:
        f = (filter or DocumentFilterInput()).to_filter(partner_id=self.row.id)
        return await document_connection(info, f, first, after)

    @strawberry.field(
        description="Its opportunities (a company's include its contacts'), newest first: "
        "the newest `first` (default 50, at most 100)."
    )
    async def opportunities(self, info: Info, first: int = DEFAULT_PAGE) -> list[Opportunity]:
        check_page_args(first, None, None, None)  # counted by the operation's cost as a page
        rows = await info.context.opportunities_of.load((self.row.id, first))
        return [Opportunity.from_row(row) for row in rows]

    @strawberry.field(
        description="Its affiliations (a person's companies besides `parent`, a company's "
        "affiliated people): those in force, all with `includeEnded`; as of an instant, "
        "those in force then. An affiliation alone never adds the person's activities to the "
        "company's 360° view: only those that name the company (`companyId`) show there.",
    )
    async def affiliations(
        self,
        info: Info,
        include_ended: Annotated[
            bool, strawberry.argument(description="Ended ones too (newest end first).")
        ] = False,
        first: int = 50,
    ) -> list[Affiliation]:
        return await affiliations_of(info, self.row, include_ended, first)

    @strawberry.field(description="Its bank accounts, oldest first.")
    async def bank_accounts(self, info: Info) -> list[BankAccount]:
        return await bank_accounts_of(info, self.row.id)

    @strawberry.field(
        description="Everything that happened to it and its records (a company's: its contacts' "
        "and those of activities naming it too), newest first."
    )
    async def timeline(
        self,
        info: Info,
        kinds: list[TimelineKind] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TimelineEntry]:
        return await timeline_connection(
            info, self.row.id, [k.value for k in kinds] if kinds else None, first, after
        )

    @strawberry.field(description="The company this partner belongs to.")
    async def parent(self, info: Info) -> Partner | None:
        if self.row.parent_id is None:
            return None
        as_of = getattr(self.row, "as_of_parent", None)  # partnerAsOf: its parent then
        if as_of is not None:
            return Partner.from_row(as_of)
        row = await info.context.partners.load(self.row.parent_id)
        return Partner.from_row(row) if row else None

    @strawberry.field(description="The top of the hierarchy, whose commercial terms apply.")
    async def commercial_partner(self, info: Info) -> Partner:
        if self.row.commercial_partner_id == self.row.id:
            return self
        as_of = getattr(self.row, "as_of_commercial", None)  # partnerAsOf: its company then
        if as_of is not None:
            return Partner.from_row(as_of)
        row = await info.context.partners.load(self.row.commercial_partner_id)
        return Partner.from_row(row) if row else self

    @strawberry.field(description="Active contacts, addresses and subsidiaries of this partner.")
    async def children(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Partner]:
        where = PartnerFilter(parent_id=self.row.id)
        return await partner_connection(info, where, [Order("NAME")], first=first, after=after)

    @strawberry.field(description="Every event of this partner with the fields it changed.")
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Annotated[PartnerChangeConnection, strawberry.lazy("app.schema.history")]:
        from app.schema.history import history_connection

        return await history_connection(info, self.row.id, first, after)


async def partner_connection(
    info: Info,
    where: PartnerFilter | None,
    orders: list[Order],
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Partner]:
    check_page_args(first, after, last, before)
    directory = info.context.services.directory
    now = info.context.now
    counting = count_beside(directory.total_at(where, search, now)) if selects_count(info) else None
    try:
        page = await read_page(
            directory.page(
                where,
                orders,
                now=now,
                search=search,
                first=first,
                after=after,
                last=last,
                before=before,
            )
        )
    except BaseException:
        if counting is not None:
            counting.cancel()
        raise
    return make_connection(
        [Partner.from_row(row) for row in page.rows],
        page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        count=(lambda: counting)
        if counting is not None
        else lambda: directory.total(where, search, page.where),
    )


def _too_many_tags(tags: int, most: int) -> ClientError:
    """A partner's tags past the 20 the walk counted that do not fit in its cost."""
    message = Message(
        "the partner has %(tags)s tags, %(past)s more than the operation's cost counted, "
        "and the answer would pass %(max)s nodes; ask for fewer partners",
        tags=tags,
        past=tags - TAGS_COUNTED,
        max=most,
    )
    return ClientError(message, LIMIT_EXCEEDED)
