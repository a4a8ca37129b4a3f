"""Documents other modules report about a partner: quotations, orders, invoices,
payments, tickets, subscriptions, projects, event registrations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain import document_dues
from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.catalog import Invalid, check_smallest_unit, normalize_amount, normalize_currency
from app.domain.changes import AttributesChanged
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.moved import MovedToPartner

KINDS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "SALES": ("QUOTATION", "SALE_ORDER"),
    "PURCHASE": ("PURCHASE_ORDER",),
    "ACCOUNTING": ("INVOICE", "VENDOR_BILL", "CREDIT_NOTE", "PAYMENT"),
    "HELPDESK": ("TICKET",),
    "CRM": ("LEAD",),
    "SUBSCRIPTION": ("SUBSCRIPTION",),
    "PROJECT": ("PROJECT",),
    "EVENT": ("EVENT_REGISTRATION",),
    "MARKETING": ("MAILING",),
}
MODULES = tuple(KINDS_BY_MODULE)
KINDS = tuple(k for kinds in KINDS_BY_MODULE.values() for k in kinds)

_INVOICE_STATES = ("DRAFT", "OPEN", "PARTIALLY_PAID", "PAID", "CANCELLED")
_ORDER_STATES = ("DRAFT", "CONFIRMED", "DONE", "CANCELLED")
STATUSES_BY_KIND: dict[str, tuple[str, ...]] = {
    "QUOTATION": ("DRAFT", "OPEN", "CONFIRMED", "CANCELLED"),
    "SALE_ORDER": _ORDER_STATES,
    "PURCHASE_ORDER": _ORDER_STATES,
    "INVOICE": _INVOICE_STATES,
    "VENDOR_BILL": _INVOICE_STATES,
    "CREDIT_NOTE": _INVOICE_STATES,
    "PAYMENT": ("DRAFT", "DONE", "CANCELLED"),
    "TICKET": ("OPEN", "DONE", "CANCELLED"),
    "LEAD": ("OPEN", "DONE", "CANCELLED"),
    "SUBSCRIPTION": ("DRAFT", "OPEN", "DONE", "CANCELLED"),
    "PROJECT": ("OPEN", "DONE", "CANCELLED"),
    "EVENT_REGISTRATION": ("CONFIRMED", "DONE", "CANCELLED"),
    "MAILING": ("DRAFT", "DONE", "CANCELLED"),
}
STATUSES = tuple(dict.fromkeys(s for states in STATUSES_BY_KIND.values() for s in states))
PAYABLE_KINDS = ("INVOICE", "VENDOR_BILL", "CREDIT_NOTE")
"""Kinds with an amount paid and a residual."""
PAYMENT_DIRECTIONS = ("INBOUND", "OUTBOUND")
"""A payment comes from a customer (INBOUND, the default) or goes to a supplier."""


def direction_of(kind: str, direction: str | None) -> str | None:
    """A document's payment direction: a payment recorded before payments had one came
    from a customer; other kinds have none."""
    if kind != "PAYMENT":
        return None
    return direction or "INBOUND"


def reference_key(module: str, kind: str, reference: str) -> str:
    """What must be unique: a reference within one module and kind."""
    return f"document:{module}:{kind}:{reference.casefold()}"


def _amount(field: str, value: Any, errors: list[FieldError]) -> str | None:
    try:
        return normalize_amount(value)
    except Invalid as error:
        errors.append(
            FieldError(
                (field,),
                ErrorCode.VALIDATION,
                Message("%(field)s %(error)s", field=field, error=error),
            )
        )
        return None


def _check_units(amounts: Mapping[str, Any], currency: Any, errors: list[FieldError]) -> None:
    """Refuses an amount finer than its currency's smallest unit (any kind of document)."""
    for field, value in amounts.items():
        try:
            if value is not None and currency is not None:
                check_smallest_unit(value, currency)
        except Invalid as error:
            errors.append(FieldError((field,), ErrorCode.VALIDATION, str(error)))


@dataclass(frozen=True)
class NewDocumentValues:
    """The values a new document is recorded with, checked and normalised (its status,
    and what a PAID status means for the amount paid, are for `Document.record`)."""

    module: str
    kind: str
    reference: str
    date: str
    amount: str | None
    currency: str | None
    amount_paid: str | None
    direction: str | None
    """INBOUND or OUTBOUND for a payment; None for the other kinds."""


