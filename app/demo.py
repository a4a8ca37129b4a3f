"""Demo data: a living registry in a minute (`partnerbook demo`).

Companies with their contacts and invoice/delivery addresses, individuals, a tag tree
("Region / EMEA"…), the catalogs with commercial terms set on the companies, and the
360° view around them: activities (some overdue), quotations, orders, invoices (some
partly paid), tickets and opportunities.

Names, streets, cities and phones come from Faker in each country's own locale. Faker
makes small pools once; records combine pool entries at random (Faker per record would
take most of the time). Tags and catalog entries are created through the application's
commands, with idempotency keys, so a second run reuses them. Partners and their records
are built as aggregates (`Partner.register`, `Activity.schedule`…, the very methods the
commands call once their reference checks pass: every reference here is known to exist)
and saved many per `app.save(...)`, at most MAX_PER_SAVE new aggregates per transaction
(docs/scaling.md: larger saves can hang the psycopg pipeline).

Ids are drawn from the seed, so one seed gives the same registry every time, and
loading a seed twice is refused before anything is written.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from faker import Faker

from app.application import Partnerbook
from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.document import Document, reference_key
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner
from app.domain.reservation import Reservation

MAX_PER_SAVE = 400
"""New aggregates per transaction, at most (docs/scaling.md, "very large saves")."""
SAVE_TARGET = 300
"""A save is sent once the pending aggregates reach this many (a company unit is < 100)."""

COUNTRIES: tuple[tuple[str, str, str, float], ...] = (
    # (ISO country, Faker locale, currency, weight)
    ("US", "en_US", "USD", 0.22),
    ("FR", "fr_FR", "EUR", 0.15),
    ("DE", "de_DE", "EUR", 0.15),
    ("GB", "en_GB", "GBP", 0.10),
    ("ES", "es_ES", "EUR", 0.10),
    ("IT", "it_IT", "EUR", 0.10),
    ("NL", "nl_NL", "EUR", 0.08),
    ("BE", "nl_BE", "EUR", 0.06),
    ("PT", "pt_PT", "EUR", 0.04),
)
REGIONS = {"US": "Americas"}
TAG_TREE: dict[str, tuple[str, ...]] = {
    "Region": ("EMEA", "Americas", "APAC"),
    "Segment": ("SMB", "Mid-market", "Enterprise"),
    "Interest": ("Software", "Hardware", "Services", "Training"),
    "VIP": (),
    "Newsletter": (),
}
INDUSTRIES = (
    "Automotive", "Banking", "Construction", "Education", "Energy", "Food & Beverage",
    "Healthcare", "Hospitality", "Logistics", "Manufacturing", "Media", "Retail",
)  # fmt: skip
PAYMENT_TERMS: tuple[tuple[str, list[dict[str, Any]]], ...] = (
    ("Immediate Payment", [{"kind": "BALANCE", "days": 0}]),
    ("15 Days", [{"kind": "BALANCE", "days": 15}]),
    ("30 Days", [{"kind": "BALANCE", "days": 30}]),
    ("45 Days", [{"kind": "BALANCE", "days": 45}]),
    (
        "30% Now, Balance 60 Days",
        [{"kind": "PERCENT", "value": "30", "days": 0}, {"kind": "BALANCE", "days": 60}],
    ),
)
PRICELISTS = (("Public Pricelist (EUR)", "EUR"), ("Public Pricelist (USD)", "USD"),
              ("Public Pricelist (GBP)", "GBP"), ("Wholesale (EUR)", "EUR"))  # fmt: skip
DELIVERY_METHODS = (("Pick-up in store", "0"), ("Standard delivery", "9.90"),
                    ("Express delivery", "24.50"))  # fmt: skip
FUNCTIONS = (
    "CEO", "CFO", "Purchasing Manager", "Accountant", "Sales Manager", "Engineer",
    "Office Manager", "IT Manager", "Buyer", "Project Manager",
)  # fmt: skip
ACTIVITIES = (
    ("CALL", "Call back about the renewal"), ("EMAIL", "Send the updated price list"),
    ("MEETING", "Quarterly business review"), ("TODO", "Check the delivery address"),
    ("FOLLOW_UP", "Follow up on the quotation"), ("CALL", "Ask about the open invoice"),
)  # fmt: skip
OPPORTUNITIES = ("Office furniture", "Software licences", "Maintenance contract",
                 "Training programme", "Fleet renewal", "Consulting days")  # fmt: skip
MIX = {"company": 0.30, "individual": 0.20}
"""Share of companies and individuals among the units drawn; companies bring children."""


@dataclass(frozen=True)
class Catalog:
    """What the demo partners refer to: ids of tags and catalog entries."""

    tags: dict[str, UUID]
    industries: list[UUID]
    salespersons: list[UUID]
    payment_terms: list[UUID]
    pricelists: dict[str, list[UUID]]
    """By currency."""
    delivery_methods: list[UUID]
    receivable: UUID
    payable: UUID

    def tag(self, name: str) -> str:
        return str(self.tags[name])


def create_catalog(app: Partnerbook, audit: Audit, seed: int) -> Catalog:
    """Tags and catalog entries, through the commands; idempotency keys make it re-runnable."""

    def entry(catalog: str, key: str, values: dict[str, Any]) -> UUID:
        return app.create_catalog_entry(catalog, values, audit, f"demo:{catalog}:{key}").id

    tags: dict[str, UUID] = {}
    for color, (parent, children) in enumerate(TAG_TREE.items(), start=1):
        parent_id = app.create_tag({"name": parent, "color": color}, audit, f"demo:tag:{parent}").id
        tags[parent] = parent_id
        for child in children:
            values = {"name": child, "color": color, "parent_id": parent_id}
            tags[f"{parent} / {child}"] = app.create_tag(
                values, audit, f"demo:tag:{parent} / {child}"
            ).id
    faker = Faker("en_US")
    faker.seed_instance(seed)
    salespersons = []
    for k in range(8):
        name = faker.name()
        email = f"{_slug(name, '.')}@partnerbook.example"
        salespersons.append(
            entry(
                "SALESPERSON", f"{seed}:{k}", {"name": name, "email": email, "tz": faker.timezone()}
            )
        )
    pricelists: dict[str, list[UUID]] = {}
    for name, currency in PRICELISTS:
        pricelists.setdefault(currency, []).append(
            entry("PRICELIST", name, {"name": name, "currency": currency})
        )
    return Catalog(
        tags=tags,
        industries=[entry("INDUSTRY", n, {"name": n}) for n in INDUSTRIES],
        salespersons=salespersons,
        payment_terms=[
            entry("PAYMENT_TERM", n, {"name": n, "lines": lines}) for n, lines in PAYMENT_TERMS
        ],
        pricelists=pricelists,
        delivery_methods=[
            entry(
                "DELIVERY_METHOD",
                n,
                {"name": n, "fixed_price": {"amount": price, "currency": "EUR"}},
            )
            for n, price in DELIVERY_METHODS
        ],
        receivable=entry(
            "ACCOUNT",
            "411000",
            {"code": "411000", "name": "Account Receivable", "account_type": "RECEIVABLE"},
        ),
        payable=entry(
            "ACCOUNT",
            "401000",
            {"code": "401000", "name": "Account Payable", "account_type": "PAYABLE"},
        ),
    )


@dataclass
class Pool:
    """Values of one country's locale, made by Faker once."""

    country: str
    currency: str
    lang: str
    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    streets: list[str]
    cities: list[str]
    postcodes: list[str]
    phones: list[str]


