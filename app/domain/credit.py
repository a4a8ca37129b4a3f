"""A commercial partner's credit: how much a document adds to what the partner owes or has
ordered (its exposure), and the warning a sale order or invoice gets when it takes the
exposure over the partner's credit limit (as Odoo does: it warns, it never blocks).

Exposure, in the credit limit's currency (documents in other currencies do not count):
the residual of open invoices (OPEN, PARTIALLY_PAID) minus that of open credit notes,
plus confirmed sale orders (CONFIRMED: not yet invoiced; DONE ones are taken as invoiced,
their invoices count instead). Drafts and cancelled documents do not count. The read side
sums the same thing in SQL (app/queries/credit_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.errors import ErrorCode, FieldError
from app.domain.messages import Message

WARNED_KINDS = ("SALE_ORDER", "INVOICE")
"""The documents that warn when they take the exposure over the limit."""
_OPEN = ("OPEN", "PARTIALLY_PAID")


@dataclass(frozen=True)
class DocumentAmounts:
    """What of a document decides its share of the exposure."""

    kind: str
    status: str
    amount: Decimal | None
    amount_paid: Decimal | None
    currency: str | None


def exposure_of(document: DocumentAmounts) -> Decimal:
    """What the document adds to its commercial partner's exposure now (in its currency)."""
    if document.amount is None:
        return Decimal(0)
    residual = document.amount - (document.amount_paid or 0)
    if document.kind == "INVOICE" and document.status in _OPEN:
        return residual
    if document.kind == "CREDIT_NOTE" and document.status in _OPEN:
        return -residual
    if document.kind == "SALE_ORDER" and document.status == "CONFIRMED":
        return document.amount
    return Decimal(0)


def pending_of(document: DocumentAmounts) -> Decimal:
    """What a draft sale order or invoice will add once confirmed or issued (0 for others)."""
    if document.kind not in WARNED_KINDS or document.status != "DRAFT":
        return Decimal(0)
    return exposure_of(
        DocumentAmounts(
            document.kind,
            "CONFIRMED" if document.kind == "SALE_ORDER" else "OPEN",
            document.amount,
            document.amount_paid,
            document.currency,
        )
    )


@dataclass(frozen=True)
class Credit:
    """A commercial partner's credit limit and its exposure, in the limit's currency."""

    limit: Decimal
    currency: str
    exposure: Decimal

    @property
    def available(self) -> Decimal:
        """What is left before the limit (negative: by how much it is exceeded)."""
        return self.limit - self.exposure

    @property
    def exceeded(self) -> bool:
        """Over the limit; an exposure equal to it is not."""
        return self.exposure > self.limit


def credit_warning(
    credit: Credit | None, before: DocumentAmounts | None, after: DocumentAmounts
) -> FieldError | None:
    """The CREDIT_LIMIT warning of a sale order or invoice just recorded (`before` None) or
    changed: when the change raised what it adds (or, as a draft, would add) to the
    exposure, and the exposure with it (its draft amount included) is over the limit.
    `credit` is its commercial partner's, the document already counted in its exposure;
    None when that partner has no credit limit."""
    if credit is None or after.kind not in WARNED_KINDS or after.currency != credit.currency:
        return None
    share = exposure_of(after) + pending_of(after)
    earlier = Decimal(0) if before is None else exposure_of(before) + pending_of(before)
    raised = share > earlier or (before is not None and exposure_of(after) > exposure_of(before))
    total = credit.exposure + pending_of(after)
    if not raised or total <= credit.limit:
        return None
    label = after.kind.replace("_", " ").lower()
    verb = "would take" if after.status == "DRAFT" else "takes"
    return FieldError(
        (),
        ErrorCode.CREDIT_LIMIT,
        Message(
            "this %(label)s %(verb)s the partner's credit exposure to %(total)s %(currency)s, over its credit limit of %(limit)s %(currency)s by %(value)s %(currency)s",
            label=label,
            verb=verb,
            total=total,
            currency=credit.currency,
            limit=credit.limit,
            value=total - credit.limit,
        ),
    )