def check_new_values(values: Mapping[str, Any]) -> NewDocumentValues:
    """Checks and normalises the values of a new document, reporting every problem at once."""
    errors: list[FieldError] = []
    module, kind = values.get("module"), values.get("kind")
    _check_module_and_kind(module, kind, errors)
    reference = _reference(values.get("reference"), errors)
    when = _date(values.get("date"), errors)
    amount = None if values.get("amount") is None else _amount("amount", values["amount"], errors)
    paid = (
        None
        if values.get("amount_paid") is None
        else _amount("amountPaid", values["amount_paid"], errors)
    )
    currency = _currency(values.get("currency"), amount, errors)
    _check_units({"amount": amount, "amountPaid": paid}, currency, errors)
    direction = _direction(kind, values.get("direction"), errors)
    if errors:
        raise DomainError(errors)
    assert isinstance(kind, str) and isinstance(module, str)
    return NewDocumentValues(module, kind, reference, when, amount, currency, paid, direction)


def _check_module_and_kind(module: Any, kind: Any, errors: list[FieldError]) -> None:
    if module not in KINDS_BY_MODULE:
        message = Message("module must be one of %(modules)s", modules=MODULES)
        errors.append(FieldError(("module",), ErrorCode.VALIDATION, message))
    elif kind not in KINDS_BY_MODULE[str(module)]:
        errors.append(
            FieldError(
                ("kind",),
                ErrorCode.VALIDATION,
                Message(
                    "the %(module)s module records %(value)s",
                    module=module,
                    value=", ".join(KINDS_BY_MODULE[str(module)]),
                ),
            )
        )


def _reference(value: Any, errors: list[FieldError]) -> str:
    reference = str(value or "").strip()
    if not reference or len(reference) > 100:
        errors.append(
            FieldError(
                ("reference",),
                ErrorCode.VALIDATION,
                "a reference of 1 to 100 characters is required",
            )
        )
    return reference


def _date(value: Any, errors: list[FieldError]) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        errors.append(FieldError(("date",), ErrorCode.VALIDATION, "date must be like 2026-12-31"))
        return ""


def _direction(kind: Any, value: Any, errors: list[FieldError]) -> str | None:
    if kind != "PAYMENT":
        if value is not None:
            errors.append(
                FieldError(("direction",), ErrorCode.VALIDATION, "only a payment has a direction")
            )
        return None
    if value is not None and value not in PAYMENT_DIRECTIONS:
        message = Message("direction must be one of %(directions)s", directions=PAYMENT_DIRECTIONS)
        errors.append(FieldError(("direction",), ErrorCode.VALIDATION, message))
    return direction_of(kind, value)


def _currency(value: Any, amount: str | None, errors: list[FieldError]) -> str | None:
    if value is not None:
        try:
            return normalize_currency(value)
        except Invalid as error:
            errors.append(FieldError(("currency",), ErrorCode.VALIDATION, str(error)))
    elif amount is not None:
        errors.append(FieldError(("currency",), ErrorCode.VALIDATION, "an amount needs a currency"))
    return None


def _check_paid(kind: str, status: str, amount: str | None, paid: str | None) -> None:
    if paid is not None and amount is None and Decimal(paid) != 0:
        raise DomainError.single(ErrorCode.VALIDATION, "amountPaid needs an amount", "amountPaid")
    if kind not in PAYABLE_KINDS:
        if paid is not None and Decimal(paid) != 0:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message("a %(value)s has no amount paid", value=_label(kind)),
                "amountPaid",
            )
        return
    if paid is not None and amount is not None and Decimal(paid) > Decimal(amount):
        raise DomainError.single(
            ErrorCode.VALIDATION, "amountPaid cannot exceed the amount", "amountPaid"
        )


