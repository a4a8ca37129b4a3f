"""The aggregates of one demo unit: a company with its contacts, addresses and records,
or an individual with its records; ids drawn from the seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.demo.catalog import Catalog
from app.demo.pools import Pool, slugify
from app.demo.vocabulary import (
    ACTIVITIES,
    COUNTRIES,
    FUNCTIONS,
    MIX,
    OPPORTUNITIES,
    REGIONS,
    TAG_TREE,
)
from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.document import Document, reference_key
from app.domain.document_terms import terms_in_force
from app.domain.errors import DomainError
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner
from app.domain.reservation import Reservation, stored_key


@dataclass
class DemoFactory:
    """Builds the aggregates of one unit: a company with its children and records, or an
    individual with its records."""

    catalog: Catalog
    pools: list[Pool]
    audit: Audit
    rng: random.Random
    seed: int
    today: date
    serial: int = 0
    documents: int = 0
    weights: list[float] = field(default_factory=lambda: [c[3] for c in COUNTRIES])
    secret: bytes = b""
    """The installation's secret (`stored_key`: a document reference's reservation)."""
    ids: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.ids = id_source(self.seed)

    def new_id(self) -> UUID:
        return UUID(int=self.ids.getrandbits(128), version=4)

    def _pool(self) -> Pool:
        return self.rng.choices(self.pools, self.weights)[0]

    def _tags(self, pool: Pool) -> list[str]:
        rng = self.rng
        region = REGIONS.get(pool.country, "EMEA")
        tags = [self.catalog.tag(f"Region / {region}")] if rng.random() < 0.7 else []
        if rng.random() < 0.5:
            tags.append(self.catalog.tag(f"Segment / {rng.choice(TAG_TREE['Segment'])}"))
        if rng.random() < 0.4:
            tags.append(self.catalog.tag(f"Interest / {rng.choice(TAG_TREE['Interest'])}"))
        for flat in ("VIP", "Newsletter"):
            if rng.random() < 0.1:
                tags.append(self.catalog.tag(flat))
        return tags

    def _address(self, pool: Pool) -> dict[str, Any]:
        rng = self.rng
        return {
            "street": rng.choice(pool.streets),
            "city": rng.choice(pool.cities),
            "zip": rng.choice(pool.postcodes),
            "country_code": pool.country,
        }

    def _person(self, pool: Pool) -> tuple[str, str]:
        first, last = self.rng.choice(pool.first_names), self.rng.choice(pool.last_names)
        return f"{first} {last}", slugify(f"{first} {last}", ".") or "contact"

    def company(self) -> list[Aggregate]:
        rng, pool = self.rng, self._pool()
        self.serial += 1
        name = rng.choice(pool.companies)
        domain = f"{(slugify(name, '-')[:40].strip('-') or 'company')}.example"
        values: dict[str, Any] = {
            "name": name,
            **self._address(pool),
            "lang": pool.lang,
            "email": f"info@{domain}",
            "phone": rng.choice(pool.phones),
            "website": f"https://www.{domain}",
            "ref": f"D{self.seed}-{self.serial:06d}",
            "is_customer": rng.random() < 0.7,
            "is_supplier": rng.random() < 0.2,
            "industry_id": str(rng.choice(self.catalog.industries)),
            "salesperson_id": str(rng.choice(self.catalog.salespersons)),
            "tag_ids": self._tags(pool),
        }
        company = self._register("COMPANY", values)
        if company is None:
            return []
        if rng.random() < 0.8:
            self._set_terms(company, pool)
        people = self._contacts(company, pool, domain)
        addresses = self._addresses(company, pool)
        return [company, *people, *addresses, *self._records(company, people, pool.currency)]

    def _set_terms(self, company: Partner, pool: Pool) -> None:
        rng = self.rng
        pricelists = self.catalog.pricelists.get(pool.currency) or next(
            iter(self.catalog.pricelists.values())
        )
        company.set_commercial_terms(
            {
                "customer_payment_term_id": str(rng.choice(self.catalog.payment_terms)),
                "vendor_payment_term_id": str(rng.choice(self.catalog.payment_terms)),
                "pricelist_id": str(rng.choice(pricelists)),
                "delivery_method_id": str(rng.choice(self.catalog.delivery_methods)),
                "receivable_account_id": str(self.catalog.receivable),
                "payable_account_id": str(self.catalog.payable),
                "credit_limit": {
                    "amount": str(rng.choice((5000, 10000, 25000, 50000))),
                    "currency": pool.currency,
                },
            },
            self.audit,
        )

    def _contacts(self, company: Partner, pool: Pool, domain: str) -> list[Partner]:
        """The people of a company, one to four."""
        rng = self.rng
        people = []
        for _ in range(rng.choices((1, 2, 3, 4), (0.3, 0.35, 0.2, 0.15))[0]):
            person, slug = self._person(pool)
            child = self._register(
                "PERSON",
                {
                    "name": person,
                    "parent_id": str(company.id),
                    "function": rng.choice(FUNCTIONS),
                    "email": f"{slug}@{domain}",
                    "phone": rng.choice(pool.phones) if rng.random() < 0.6 else None,
                    "lang": pool.lang,
                },
                parent=company,
            )
            if child is not None:
                people.append(child)
        return people

    def _addresses(self, company: Partner, pool: Pool) -> list[Partner]:
        """A company's invoice and delivery addresses, each present or not."""
        addresses = []
        for kind in ("INVOICE", "DELIVERY"):
            if self.rng.random() < 0.35:
                child = self._register(
                    "PERSON",
                    {"type": kind, "parent_id": str(company.id), **self._address(pool)},
                    parent=company,
                )
                if child is not None:
                    addresses.append(child)
        return addresses

    def individual(self) -> list[Aggregate]:
        rng, pool = self.rng, self._pool()
        name, slug = self._person(pool)
        values = {
            "name": name,
            **self._address(pool),
            "lang": pool.lang,
            "email": f"{slug}{rng.randrange(1000)}@mail.example",
            "mobile": rng.choice(pool.phones) if rng.random() < 0.7 else None,
            "is_customer": rng.random() < 0.6,
            "tag_ids": self._tags(pool),
        }
        person = self._register("PERSON", values)
        if person is None:
            return []
        return [person, *self._records(person, [], pool.currency)]

    def _register(
        self, kind: str, values: dict[str, Any], parent: Partner | None = None
    ) -> Partner | None:
        try:
            return Partner.register(
                partner_id=self.new_id(), kind=kind, values=values, audit=self.audit, parent=parent
            )
        except DomainError:  # a pool value the field library refuses: leave this one out
            return None

    def _records(
        self, partner: Partner, people: list[Partner], currency: str
    ) -> Iterator[Aggregate]:
        """Activities, documents and opportunities of a commercial partner (some filed
        under its contacts: the company's figures include them)."""
        rng = self.rng
        for _ in range(rng.choices((0, 1, 2, 3), (0.3, 0.35, 0.25, 0.1))[0]):
            kind, summary = rng.choice(ACTIVITIES)
            who = rng.choice([partner, *people])
            yield Activity.schedule(
                activity_id=self.new_id(),
                partner_id=who.id,
                values={
                    "activity_type": kind,
                    "summary": summary,
                    # About a third are already late: overdue.
                    "due_date": (self.today + timedelta(days=rng.randint(-20, 40))).isoformat(),
                    "assignee_id": str(rng.choice(self.catalog.salespersons)),
                },
                audit=self.audit,
            )
        if not partner.state.is_customer and rng.random() < 0.5:
            return
        for _ in range(rng.choices((0, 1, 2, 4, 6), (0.25, 0.25, 0.2, 0.2, 0.1))[0]):
            yield from self._document(partner, currency)
        if rng.random() < 0.3:
            yield Opportunity.create(
                opportunity_id=self.new_id(),
                partner_id=partner.id,
                values={
                    "name": rng.choice(OPPORTUNITIES),
                    "expected_revenue": {
                        "amount": str(rng.randrange(1, 200) * 500),
                        "currency": currency,
                    },
                    "probability": rng.choice((10, 25, 50, 75, 90)),
                    "stage": rng.choice(("NEW", "QUALIFIED", "PROPOSITION")),
                    "salesperson_id": str(rng.choice(self.catalog.salespersons)),
                },
                audit=self.audit,
            )

    def _document(self, partner: Partner, currency: str) -> Iterator[Aggregate]:
        rng = self.rng
        module, kind, prefix = rng.choices(
            (
                ("SALES", "QUOTATION", "S"),
                ("SALES", "SALE_ORDER", "SO"),
                ("ACCOUNTING", "INVOICE", "INV"),
                ("HELPDESK", "TICKET", "T"),
            ),
            (0.25, 0.25, 0.4, 0.1),
        )[0]
        self.documents += 1
        amount = Decimal(rng.randrange(100, 50_000)) / 4
        values: dict[str, Any] = {
            "module": module,
            "kind": kind,
            "reference": f"{prefix}/DEMO{self.seed}/{self.documents:06d}",
            # Invoices of the last four months: the open ones past their due date overdue.
            "date": (
                self.today - timedelta(days=rng.randint(0, 120 if kind == "INVOICE" else 365))
            ).isoformat(),
        }
        if kind == "TICKET":
            values["status"] = rng.choice(("OPEN", "DONE"))
        else:
            values |= {"amount": str(amount), "currency": currency}
        if kind == "QUOTATION":
            values["status"] = rng.choice(("DRAFT", "OPEN", "CONFIRMED"))
        elif kind == "SALE_ORDER":
            values["status"] = rng.choice(("CONFIRMED", "DONE"))
        elif kind == "INVOICE":
            status = rng.choices(("OPEN", "PARTIALLY_PAID", "PAID"), (0.3, 0.2, 0.5))[0]
            values["status"] = status
            if status == "PARTIALLY_PAID":
                values["amount_paid"] = str(
                    (amount * Decimal(rng.randint(1, 9)) / 10).quantize(Decimal("0.01"))
                )
        document_id = self.new_id()
        document = Document.record(
            document_id=document_id,
            partner_id=partner.id,
            values=values,
            audit=self.audit,
            **self._terms(partner, kind),
        )
        yield document
        key = stored_key(reference_key(module, kind, values["reference"]), self.secret)
        yield Reservation(key, str(document_id))

    def _terms(self, partner: Partner, kind: str) -> dict[str, Any]:
        """What a customer-side document takes of its partner, as `record_document` does:
        its terms in force, and its payment term's lines (the due dates of an invoice)."""
        if kind == "TICKET":
            return {}
        terms = terms_in_force(
            "CUSTOMER", {}, partner.values, commercial_id=str(partner.id), own=True
        )
        term = terms.get("payment_term_id")
        lines = self.catalog.payment_term_lines.get(UUID(str(term))) if term else None
        return {"terms": terms, "payment_term_lines": lines}

    def unit(self) -> list[Aggregate]:
        """A company (with children and records) or an individual (with records)."""
        if self.rng.random() < MIX["company"] / (MIX["company"] + MIX["individual"]):
            return self.company()
        return self.individual()


def id_source(seed: int) -> random.Random:
    """Ids come from their own generator: the first one is the first partner's."""
    return random.Random(f"partnerbook-demo-ids:{seed}")
