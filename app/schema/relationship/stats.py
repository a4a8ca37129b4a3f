"""A partner's figures (`Partner.stats`): counts of its records, and money per currency
on the customer side (invoiced, paid, due, overdue) and on the supplier side (billed,
paid)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.queries.figure_queries import Stats
from app.schema.catalogs.types import Money
from app.schema.descriptions import described
from app.schema.relationship.descriptions import STATS_FIELDS


def _money(values: dict[str, Decimal]) -> list[Money]:
    return [Money(amount=amount, currency=currency) for currency, amount in sorted(values.items())]


@described(STATS_FIELDS)
@strawberry.type(description="The figures of a partner; a company's include its contacts'.")
class PartnerStats:
    stats: strawberry.Private[Stats]

    def _count(self, name: str) -> int:
        return self.stats.counts.get(name, 0)

    @strawberry.field
    def quotation_count(self) -> int:
        return self._count("quotation_count")

    @strawberry.field
    def sale_order_count(self) -> int:
        return self._count("sale_order_count")

    @strawberry.field
    def purchase_order_count(self) -> int:
        return self._count("purchase_order_count")

    @strawberry.field
    def invoice_count(self) -> int:
        return self._count("invoice_count")

    @strawberry.field
    def credit_note_count(self) -> int:
        return self._count("credit_note_count")

    @strawberry.field(
        description="Invoices minus credit notes (not draft or cancelled), per currency."
    )
    def total_invoiced(self) -> list[Money]:
        return _money(self.stats.invoiced)

    @strawberry.field(
        description="Paid on invoices (net of credit notes) plus inbound payments (from the "
        "customer), per currency; outbound payments are never in it."
    )
    def total_paid(self) -> list[Money]:
        return _money(self.stats.paid)

    @strawberry.field(description="Invoiced minus paid, per currency.")
    def amount_due(self) -> list[Money]:
        return _money(self.stats.due)

    @strawberry.field(
        description="What of open invoices fell due before today and is not paid, per "
        "currency: each one's instalments due before today less what was paid on it (see "
        "`Document.overdue`)."
    )
    def overdue_amount(self) -> list[Money]:
        return _money(self.stats.overdue)

    @strawberry.field(description="Vendor bills, cancelled ones left out.")
    def bill_count(self) -> int:
        return self._count("bill_count")

    @strawberry.field(description="Vendor bills (not draft or cancelled), per currency.")
    def total_billed(self) -> list[Money]:
        return _money(self.stats.billed)

    @strawberry.field(
        description="Paid on vendor bills plus outbound payments (to the supplier), per currency."
    )
    def total_paid_to_supplier(self) -> list[Money]:
        return _money(self.stats.paid_to_supplier)

    @strawberry.field(description="Sale orders (not draft or cancelled), per currency.")
    def sale_order_amount(self) -> list[Money]:
        return _money(self.stats.sale_ordered)

    @strawberry.field(description="Purchase orders (not draft or cancelled), per currency.")
    def purchase_order_amount(self) -> list[Money]:
        return _money(self.stats.purchase_ordered)

    @strawberry.field
    def ticket_count(self) -> int:
        return self._count("ticket_count")

    @strawberry.field
    def open_ticket_count(self) -> int:
        return self._count("open_ticket_count")

    @strawberry.field
    def opportunity_count(self) -> int:
        return self._count("opportunity_count")

    @strawberry.field
    def subscription_count(self) -> int:
        return self._count("subscription_count")

    @strawberry.field
    def project_count(self) -> int:
        return self._count("project_count")

    @strawberry.field
    def event_registration_count(self) -> int:
        return self._count("event_registration_count")

    @strawberry.field
    def open_activity_count(self) -> int:
        return self._count("open_activity_count")

    @strawberry.field
    def overdue_activity_count(self) -> int:
        return self._count("overdue_activity_count")

    @strawberry.field
    def last_interaction_at(self) -> datetime | None:
        return self.stats.last_interaction_at