def build_pools(seed: int, size: int = 150) -> list[Pool]:
    pools = []
    for rank, (country, locale, currency, _) in enumerate(COUNTRIES):
        faker = Faker(locale)
        faker.seed_instance(seed * 100 + rank)

        def sample(provider: str, n: int = size, faker: Faker = faker) -> list[str]:
            make: Callable[[], Any] = getattr(faker, provider)
            return sorted({str(make()).replace("\n", ", ") for _ in range(n)})

        pools.append(
            Pool(
                country=country,
                currency=currency,
                lang=locale,
                first_names=sample("first_name"),
                last_names=sample("last_name"),
                companies=sample("company"),
                streets=sample("street_address"),
                cities=sample("city", size // 2),
                postcodes=sample("postcode", size // 2),
                phones=sample("phone_number"),
            )
        )
    return pools


def _slug(text: str, sep: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text.lower()).strip(sep)


@dataclass
class DemoStats:
    partners: int = 0
    companies: int = 0
    children: int = 0
    individuals: int = 0
    activities: int = 0
    documents: int = 0
    opportunities: int = 0
    aggregates: int = 0
    saves: int = 0
    position: int = 0
    """Notification id of the last event written."""


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
        return f"{first} {last}", _slug(f"{first} {last}", ".") or "contact"

    def company(self) -> list[Aggregate]:
        rng, pool = self.rng, self._pool()
        self.serial += 1
        name = rng.choice(pool.companies)
        domain = f"{(_slug(name, '-')[:40].strip('-') or 'company')}.example"
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
        aggregates: list[Aggregate] = [company]
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
                aggregates.append(child)
                people.append(child)
        for kind in ("INVOICE", "DELIVERY"):
            if rng.random() < 0.35:
                child = self._register(
                    "PERSON",
                    {"type": kind, "parent_id": str(company.id), **self._address(pool)},
                    parent=company,
                )
                if child is not None:
                    aggregates.append(child)
        aggregates.extend(self._records(company, people, pool.currency))
        return aggregates

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
        from app.domain.errors import DomainError

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
            "date": (self.today - timedelta(days=rng.randint(0, 365))).isoformat(),
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
            document_id=document_id, partner_id=partner.id, values=values, audit=self.audit
        )
        yield document
        yield Reservation(reference_key(module, kind, values["reference"]), str(document_id))

    def unit(self) -> list[Aggregate]:
        """A company (with children and records) or an individual (with records)."""
        if self.rng.random() < MIX["company"] / (MIX["company"] + MIX["individual"]):
            return self.company()
        return self.individual()


class AlreadyLoaded(RuntimeError):
    """The demo data of this seed is in the registry already."""


def id_source(seed: int) -> random.Random:
    """Ids come from their own generator: the first one is the first partner's."""
    return random.Random(f"partnerbook-demo-ids:{seed}")


def first_partner_id(seed: int) -> UUID:
    """The id the first demo partner of this seed gets (how a second load is detected)."""
    return UUID(int=id_source(seed).getrandbits(128), version=4)


Progress = Callable[[DemoStats], None]


def load_demo(
    app: Partnerbook,
    partners: int,
    *,
    seed: int = 1,
    today: date | None = None,
    progress: Progress | None = None,
) -> DemoStats:
    """Writes about `partners` partners (a company unit is not split, so a few more) and
    their records; returns what it wrote. Raises AlreadyLoaded if the seed was loaded."""
    if first_partner_id(seed) in app.repository:
        raise AlreadyLoaded(
            f"the demo data of seed {seed} is already in this registry: pass another --seed"
        )
    audit = Audit("demo", f"demo-{seed}", "demo data")
    catalog = create_catalog(app, audit, seed)
    factory = DemoFactory(
        catalog, build_pools(seed), audit, random.Random(seed), seed, today or date.today()
    )
    stats = DemoStats()
    pending: list[Aggregate] = []

    def flush() -> None:
        if not pending:
            return
        assert len(pending) <= MAX_PER_SAVE
        recordings = app.save(*pending)
        stats.saves += 1
        stats.aggregates += len(pending)
        if recordings:
            stats.position = max(stats.position, recordings[-1].notification.id)
        pending.clear()
        if progress is not None:
            progress(stats)

    while stats.partners < partners:
        unit = factory.unit()
        if len(pending) + len(unit) > SAVE_TARGET:
            flush()
        pending.extend(unit)
        for aggregate in unit:
            if isinstance(aggregate, Partner):
                stats.partners += 1
                if aggregate.kind == "COMPANY":
                    stats.companies += 1
                elif aggregate.parent_id is not None:
                    stats.children += 1
                else:
                    stats.individuals += 1
            elif isinstance(aggregate, Activity):
                stats.activities += 1
            elif isinstance(aggregate, Document):
                stats.documents += 1
            elif isinstance(aggregate, Opportunity):
                stats.opportunities += 1
    flush()
    return stats
