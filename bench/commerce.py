"""Invoices, payments, sale orders and credit limits for the benchmarks (issue 18), over
partners already generated and projected (`bench/generate.py`).

A share of the commercial partners (`SHARE`) trades: one to four invoices each over the
last 120 days, on one of three payment terms (at once; 30 days; 30% now and the balance
at 45 days end of month), some on a contact of the company; most are paid (with their
inbound payment), some partly, some open (those past their due date are overdue), a few
cancelled; some partners have a confirmed sale order; some a credit limit, a few of them
exceeded. Documents are built with `Document.record` (the due dates from the payment
term's lines, as `record_document` does after its checks, skipped here: every reference
exists) and saved with `app.save(*aggregates)`, ~400 per transaction; credit limits with
`Partner.set_commercial_terms`. Dates are relative to today, so that what is overdue
is overdue for the server that answers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.document import Document
from app.domain.document_terms import terms_in_force
from app.domain.partner import Partner
from app.infra.database import Database

SHARE = 0.3
"""Commercial partners that have documents."""
LIMITED = 0.25
"""Of those, the ones with a credit limit."""
TERMS: dict[str, list[dict[str, Any]]] = {
    "Immediate payment": [],
    "30 days": [{"kind": "BALANCE", "days": 30}],
    "30% now, balance 45 days end of month": [
        {"kind": "PERCENT", "value": "30"},
        {"kind": "BALANCE", "days": 45, "end_of_month": True},
    ],
}


@dataclass
class CommerceStats:
    partners: int = 0
    documents: int = 0
    invoices: int = 0
    credit_limits: int = 0


def create_payment_terms(app: Partnerbook, audit: Audit) -> list[tuple[UUID, list[Any]]]:
    """The payment terms, and their lines as a document takes them."""
    terms = []
    for name, lines in TERMS.items():
        term_id = app.create_catalog_entry("PAYMENT_TERM", {"name": name, "lines": lines}, audit).id
        entry: Any = app.repository.get(term_id)
        terms.append((term_id, [dict(line) for line in entry.values.get("lines") or []]))
    return terms


def commercial_partners(db: Database) -> dict[UUID, list[UUID]]:
    """Each commercial partner of the read side with its contacts."""
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute("SELECT id, commercial_partner_id FROM partners ORDER BY id").fetchall()
    families: dict[UUID, list[UUID]] = {}
    for pid, commercial in rows:
        if pid == commercial:
            families.setdefault(pid, [])
    for pid, commercial in rows:
        if pid != commercial and commercial in families:
            families[commercial].append(pid)
    return families


class Trade:
    def __init__(self, terms: list[tuple[UUID, list[Any]]], audit: Audit, seed: int) -> None:
        self.terms = terms
        self.audit = audit
        self.rng = random.Random(seed)
        self.today = datetime.now(UTC).date()
        self.n = 0

    def documents(self, commercial: UUID, contacts: Sequence[UUID]) -> list[Document]:
        """One partner's invoices (and their payments), and maybe a confirmed sale order."""
        rng = self.rng
        found: list[Document] = []
        for _ in range(rng.randint(1, 4)):
            on = rng.choice(contacts) if contacts and rng.random() < 0.2 else commercial
            day = self.today - timedelta(days=rng.randint(0, 120))
            amount = Decimal(rng.randint(10_000, 500_000)) / 100
            found += self._invoice(on, commercial, day, amount)
        if rng.random() < 0.2:
            amount = Decimal(rng.randint(10_000, 300_000)) / 100
            found.append(
                self._record(
                    commercial,
                    commercial,
                    "SALE_ORDER",
                    self.today,
                    amount,
                    {"status": "CONFIRMED"},
                    module="SALES",
                )
            )
        return found

    def _invoice(self, on: UUID, commercial: UUID, day: date, amount: Decimal) -> list[Document]:
        draw = self.rng.random()
        status = "PAID" if draw < 0.6 else "PARTIALLY_PAID" if draw < 0.7 else "OPEN"
        status = "CANCELLED" if draw > 0.95 else status
        paid = amount if status == "PAID" else (amount * 4 / 10).quantize(Decimal("0.01"))
        more = {"status": status}
        if status == "PARTIALLY_PAID":
            more["amount_paid"] = str(paid)
        invoice = self._record(on, commercial, "INVOICE", day, amount, more, term=True)
        if status not in ("PAID", "PARTIALLY_PAID"):
            return [invoice]
        payment = self._record(
            on,
            commercial,
            "PAYMENT",
            day + timedelta(days=self.rng.randint(0, 40)),
            paid,
            {"status": "DONE", "direction": "INBOUND"},
        )
        return [invoice, payment]

    def _record(
        self,
        on: UUID,
        commercial: UUID,
        kind: str,
        day: date,
        amount: Decimal,
        more: dict[str, Any],
        *,
        term: bool = False,
        module: str = "ACCOUNTING",
    ) -> Document:
        self.n += 1
        term_id, lines = self.rng.choice(self.terms)
        explicit: Any = {"payment_term_id": str(term_id)} if term else {}
        values = {
            "module": module,
            "kind": kind,
            "reference": f"{kind[:3]}/{self.n:07d}",
            "date": min(day, self.today).isoformat(),
            "amount": str(amount),
            "currency": "EUR",
            **more,
        }
        return Document.record(
            document_id=uuid4(),
            partner_id=on,
            values=values,
            audit=self.audit,
            terms=terms_in_force(
                "CUSTOMER", explicit, {}, commercial_id=str(commercial), own=on == commercial
            ),
            payment_term_lines=lines if term else None,
        )


def generate_commerce(
    app: Partnerbook,
    db: Database,
    audit: Audit,
    *,
    seed: int,
    batch_size: int = 400,
    max_partners: int | None = None,
) -> CommerceStats:
    """Documents and credit limits over the partners of the read side (see the module);
    at most `max_partners` trading partners when given."""
    terms = create_payment_terms(app, audit)
    trade = Trade(terms, audit, seed)
    rng = random.Random(seed + 1)
    stats = CommerceStats()
    batch: list[Any] = []
    for commercial, contacts in commercial_partners(db).items():
        if rng.random() >= SHARE:
            continue
        if max_partners is not None and stats.partners >= max_partners:
            break
        stats.partners += 1
        documents = trade.documents(commercial, contacts)
        stats.documents += len(documents)
        stats.invoices += sum(d.kind == "INVOICE" for d in documents)
        batch += documents
        if rng.random() < LIMITED:
            partner: Any = app.repository.get(commercial)
            assert isinstance(partner, Partner)
            limit = {"amount": str(rng.choice((1000, 2500, 5000, 10_000))), "currency": "EUR"}
            if partner.set_commercial_terms({"credit_limit": limit}, audit):
                batch.append(partner)
                stats.credit_limits += 1
        if len(batch) >= batch_size:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)
    return stats