class Document(Aggregate):
    direction: str | None = None
    """INBOUND or OUTBOUND for a payment recorded with one (see `direction_of`)."""
    terms: dict[str, Any] | None = None
    """The commercial terms it took when recorded (None: none, or recorded before)."""
    due_dates: list[dict[str, Any]] | None = None
    """Its instalments (app/domain/document_dues.py); None: a kind without due dates, or
    a document recorded before documents had them."""
    payment_term_lines: list[dict[str, Any]] | None = None
    """The lines of the payment term it took, as they were when it was recorded."""

    class Recorded(AuditedCreated):
        partner_id: str
        module: str
        kind: str
        reference: str
        date: str
        amount: str | None
        currency: str | None
        status: str
        amount_paid: str | None
        direction: str | None = None
        """A payment's direction (None: a payment recorded before payments had one, which
        came from a customer, or another kind)."""
        terms: dict[str, Any] | None = None
        """The commercial terms the document took (see app/domain/document_terms.py);
        None for kinds on neither side, and for documents recorded before terms were."""
        due_dates: list[dict[str, Any]] | None = None
        """The instalments of an invoice, vendor bill or credit note (None: another kind,
        or one recorded before documents had due dates)."""
        payment_term_lines: list[dict[str, Any]] | None = None
        """The lines of the payment term those instalments follow ([]: none, all due on
        the document's date), kept to spread a new amount the same way."""

    class StatusChanged(AuditedEvent):
        status: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Document)
            aggregate.status = self.status

    class AmountsChanged(AttributesChanged):
        """Its amount or amount paid changed; with a new amount, its `due_dates` too (when
        it has due dates)."""

    def __init__(
        self,
        partner_id: str,
        module: str,
        kind: str,
        reference: str,
        date: str,
        amount: str | None,
        currency: str | None,
        status: str,
        amount_paid: str | None,
        direction: str | None = None,
        terms: dict[str, Any] | None = None,
        due_dates: list[dict[str, Any]] | None = None,
        payment_term_lines: list[dict[str, Any]] | None = None,
    ) -> None:
        self.partner_id = partner_id
        self.module = module
        self.kind = kind
        self.reference = reference
        self.date = date
        self.amount = amount
        self.currency = currency
        self.status = status
        self.amount_paid = amount_paid
        # Only when given: a document recorded before these existed loads as it always did.
        if direction is not None:
            self.direction = direction
        if terms is not None:
            self.terms = terms
        if due_dates is not None:
            self.due_dates = due_dates
            self.payment_term_lines = payment_term_lines

    @classmethod
    def record(
        cls,
        *,
        document_id: UUID,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        terms: Mapping[str, Any] | None = None,
        payment_term_lines: list[dict[str, Any]] | None = None,
    ) -> Document:
        """`terms`: the commercial terms it takes (app/domain/document_terms.py);
        `payment_term_lines`: the lines of its payment term (None or []: none), from which
        an invoice, vendor bill or credit note gets its due dates."""
        given = check_new_values(values)
        status = values.get("status") or STATUSES_BY_KIND[given.kind][0]
        _check_status(given.kind, status)
        paid = given.amount_paid
        if status == "PAID" and given.kind in PAYABLE_KINDS and given.amount is not None:
            paid = given.amount  # paid means paid in full
        _check_paid(given.kind, status, given.amount, paid)
        lines = list(payment_term_lines or [])
        dues = document_dues.due_dates(given.kind, lines, given.date, given.amount, given.currency)
        return cls._create(
            cls.Recorded,
            id=document_id,
            partner_id=str(partner_id),
            module=given.module,
            kind=given.kind,
            reference=given.reference,
            date=given.date,
            amount=given.amount,
            currency=given.currency,
            status=status,
            amount_paid=paid,
            direction=given.direction,
            terms=dict(terms) if terms is not None else None,
            due_dates=dues,
            payment_term_lines=lines if dues is not None else None,
            **audit.as_event_fields(),
        )

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        fields = audit.as_event_fields()
        errors: list[FieldError] = []
        amounts: dict[str, Any] = {}
        for field, api in (("amount", "amount"), ("amount_paid", "amountPaid")):
            if field in changes:
                value = changes[field]
                amounts[field] = None if value is None else _amount(api, value, errors)
        named = {"amount": amounts.get("amount"), "amountPaid": amounts.get("amount_paid")}
        _check_units(named, self.currency, errors)
        if errors:
            raise DomainError(errors)
        status = changes.get("status") or self.status
        _check_status(self.kind, status)
        amount = amounts.get("amount", self.amount)
        if status == "PAID" and self.kind in PAYABLE_KINDS and amount is not None:
            given = amounts.get("amount_paid")
            if given is not None and Decimal(given) != Decimal(amount):
                raise DomainError.single(
                    ErrorCode.VALIDATION,
                    "a PAID document is paid in full; use PARTIALLY_PAID for part of it",
                    "amountPaid",
                )
            amounts["amount_paid"] = amount  # paid means paid in full
        _check_paid(
            self.kind,
            status,
            amounts.get("amount", self.amount),
            amounts.get("amount_paid", self.amount_paid),
        )
        if amounts.get("amount") is not None and self.currency is None:
            raise DomainError.single(
                ErrorCode.VALIDATION, "this document has no currency", "amount"
            )
        diff = {k: v for k, v in amounts.items() if getattr(self, k) != v}
        if "amount" in diff and self.due_dates is not None:
            lines = self.payment_term_lines
            diff["due_dates"] = document_dues.due_dates(
                self.kind, lines, self.date, diff["amount"], self.currency
            )
        changed = False
        if diff:
            self.trigger_event(self.AmountsChanged, changes=diff, **fields)
            changed = True
        if status != self.status:
            self.trigger_event(self.StatusChanged, status=status, **fields)
            changed = True
        return changed

    class Moved(MovedToPartner):
        """Now belongs to another partner: a merge (or its undoing) moved it."""


def _label(kind: str) -> str:
    return kind.replace("_", " ").lower()


def _check_status(kind: str, status: Any) -> None:
    if status not in STATUSES_BY_KIND[kind]:
        allowed, label = ", ".join(STATUSES_BY_KIND[kind]), _label(kind)
        message = Message(
            "the status of a %(label)s is one of %(allowed)s", label=label, allowed=allowed
        )
        raise DomainError.single(ErrorCode.VALIDATION, message, "status")
