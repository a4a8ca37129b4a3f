"""Inputs of the partner queries and mutations, and their translation to domain values."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from app.domain import contact_fields as cf
from app.domain import partner_fields
from app.queries.partners.filters import PartnerFilter
from app.queries.partners.ordering import Order
from app.schema.catalogs.inputs import MoneyInput
from app.schema.descriptions import COMMAND, described
from app.schema.ids import NO_MATCH, filter_id, record_id
from app.schema.partners.descriptions import FILTER_FIELDS, PARTNER_FIELDS, TERMS
from app.schema.partners.row_fields import AddressType, PartnerKind
from app.schema.relay import OrderDirection

"""An id no partner has: an unknown id in a filter matches nothing, it is not an error."""


@described(PARTNER_FIELDS, COMMAND)
@strawberry.input(description="A new partner. Only `kind` and (for contacts) `name` are required.")
class CreatePartnerInput:
    kind: PartnerKind
    name: str | None = None
    type: AddressType | None = None
    parent_id: strawberry.ID | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    website: str | None = None
    lang: str | None = None
    tz: str | None = None
    function: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    zip: str | None = None
    state_code: str | None = None
    country_code: str | None = None
    vat: str | None = None
    ref: str | None = None
    company_registry: str | None = None
    is_customer: bool | None = None
    is_supplier: bool | None = None
    industry_id: strawberry.ID | None = None
    salesperson_id: strawberry.ID | None = None
    tag_ids: list[strawberry.ID] | None = None
    notes: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Repeating a create with the same key returns the first result."
    )
    reason: str | None = None


@described(PARTNER_FIELDS, COMMAND)
@strawberry.input(
    description="A patch: fields left out are unchanged, fields sent as null are cleared."
)
class UpdatePartnerInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    type: strawberry.Maybe[AddressType | None] = None
    parent_id: strawberry.Maybe[strawberry.ID | None] = None
    email: strawberry.Maybe[str | None] = None
    phone: strawberry.Maybe[str | None] = None
    mobile: strawberry.Maybe[str | None] = None
    website: strawberry.Maybe[str | None] = None
    lang: strawberry.Maybe[str | None] = None
    tz: strawberry.Maybe[str | None] = None
    function: strawberry.Maybe[str | None] = None
    street: strawberry.Maybe[str | None] = None
    street2: strawberry.Maybe[str | None] = None
    city: strawberry.Maybe[str | None] = None
    zip: strawberry.Maybe[str | None] = None
    state_code: strawberry.Maybe[str | None] = None
    country_code: strawberry.Maybe[str | None] = None
    vat: strawberry.Maybe[str | None] = None
    ref: strawberry.Maybe[str | None] = None
    company_registry: strawberry.Maybe[str | None] = None
    is_customer: strawberry.Maybe[bool | None] = None
    is_supplier: strawberry.Maybe[bool | None] = None
    industry_id: strawberry.Maybe[strawberry.ID | None] = None
    salesperson_id: strawberry.Maybe[strawberry.ID | None] = None
    tag_ids: strawberry.Maybe[list[strawberry.ID] | None] = strawberry.field(
        default=None, description="Replaces the partner's tags (see addPartnerTags)."
    )
    notes: strawberry.Maybe[str | None] = None


@described(COMMAND)
@strawberry.input(description="Archive or restore a partner.")
class PartnerStateInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(FILTER_FIELDS)
@strawberry.input(
    name="PartnerFilter",
    description="Conditions on partners; `and`, `or` and `not` combine them.",
)
class PartnerFilterInput:
    kind: PartnerKind | None = None
    is_customer: bool | None = None
    is_supplier: bool | None = None
    archived: bool | None = strawberry.field(
        default=None, description="Archived partners are left out unless this is given."
    )
    country_code: str | None = None
    state_code: str | None = strawberry.field(
        default=None, description="The ISO 3166-2 suffix; give countryCode too."
    )
    lang: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    parent_id: strawberry.ID | None = None
    commercial_partner_id: strawberry.ID | None = None
    email: str | None = None
    vat: str | None = None
    ref: str | None = None
    external_id: str | None = strawberry.field(
        default=None, description="The id given by the system a partner was imported from."
    )
    industry_id: strawberry.ID | None = None
    salesperson_id: strawberry.ID | None = None
    tag_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tagged with any of these tags or their sub-tags."
    )
    has_overdue_activities: bool | None = None
    has_overdue_invoices: bool | None = strawberry.field(
        default=None,
        description="true: an invoice of the partner's view (its own, and its contacts' for a "
        "commercial partner) is overdue now (see `Document.overdue`); false: none is.",
    )
    credit_exceeded: bool | None = strawberry.field(
        default=None,
        description="true: a commercial partner whose credit exposure is over its credit "
        "limit (see `Partner.credit`); false: every other partner.",
    )
    affiliated_with: strawberry.ID | None = strawberry.field(
        default=None,
        description="Affiliated now (see `Partner.affiliations`) with this partner: a "
        "company's affiliated people, a person's companies.",
    )
    and_: list[PartnerFilterInput] | None = strawberry.field(default=None, name="and")
    or_: list[PartnerFilterInput] | None = strawberry.field(default=None, name="or")
    not_: PartnerFilterInput | None = strawberry.field(default=None, name="not")

    def to_filter(self) -> PartnerFilter:
        return PartnerFilter(
            kind=self.kind.value if self.kind else None,
            is_customer=self.is_customer,
            is_supplier=self.is_supplier,
            archived=self.archived,
            country_code=self.country_code.strip().upper() if self.country_code else None,
            state_code=self.state_code.strip().upper().rpartition("-")[2]
            if self.state_code
            else None,
            lang=_lang(self.lang) if self.lang else None,
            created_after=self.created_after,
            created_before=self.created_before,
            updated_after=self.updated_after,
            updated_before=self.updated_before,
            parent_id=filter_id(self.parent_id, "Partner"),
            commercial_partner_id=filter_id(self.commercial_partner_id, "Partner"),
            email=self.email,
            vat="".join(ch for ch in self.vat if ch.isalnum() or ch == "/").upper()
            if self.vat
            else None,
            ref=self.ref,
            external_id=self.external_id,
            industry_id=filter_id(self.industry_id, "Industry"),
            salesperson_id=filter_id(self.salesperson_id, "Salesperson"),
            tag_ids=tuple(filter_id(t, "Tag") or NO_MATCH for t in self.tag_ids)
            if self.tag_ids is not None
            else None,
            has_overdue_activities=self.has_overdue_activities,
            has_overdue_invoices=self.has_overdue_invoices,
            credit_exceeded=self.credit_exceeded,
            affiliated_with=filter_id(self.affiliated_with, "Partner"),
            and_=tuple(f.to_filter() for f in self.and_ or ()),
            or_=tuple(f.to_filter() for f in self.or_ or ()),
            not_=self.not_.to_filter() if self.not_ else None,
        )


@described(
    {
        "NAME": "The name, ignoring case and accents.",
        "DISPLAY_NAME": '"Company, Person", ignoring case and accents.',
        "CREATED_AT": "When it was registered.",
        "UPDATED_AT": "When it last changed.",
        "COUNTRY": "The country code of the address that applies (none first).",
        "TOTAL_INVOICED": "`stats.totalInvoiced`, summed over currencies unconverted.",
        "RELEVANCE": "How well it matches the `search` (needs one): a name starting with it "
        "ranks above a match elsewhere, each rank alphabetical (NAME); best with DESC.",
    }
)
@strawberry.enum(description="What partners can be sorted by.")
class PartnerOrderField(Enum):
    NAME = "NAME"
    DISPLAY_NAME = "DISPLAY_NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    COUNTRY = "COUNTRY"
    TOTAL_INVOICED = "TOTAL_INVOICED"
    RELEVANCE = "RELEVANCE"


@strawberry.input(description="One sort key; later keys break the ties of earlier ones.")
class PartnerOrder:
    field: PartnerOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="Which way (ASC by default)."
    )

    def to_order(self) -> Order:
        return Order(self.field.value, descending=self.direction == OrderDirection.DESC)


def _lang(value: str) -> str:
    """As the field stores it (fr-fr is fr_FR); a code that is no language matches nothing."""
    try:
        return cf.normalize_lang(value)
    except cf.FieldInvalid:
        return value


def partner_id(global_id: str, field: str = "id") -> UUID:
    return record_id(global_id, "Partner", field)


REFERENCES = {
    "parent_id": ("Partner", "parentId"),
    "industry_id": ("Industry", "industryId"),
    "salesperson_id": ("Salesperson", "salespersonId"),
    "customer_payment_term_id": ("PaymentTerm", "customerPaymentTermId"),
    "vendor_payment_term_id": ("PaymentTerm", "vendorPaymentTermId"),
    "pricelist_id": ("Pricelist", "pricelistId"),
    "delivery_method_id": ("DeliveryMethod", "deliveryMethodId"),
    "receivable_account_id": ("Account", "receivableAccountId"),
    "payable_account_id": ("Account", "payableAccountId"),
    "fiscal_position_id": ("FiscalPosition", "fiscalPositionId"),
}
"""Domain field -> (type of the record it points to, API field name)."""


def _domain_value(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in REFERENCES:
        type_name, api_name = REFERENCES[field]
        return str(record_id(value, type_name, api_name))
    if field == "tag_ids":
        return [str(record_id(v, "Tag", "tagIds")) for v in value]
    if isinstance(value, AddressType):
        return value.value
    return value


def create_values(data: CreatePartnerInput) -> dict[str, Any]:
    # externalId is set by imports only (app/application/importing/): not in these inputs.
    return {f: _domain_value(f, getattr(data, f, None)) for f in partner_fields.FIELDS}


def update_changes(data: UpdatePartnerInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for f in partner_fields.FIELDS:
        given = getattr(data, f, None)
        if given is not None:  # a `Some`: the client sent the field, perhaps as null
            changes[f] = _domain_value(f, given.value)
    return changes


@described(COMMAND, TERMS)
@strawberry.input(description="A patch of the commercial terms: left out unchanged, null cleared.")
class SetCommercialTermsInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    customer_payment_term_id: strawberry.Maybe[strawberry.ID | None] = None
    vendor_payment_term_id: strawberry.Maybe[strawberry.ID | None] = None
    pricelist_id: strawberry.Maybe[strawberry.ID | None] = None
    delivery_method_id: strawberry.Maybe[strawberry.ID | None] = None
    salesperson_id: strawberry.Maybe[strawberry.ID | None] = None
    receivable_account_id: strawberry.Maybe[strawberry.ID | None] = None
    payable_account_id: strawberry.Maybe[strawberry.ID | None] = None
    fiscal_position_id: strawberry.Maybe[strawberry.ID | None] = None
    credit_limit: strawberry.Maybe[MoneyInput | None] = None


@described(COMMAND)
@strawberry.input(description="Tags to add to, or remove from, a partner.")
class PartnerTagsInput:
    id: strawberry.ID
    tag_ids: list[strawberry.ID] = strawberry.field(
        description="The tags (`Tag` ids) to add or remove; others are left as they are."
    )
    expected_version: int | None = None
    reason: str | None = None


def terms_changes(data: SetCommercialTermsInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in (*partner_fields.TERM_REFERENCES, "credit_limit"):
        given = getattr(data, field)
        if given is None:
            continue
        value = given.value
        if field == "credit_limit":
            changes[field] = (
                None if value is None else {"amount": str(value.amount), "currency": value.currency}
            )
        else:
            changes[field] = _domain_value(field, value)
    return changes
