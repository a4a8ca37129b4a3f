"""What a document takes of its partner's commercial terms, and what it tells of the
partner: the side a document is on (customer or supplier), the terms that side uses, the
partner terms they are taken from, and the role a first sale or purchase gives.

A document takes the terms in force when it is recorded, and keeps them: they are
carried by its `Recorded` event, so a later change of the partner's terms changes no
recorded document. Terms are those of the commercial partner (a contact's company), as
`Partner.commercialTerms` shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.partner_state import FlagField, PartnerField

Side = Literal["CUSTOMER", "SUPPLIER"]
DocumentTerm = Literal[
    "payment_term_id",
    "pricelist_id",
    "salesperson_id",
    "account_id",
    "fiscal_position_id",
    "delivery_method_id",
]
"""A term a document carries (an id of a catalog entry)."""
DOCUMENT_TERMS: tuple[DocumentTerm, ...] = get_args(DocumentTerm)
TERM_SOURCES = ("PARTNER", "COMPANY", "EXPLICIT")

CATALOG_OF_TERM: dict[DocumentTerm, str] = {
    "payment_term_id": "PAYMENT_TERM",
    "pricelist_id": "PRICELIST",
    "salesperson_id": "SALESPERSON",
    "account_id": "ACCOUNT",
    "fiscal_position_id": "FISCAL_POSITION",
    "delivery_method_id": "DELIVERY_METHOD",
}
TAKEN_FROM: dict[Side, dict[DocumentTerm, PartnerField]] = {
    "CUSTOMER": {
        "payment_term_id": "customer_payment_term_id",
        "pricelist_id": "pricelist_id",
        "salesperson_id": "salesperson_id",
        "account_id": "receivable_account_id",
        "fiscal_position_id": "fiscal_position_id",
        "delivery_method_id": "delivery_method_id",
    },
    "SUPPLIER": {
        "payment_term_id": "vendor_payment_term_id",
        "account_id": "payable_account_id",
        "fiscal_position_id": "fiscal_position_id",
    },
}
"""The terms each side takes, and the partner's term each one is taken from."""
ACCOUNT_TYPE_OF_SIDE: dict[Side, str] = {"CUSTOMER": "RECEIVABLE", "SUPPLIER": "PAYABLE"}

_SIDE_OF_KIND: dict[str, Side] = {
    "QUOTATION": "CUSTOMER",
    "SALE_ORDER": "CUSTOMER",
    "INVOICE": "CUSTOMER",
    "CREDIT_NOTE": "CUSTOMER",
    "PURCHASE_ORDER": "SUPPLIER",
    "VENDOR_BILL": "SUPPLIER",
}
_SIDE_OF_PAYMENT: dict[str, Side] = {"INBOUND": "CUSTOMER", "OUTBOUND": "SUPPLIER"}

ROLE_OF_KIND: dict[str, tuple[FlagField, str]] = {
    "SALE_ORDER": ("is_customer", "customer"),
    "INVOICE": ("is_customer", "customer"),
    "PURCHASE_ORDER": ("is_supplier", "supplier"),
    "VENDOR_BILL": ("is_supplier", "supplier"),
}
"""Kinds that make their commercial partner a customer or a supplier (Odoo raises its
customer or supplier rank), with the role's name."""

INPUT_NAMES: dict[DocumentTerm, str] = {
    "payment_term_id": "paymentTermId",
    "pricelist_id": "pricelistId",
    "salesperson_id": "salespersonId",
    "account_id": "accountId",
    "fiscal_position_id": "fiscalPositionId",
    "delivery_method_id": "deliveryMethodId",
}


def side_of(kind: str, direction: str | None) -> Side | None:
    """CUSTOMER for quotations, sale orders, invoices, credit notes and payments from a
    customer; SUPPLIER for purchase orders, vendor bills and payments to a supplier; None
    for the other kinds (tickets, leads…), which take no terms."""
    if kind == "PAYMENT":
        return _SIDE_OF_PAYMENT[direction or "INBOUND"]
    return _SIDE_OF_KIND.get(kind)


def explicit_terms(side: Side | None, values: Mapping[str, Any]) -> dict[DocumentTerm, str]:
    """The terms the caller gave (one sent as null is not given), each one its side takes:
    a term a document of this kind does not carry is a VALIDATION error."""
    given = {term: str(values[term]) for term in DOCUMENT_TERMS if values.get(term) is not None}
    taken = TAKEN_FROM[side] if side is not None else {}
    errors = [
        FieldError(
            (INPUT_NAMES[term],),
            ErrorCode.VALIDATION,
            Message(
                "a %(kind)s takes no %(term)s; %(reason)s",
                kind=_label(values),
                term=INPUT_NAMES[term],
                reason=Message("it takes %(terms)s", terms=_names(taken)) if taken else _NO_TERMS,
            ),
        )
        for term in given
        if term not in taken
    ]
    if errors:
        raise DomainError(errors)
    return given


def terms_in_force(
    side: Side,
    explicit: Mapping[DocumentTerm, str],
    commercial_values: Mapping[str, Any],
    *,
    commercial_id: str,
    own: bool,
) -> dict[str, Any]:
    """The terms a new document takes: those given, the others from its commercial
    partner's values now (`own`: the document's partner is its own commercial partner).

    `source` is per document: EXPLICIT when the caller gave at least one term (`explicit`
    names which), else PARTNER or COMPANY; `taken_from` is the commercial partner."""
    terms: dict[str, Any] = {
        term: explicit[term] if term in explicit else commercial_values.get(field)
        for term, field in TAKEN_FROM[side].items()
    }
    source = "EXPLICIT" if explicit else "PARTNER" if own else "COMPANY"
    return terms | {"source": source, "taken_from": commercial_id, "explicit": sorted(explicit)}


def role_given(kind: str, status: str) -> tuple[FlagField, str] | None:
    """The role (flag, name) a document of this kind gives its commercial partner; a
    cancelled one gives none."""
    return None if status == "CANCELLED" else ROLE_OF_KIND.get(kind)


_NO_TERMS = Message(
    "only quotations, orders, invoices, bills, credit notes and payments take terms"
)


def _label(values: Mapping[str, Any]) -> str:
    kind = str(values.get("kind") or "document").replace("_", " ").lower()
    if kind == "payment":
        return f"{str(values.get('direction') or 'inbound').lower()} payment"
    return kind


def _names(taken: Mapping[DocumentTerm, PartnerField]) -> str:
    return ", ".join(INPUT_NAMES[term] for term in taken)
