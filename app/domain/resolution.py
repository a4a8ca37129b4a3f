"""How a partner's effective values follow from its own and its parent's: the name an
unnamed address shows, "Company, Person", the commercial partner, the company's address
on its contacts, and the VAT, industry and salesperson taken from the commercial partner.

This is the one statement of those rules in Python. The `partners` projection applies the
same rules in SQL over stored rows (app/projections/partner_resolution.py, whose columns
carry the names of `Resolved`); tests/projections/test_resolution_equivalence.py proves
both give the same rows for random histories. A child's other commercial terms (payment
terms, pricelist, accounts…) are not copied: they are read from `commercial_partner_id`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from app.domain.erasure import ANONYMIZED_NAME
from app.domain.partner_fields import ADDRESS_FIELDS, TYPE_LABELS

INHERITED_ADDRESS: tuple[str, ...] = ADDRESS_FIELDS
"""What a contact-type person of a company shows of the company instead of its own."""

FROM_COMMERCIAL: dict[str, str] = {"effective_vat": "vat", "effective_industry_id": "industry_id"}
"""Effective value -> own field: a child always shows its commercial partner's."""

OWN_ELSE_COMMERCIAL: dict[str, str] = {"effective_salesperson_id": "salesperson_id"}
"""Effective value -> own field: its own when it has one, else its commercial partner's."""

READ_FROM_PARENT: frozenset[str] = frozenset(
    {
        "name",
        "type",
        "parent_id",
        *INHERITED_ADDRESS,
        *FROM_COMMERCIAL.values(),
        *OWN_ELSE_COMMERCIAL.values(),
    }
)
"""A partner's own fields that its children's resolved values read (through its name,
its address and its effective values): when one changes, its children resolve again."""


@dataclass(frozen=True)
class Own:
    """What resolution reads of a partner's own state."""

    id: UUID
    kind: str
    type: str
    name: str | None
    parent_id: UUID | None
    address: Mapping[str, str | None]
    """Its own value of each of `INHERITED_ADDRESS`."""
    vat: str | None
    industry_id: UUID | None
    salesperson_id: UUID | None

    @classmethod
    def of(
        cls, partner_id: UUID, kind: str, values: Mapping[str, Any], *, anonymized: bool = False
    ) -> Own:
        """From a partner's stored values (`Partner.values`: ids as text, absent = None)."""
        name = values.get("name")
        if name is None and anonymized:
            name = ANONYMIZED_NAME
        return cls(
            id=partner_id,
            kind=kind,
            type=values.get("type") or "CONTACT",
            name=name,
            parent_id=_uuid(values.get("parent_id")),
            address={f: values.get(f) for f in INHERITED_ADDRESS},
            vat=values.get("vat"),
            industry_id=_uuid(values.get("industry_id")),
            salesperson_id=_uuid(values.get("salesperson_id")),
        )


class ResolvedParent(Protocol):
    """What a child reads of its parent's resolved values (a `Resolved`, or a row of the
    `partners` table, which holds the same names)."""

    @property
    def name(self) -> str: ...
    @property
    def commercial_partner_id(self) -> UUID: ...
    @property
    def address_from_id(self) -> UUID: ...
    @property
    def street(self) -> str | None: ...
    @property
    def street2(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def zip(self) -> str | None: ...
    @property
    def state_code(self) -> str | None: ...
    @property
    def country_code(self) -> str | None: ...
    @property
    def effective_vat(self) -> str | None: ...
    @property
    def effective_industry_id(self) -> UUID | None: ...
    @property
    def effective_salesperson_id(self) -> UUID | None: ...


@dataclass(frozen=True)
class Resolved:
    """A partner's resolved values, named as the `partners` table's columns."""

    parent_id: UUID | None
    """Its parent, when the parent is known (a row resolved without it has none)."""
    own_name: str | None
    name: str
    display_name: str
    commercial_partner_id: UUID
    address_from_id: UUID
    """The partner whose address it shows (itself, or its company)."""
    street: str | None
    street2: str | None
    city: str | None
    zip: str | None
    state_code: str | None
    country_code: str | None
    effective_vat: str | None
    effective_industry_id: UUID | None
    effective_salesperson_id: UUID | None


def is_commercial(own: Own, parent: ResolvedParent | None) -> bool:
    """A company, or a partner on its own (no known parent), holds its commercial values."""
    return own.kind == "COMPANY" or parent is None


def inherits_address(own: Own, parent: ResolvedParent | None) -> bool:
    """A person of type CONTACT shows its company's address."""
    return own.kind == "PERSON" and own.type == "CONTACT" and parent is not None


def resolve(own: Own, parent: ResolvedParent | None) -> Resolved:
    """The partner's resolved values, its parent resolved as `parent` (None: it has none,
    or its parent is unknown, in which case it resolves as a partner on its own)."""
    if own.parent_id is None:
        parent = None
    # An unnamed invoice/delivery/other address shows its type (a contact has a name).
    name = own.name or TYPE_LABELS.get(own.type, "")
    if parent is None or is_commercial(own, parent):
        effective = {e: getattr(own, f) for e, f in (FROM_COMMERCIAL | OWN_ELSE_COMMERCIAL).items()}
        commercial_partner_id = own.id
    else:
        effective = {e: getattr(parent, e) for e in FROM_COMMERCIAL} | {
            e: getattr(own, f) or getattr(parent, e) for e, f in OWN_ELSE_COMMERCIAL.items()
        }
        commercial_partner_id = parent.commercial_partner_id
    if parent is not None and inherits_address(own, parent):
        address_from_id = parent.address_from_id
        address = {f: getattr(parent, f) for f in INHERITED_ADDRESS}
    else:
        address_from_id = own.id
        address = dict(own.address)
    return Resolved(
        parent_id=own.parent_id if parent is not None else None,
        own_name=own.name,
        name=name,
        display_name=f"{parent.name}, {name}" if own.kind == "PERSON" and parent else name,
        commercial_partner_id=commercial_partner_id,
        address_from_id=address_from_id,
        **address,
        **effective,
    )


def _uuid(value: Any) -> UUID | None:
    return UUID(str(value)) if value else None
