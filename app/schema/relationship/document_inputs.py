"""What clients send to record a document or change it, and the command values made of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from app.domain.document_terms import INPUT_NAMES, DocumentTerm
from app.schema.catalogs.inputs import plain
from app.schema.descriptions import COMMAND, described
from app.schema.ids import record_id
from app.schema.relationship.descriptions import DOCUMENT_FIELDS
from app.schema.relationship.enums import (
    DocumentKind,
    DocumentModule,
    DocumentStatus,
    PaymentDirection,
)

TERM_TYPES: dict[DocumentTerm, str] = {
    "payment_term_id": "PaymentTerm",
    "pricelist_id": "Pricelist",
    "salesperson_id": "Salesperson",
    "account_id": "Account",
    "fiscal_position_id": "FiscalPosition",
    "delivery_method_id": "DeliveryMethod",
}
"""Each term a document may be given, and the type of the record its id names."""


@described(DOCUMENT_FIELDS, COMMAND)
@strawberry.input(
    description="A document another module made. A document of the customer or supplier "
    "side takes the commercial terms in force for its partner (see `DocumentTerms`), except "
    "the terms given here: each id given is checked as on partners (it exists in its "
    "catalog: NOT_FOUND; it is not archived: ARCHIVED) and is the document's own; a term "
    "left out or null is the partner's. A term its side does not take is a VALIDATION error."
)
class RecordDocumentInput:
    partner_id: strawberry.ID
    module: DocumentModule
    kind: DocumentKind
    reference: str
    date: date
    amount: Decimal | None = None
    currency: str | None = None
    status: DocumentStatus | None = None
    amount_paid: Decimal | None = None
    direction: PaymentDirection | None = strawberry.field(
        default=None,
        description="A payment's direction: INBOUND (from a customer, the default) or "
        "OUTBOUND (to a supplier). Only payments have one.",
    )
    payment_term_id: strawberry.ID | None = None
    pricelist_id: strawberry.ID | None = None
    salesperson_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A RECEIVABLE account on the customer side, a PAYABLE one on the "
        "supplier side (else VALIDATION).",
    )
    fiscal_position_id: strawberry.ID | None = None
    delivery_method_id: strawberry.ID | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(DOCUMENT_FIELDS, COMMAND)
@strawberry.input(description="A status change (an invoice gets paid) or new amounts.")
class UpdateDocumentInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    status: DocumentStatus | None = strawberry.field(
        default=None, description="The new status; PAID sets `amountPaid` to the amount."
    )
    amount: strawberry.Maybe[Decimal | None] = None
    amount_paid: strawberry.Maybe[Decimal | None] = None


def document_values(input: RecordDocumentInput) -> dict[str, Any]:
    """The values `record_document` takes: plain values, record ids decoded."""
    values = {
        "module": plain(input.module),
        "kind": plain(input.kind),
        "reference": input.reference,
        "date": input.date.isoformat(),
        "amount": plain(input.amount),
        "currency": input.currency,
        "status": plain(input.status),
        "amount_paid": plain(input.amount_paid),
    }
    # Only when given: a retried request from before payments had a direction, under the
    # same idempotency key, is still the same input.
    if input.direction is not None:
        values["direction"] = plain(input.direction)
    for term, type_name in TERM_TYPES.items():
        given = getattr(input, term)
        if given is not None:
            values[term] = str(record_id(given, type_name, INPUT_NAMES[term]))
    return values
