"""Documents other modules report, and the commercial terms a document took when it was
recorded (their enums are in enums.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from app.domain import document_dues
from app.domain.document import direction_of
from app.domain.document_terms import DOCUMENT_TERMS
from app.locales import formats
from app.queries.document_queries import DocumentRow
from app.schema.catalogs.schedule import Instalment
from app.schema.catalogs.types import (
    Account,
    DeliveryMethod,
    FiscalPosition,
    PaymentTerm,
    Pricelist,
    Salesperson,
)
from app.schema.context import Info
from app.schema.descriptions import RECORD, described
from app.schema.ids import to_global_id
from app.schema.partners.terms import load_entry
from app.schema.relationship.descriptions import DOCUMENT_FIELDS, TERMS_TAKEN
from app.schema.relationship.enums import (
    DocumentKind,
    DocumentModule,
    DocumentStatus,
    DocumentTermName,
    PaymentDirection,
    TermSource,
)
from app.schema.relationship.types import load_partner
from app.schema.relay import Node

if TYPE_CHECKING:
    from app.schema.partners.types import Partner

PartnerRef = Annotated["Partner", strawberry.lazy("app.schema.partners.types")]


def _id(terms: dict[str, Any], term: str) -> UUID | None:
    value = terms.get(term)
    return UUID(value) if value else None


@described(TERMS_TAKEN)
@strawberry.type(
    description="The commercial terms a document took when it was recorded, kept as they "
    "were: changing the partner's terms later changes no recorded document. Each term the "
    "caller did not give is the commercial partner's at that moment. Quotations, sale "
    "orders, invoices, credit notes and inbound payments take the customer payment term, "
    "pricelist, salesperson, receivable account, fiscal position and delivery method; "
    "purchase orders, vendor bills and outbound payments take the vendor payment term, the "
    "payable account and the fiscal position (the others stay null). `source` is per "
    "document; `explicitTerms` says which terms the caller gave."
)
class DocumentTerms:
    terms: strawberry.Private[dict[str, Any]]
    source: TermSource

    @strawberry.field(description="The customer payment term (customer side) or the vendor one.")
    async def payment_term(self, info: Info) -> PaymentTerm | None:
        return await load_entry(info, _id(self.terms, "payment_term_id"), PaymentTerm.from_row)

    @strawberry.field
    async def pricelist(self, info: Info) -> Pricelist | None:
        return await load_entry(info, _id(self.terms, "pricelist_id"), Pricelist.from_row)

    @strawberry.field
    async def salesperson(self, info: Info) -> Salesperson | None:
        return await load_entry(info, _id(self.terms, "salesperson_id"), Salesperson.from_row)

    @strawberry.field(description="The receivable account (customer side) or payable one.")
    async def account(self, info: Info) -> Account | None:
        return await load_entry(info, _id(self.terms, "account_id"), Account.from_row)

    @strawberry.field
    async def fiscal_position(self, info: Info) -> FiscalPosition | None:
        entry = _id(self.terms, "fiscal_position_id")
        return await load_entry(info, entry, FiscalPosition.from_row)

    @strawberry.field
    async def delivery_method(self, info: Info) -> DeliveryMethod | None:
        entry = _id(self.terms, "delivery_method_id")
        return await load_entry(info, entry, DeliveryMethod.from_row)

    @strawberry.field(description="The terms the caller gave; empty unless source is EXPLICIT.")
    def explicit_terms(self) -> list[DocumentTermName]:
        explicit = set(self.terms.get("explicit") or ())
        return [
            DocumentTermName(t.removesuffix("_id").upper()) for t in DOCUMENT_TERMS if t in explicit
        ]

    @strawberry.field(
        description="The commercial partner whose terms were in force when it was recorded."
    )
    async def taken_from(self, info: Info) -> PartnerRef | None:
        taken = _id(self.terms, "taken_from")
        return await load_partner(info, taken) if taken else None


@described(DOCUMENT_FIELDS, RECORD)
@strawberry.type(description="A record another module reported about a partner.")
class Document(Node):
    row: strawberry.Private[DocumentRow]
    module: DocumentModule
    kind: DocumentKind
    reference: str
    date: date
    amount: Decimal | None
    currency: str | None
    status: DocumentStatus
    amount_paid: Decimal | None
    direction: PaymentDirection | None = strawberry.field(
        description="INBOUND (from a customer) or OUTBOUND (to a supplier) for a payment; "
        "null for the other kinds."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: DocumentRow) -> Document:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Document", row.id)),
            module=DocumentModule(row.module),
            kind=DocumentKind(row.kind),
            reference=row.reference,
            date=row.date,
            amount=row.amount,
            currency=row.currency,
            status=DocumentStatus(row.status),
            amount_paid=row.amount_paid,
            direction=_direction(row),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(
        description="`amount` with its currency, as people of the request's language write it "
        "(`1 500,00 €` in French)."
    )
    def amount_formatted(self, info: Info) -> str | None:
        row = self.row
        if row.amount is None or not row.currency:
            return None
        return formats.money(row.amount, row.currency, info.context.locale)

    @strawberry.field(description="What is still to be paid (invoices, bills, credit notes).")
    def amount_residual(self) -> Decimal | None:
        row = self.row
        if row.kind not in ("INVOICE", "VENDOR_BILL", "CREDIT_NOTE") or row.amount is None:
            return None
        if row.status in ("PAID", "CANCELLED"):
            return Decimal("0.00")
        return row.amount - (row.amount_paid or Decimal(0))

    @strawberry.field
    async def partner(self, info: Info) -> PartnerRef | None:
        return await load_partner(info, self.row.partner_id)

    @strawberry.field(
        description="When an invoice, vendor bill or credit note falls due: the instalments "
        "of the payment term it took when recorded (all on its date without one), by due "
        "date, adding up to its amount; recomputed on the same lines when its amount "
        "changes. Empty for other kinds, without an amount, and for documents recorded "
        "before documents had due dates."
    )
    def due_dates(self) -> list[Instalment]:
        dues = document_dues.instalments(self.row.due_dates)
        return [Instalment.of(item, self.row.currency) for item in dues]

    @strawberry.field(
        description="An open invoice or vendor bill (OPEN, PARTIALLY_PAID) with an instalment "
        "due before today that is not paid yet (payments settle the earliest instalments "
        "first); today is the date in the partner's time zone (else its company's, else "
        "UTC). False for other kinds and statuses."
    )
    def overdue(self) -> bool:
        return self.row.overdue

    @strawberry.field(
        description="The commercial terms it took when recorded; null for kinds that take "
        "none (tickets, leads…) and for documents recorded before documents took terms."
    )
    def terms(self) -> DocumentTerms | None:
        terms = self.row.terms
        return (
            None
            if terms is None
            else DocumentTerms(terms=terms, source=TermSource(terms["source"]))
        )


def _direction(row: DocumentRow) -> PaymentDirection | None:
    direction = direction_of(row.kind, row.direction)
    return None if direction is None else PaymentDirection(direction)
