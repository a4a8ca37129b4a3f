"""A partner's values, typed: the state its events build, and the change sets they carry.

Events and snapshots store the values as they always did, a dict keyed by field name
(`Partner.values`, the events' `values` and `changes`): stored events keep loading, and
the mapper finds the personal fields in them. Code reads them through these types, so a
misspelt field is a type error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, get_args

from app.domain.messages import Message

ReferenceField = Literal["parent_id", "industry_id", "salesperson_id"]
"""A field that holds the id of another record: its company, industry, salesperson."""
TextField = Literal[
    "name",
    "function",
    "street",
    "street2",
    "city",
    "zip",
    "ref",
    "company_registry",
    "notes",
    "external_id",
]
"""A field of free text (trimmed, of a bounded length)."""
CodedField = Literal[
    "email",
    "phone",
    "mobile",
    "website",
    "lang",
    "tz",
    "country_code",
    "state_code",
    "vat",
]
"""A field whose value has a format or comes from a list (checked in partner_values.py)."""
FlagField = Literal["is_customer", "is_supplier"]
"""A field that is true or false."""

PartnerField = Literal[
    "type",
    ReferenceField,
    TextField,
    CodedField,
    FlagField,
    "tag_ids",
    "customer_payment_term_id",
    "vendor_payment_term_id",
    "pricelist_id",
    "delivery_method_id",
    "receivable_account_id",
    "payable_account_id",
    "fiscal_position_id",
    "credit_limit",
]
"""The name of a partner field (its coordinates, roles, tags and commercial terms)."""

PARTNER_FIELDS: tuple[PartnerField, ...] = get_args(PartnerField)
_NAMES = frozenset(PARTNER_FIELDS)


def partner_field(name: str) -> PartnerField:
    """A field name read from stored data, checked."""
    if name not in _NAMES:
        raise ValueError(Message("%(name)r is not a partner field", name=name))
    return name


Money = dict[str, str]
"""An amount and its currency: {"amount": "5000", "currency": "EUR"}."""


class PartnerValues(TypedDict, total=False):
    """Some of a partner's fields by name, as events store them: the values a partner
    was registered with, or the fields an event changed (None: cleared)."""

    type: str
    parent_id: str | None
    industry_id: str | None
    salesperson_id: str | None
    name: str | None
    function: str | None
    street: str | None
    street2: str | None
    city: str | None
    zip: str | None
    ref: str | None
    company_registry: str | None
    notes: str | None
    external_id: str | None
    email: str | None
    phone: str | None
    mobile: str | None
    website: str | None
    lang: str | None
    tz: str | None
    country_code: str | None
    state_code: str | None
    vat: str | None
    is_customer: bool
    is_supplier: bool
    tag_ids: list[str]
    customer_payment_term_id: str | None
    vendor_payment_term_id: str | None
    pricelist_id: str | None
    delivery_method_id: str | None
    receivable_account_id: str | None
    payable_account_id: str | None
    fiscal_position_id: str | None
    credit_limit: Money | None


@dataclass(frozen=True)
class PartnerState:
    """Every field of a partner, as its events left them (None: not set, or erased)."""

    type: str = "CONTACT"
    parent_id: str | None = None
    industry_id: str | None = None
    salesperson_id: str | None = None
    name: str | None = None
    function: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    zip: str | None = None
    ref: str | None = None
    company_registry: str | None = None
    notes: str | None = None
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    website: str | None = None
    lang: str | None = None
    tz: str | None = None
    country_code: str | None = None
    state_code: str | None = None
    vat: str | None = None
    is_customer: bool = False
    is_supplier: bool = False
    tag_ids: tuple[str, ...] = ()
    customer_payment_term_id: str | None = None
    vendor_payment_term_id: str | None = None
    pricelist_id: str | None = None
    delivery_method_id: str | None = None
    receivable_account_id: str | None = None
    payable_account_id: str | None = None
    fiscal_position_id: str | None = None
    credit_limit: Money | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> PartnerState:
        """The state held by stored values (a field they lack keeps its default).

        Built on every read of `Partner.state`, so without `__init__`: the fields given
        go straight into the instance, the others are the class's defaults (~10 times
        faster than calling `__init__` with the 34 fields)."""
        state = object.__new__(cls)
        given: dict[str, Any] = {f: v for f, v in values.items() if v is not None and f in _NAMES}
        if "tag_ids" in given:
            given["tag_ids"] = tuple(given["tag_ids"])
        vars(state).update(given)
        return state

    def value(self, field: PartnerField) -> Any:
        """A field named at run time (a merge's chosen fields), as events store it."""
        found = getattr(self, field)
        return list(found) if field == "tag_ids" else found
