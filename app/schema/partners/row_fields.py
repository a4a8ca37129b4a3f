"""A partner's fields as the row gives them, worked out when first read.

`Partner.from_row` keeps the row and nothing else; `FROM_ROW` says how each plain field
of `Partner` comes from it. Building all 24 of them for each row of a page cost ~5 µs a
partner (a 50-row page: ~0.25 ms), where the page asks for a few.

Each field is a non-data descriptor on the class (`read_from_row`): read once, the value
is kept in the instance's `__dict__`, which Python looks in first from then on. (A
`__getattr__` would do the same, but every probe for an attribute a partner lacks —
graphql-core's and strawberry's `__await__`, `__as_strawberry_type__`… — would then go
through Python code and raise: it made a page slower, not faster.)
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from operator import attrgetter
from typing import Any, TypeVar

import strawberry

from app.queries.partners.rows import PartnerRow
from app.schema.descriptions import described
from app.schema.ids import to_global_id
from app.schema.partners.naming import named


@described(
    {
        "COMPANY": "A company (or organisation).",
        "PERSON": "An individual person.",
    }
)
@strawberry.enum(description="A company, or an individual person.")
class PartnerKind(Enum):
    COMPANY = "COMPANY"
    PERSON = "PERSON"


@described(
    {
        "CONTACT": "A person; shows the company's address.",
        "INVOICE": "An address to send invoices to.",
        "DELIVERY": "An address to deliver goods to.",
        "OTHER": "Another address of the company.",
    }
)
@strawberry.enum(description="What a child partner is to its parent.")
class AddressType(Enum):
    CONTACT = "CONTACT"
    INVOICE = "INVOICE"
    DELIVERY = "DELIVERY"
    OTHER = "OTHER"


FROM_ROW: dict[str, Callable[[PartnerRow], Any]] = {
    "id": lambda row: strawberry.ID(to_global_id("Partner", row.id)),
    "kind": lambda row: PartnerKind(row.kind),
    "type": lambda row: AddressType(row.type),
    # Said in the request's language (app/schema/partners/naming.py): read during the
    # request's execution, whose locale is the request's.
    "name": lambda row: named(row.name, row),
    "display_name": lambda row: named(row.display_name, row),
    "email": attrgetter("email"),
    "phone": attrgetter("phone"),
    "mobile": attrgetter("mobile"),
    "website": attrgetter("website"),
    "lang": attrgetter("lang"),
    "tz": attrgetter("tz"),
    "function": attrgetter("function"),
    "vat": attrgetter("effective_vat"),
    "ref": attrgetter("ref"),
    "external_id": attrgetter("external_id"),
    "company_registry": attrgetter("company_registry"),
    "notes": attrgetter("notes"),
    "is_customer": attrgetter("is_customer"),
    "is_supplier": attrgetter("is_supplier"),
    "archived": attrgetter("archived"),
    "anonymized": attrgetter("anonymized"),
    "version": attrgetter("version"),
    "created_at": attrgetter("created_at"),
    "updated_at": attrgetter("updated_at"),
}
"""How each plain field of `Partner` (no resolver of its own) comes from its row."""


class _FromRow:
    """A field worked out from the instance's `row` when first read (see the module)."""

    __slots__ = ("name", "work_out")

    def __init__(self, name: str, work_out: Callable[[PartnerRow], Any]) -> None:
        self.name = name
        self.work_out = work_out

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        state = instance.__dict__
        value = state[self.name] = self.work_out(state["row"])
        return value


T = TypeVar("T")


def read_from_row(cls: type[T]) -> type[T]:
    """Makes each field of `FROM_ROW` a `_FromRow` of `cls` (a strawberry type already
    made: its fields and schema are not touched; an instance built with all its values
    never reads them)."""
    for name, work_out in FROM_ROW.items():
        setattr(cls, name, _FromRow(name, work_out))
    return cls
