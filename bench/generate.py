"""Realistic partners for the benchmarks, saved through the application in batches.

Names, streets, cities and phone numbers come from Faker in the country's own locale
(60 countries, weighted so a few are large and most are small). Faker builds pools once;
partners combine pool entries at random, which is fast enough for a million of them.

The mix: companies, contacts of a company (created in an earlier batch, so the contact
takes its parent's address), and individuals. A company may have an industry, a
salesperson, a reference and (in Belgium) a valid VAT number; partners carry 0 to 3 tags
from a small tag tree. Aggregates are built with `Partner.register` (as `create_partner`
does after its reference checks, which are skipped here: every reference is known to
exist) and saved with `app.save(*aggregates)`, many in one transaction: the path an
import takes.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from faker import Faker

from app.application import Partnerbook
from app.domain import contact_fields as cf
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.domain.partner import Partner

COUNTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (ISO country, Faker locales), roughly by how many partners the country gets.
    ("US", ("en_US",)),
    ("DE", ("de_DE",)),
    ("FR", ("fr_FR",)),
    ("GB", ("en_GB",)),
    ("BE", ("nl_BE", "fr_BE")),
    ("NL", ("nl_NL",)),
    ("ES", ("es_ES",)),
    ("IT", ("it_IT",)),
    ("BR", ("pt_BR",)),
    ("CA", ("en_CA", "fr_CA")),
    ("MX", ("es_MX",)),
    ("PL", ("pl_PL",)),
    ("CH", ("de_CH", "fr_CH", "it_CH")),
    ("AT", ("de_AT",)),
    ("SE", ("sv_SE",)),
    ("IN", ("en_IN", "hi_IN")),
    ("JP", ("ja_JP",)),
    ("CN", ("zh_CN",)),
    ("AU", ("en_AU",)),
    ("PT", ("pt_PT",)),
    ("DK", ("da_DK",)),
    ("NO", ("no_NO",)),
    ("FI", ("fi_FI",)),
    ("IE", ("en_IE",)),
    ("CZ", ("cs_CZ",)),
    ("AR", ("es_AR",)),
    ("TR", ("tr_TR",)),
    ("KR", ("ko_KR",)),
    ("RO", ("ro_RO",)),
    ("HU", ("hu_HU",)),
    ("GR", ("el_GR",)),
    ("LU", ("fr_FR", "de_LU", "lb_LU")),
    ("CL", ("es_CL",)),
    ("CO", ("es_CO",)),
    ("NZ", ("en_NZ",)),
    ("IL", ("he_IL",)),
    ("TW", ("zh_TW",)),
    ("SK", ("sk_SK",)),
    ("BG", ("bg_BG",)),
    ("HR", ("hr_HR",)),
    ("SI", ("sl_SI",)),
    ("UA", ("uk_UA",)),
    ("EE", ("et_EE",)),
    ("LV", ("lv_LV",)),
    ("LT", ("lt_LT",)),
    ("ZA", ("zu_ZA",)),
    ("EG", ("ar_EG",)),
    ("SA", ("ar_SA",)),
    ("AE", ("ar_AE",)),
    ("TH", ("th_TH",)),
    ("VN", ("vi_VN",)),
    ("ID", ("id_ID",)),
    ("PH", ("fil_PH", "en_PH")),
    ("NG", ("en_NG", "yo_NG")),
    ("KE", ("en_KE",)),
    ("IS", ("is_IS",)),
    ("MT", ("mt_MT",)),
    ("CY", ("el_CY",)),
    ("GE", ("ka_GE",)),
    ("AM", ("hy_AM",)),
)
assert len(COUNTRIES) == 60

TAG_TREE: dict[str, tuple[str, ...]] = {
    "Segment": ("SMB", "Mid-market", "Enterprise"),
    "Region": ("EMEA", "Americas", "APAC"),
    "Interest": ("Software", "Hardware", "Services", "Training"),
    "VIP": (),
    "Newsletter": (),
    "Partner program": (),
}
INDUSTRIES = (
    "Agriculture", "Automotive", "Banking", "Chemicals", "Construction", "Education",
    "Energy", "Food & Beverage", "Healthcare", "Hospitality", "Insurance", "Logistics",
    "Manufacturing", "Media", "Mining", "Pharmaceuticals", "Real Estate", "Retail",
    "Telecommunications", "Wholesale",
)  # fmt: skip
SALESPERSONS = 15
MIX = {"company": 0.35, "contact": 0.45, "individual": 0.20}
FUNCTIONS = (
    "CEO", "CFO", "Purchasing Manager", "Accountant", "Sales Manager", "Engineer",
    "Office Manager", "IT Manager", "Buyer", "Project Manager",
)  # fmt: skip
RECENT_COMPANIES = 20_000
"""Companies kept in memory to be the parents of later contacts."""


@dataclass(frozen=True)
class Catalog:
    """What partners refer to, created first through the application's commands."""

    tags: dict[str, UUID]
    """Full name ("Segment / SMB") -> id."""
    assignable: list[UUID]
    """Child tags and the tags without children: what partners carry."""
    industries: list[UUID]
    salespersons: list[UUID]


def create_catalog(app: Partnerbook, audit: Audit) -> Catalog:
    tags: dict[str, UUID] = {}
    assignable: list[UUID] = []
    for color, (parent, children) in enumerate(TAG_TREE.items()):
        parent_id = app.create_tag({"name": parent, "color": color}, audit).id
        tags[parent] = parent_id
        if not children:
            assignable.append(parent_id)
        for child in children:
            child_id = app.create_tag(
                {"name": child, "color": color, "parent_id": parent_id}, audit
            ).id
            tags[f"{parent} / {child}"] = child_id
            assignable.append(child_id)
    industries = [
        app.create_catalog_entry("INDUSTRY", {"name": name}, audit).id for name in INDUSTRIES
    ]
    faker = Faker("en_US")
    faker.seed_instance(7)
    salespersons = []
    for _ in range(SALESPERSONS):
        name = faker.name()
        email = f"{_ascii_slug(name, '.')}@partnerbook.example"
        salespersons.append(
            app.create_catalog_entry("SALESPERSON", {"name": name, "email": email}, audit).id
        )
    return Catalog(tags, assignable, industries, salespersons)


@dataclass
class LocalePool:
    """Values of one locale of one country, made by Faker once."""

    country: str
    lang: str
    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    streets: list[str]
    cities: list[str]
    postcodes: list[str]
    phones: list[str]
    domains: list[str]


def build_pools(seed: int, size: int = 200) -> list[tuple[str, float, list[LocalePool]]]:
    """(country, weight, pools) for the 60 countries; weights fall off like 1/rank^0.9."""
    result = []
    for rank, (country, locales) in enumerate(COUNTRIES, start=1):
        pools = []
        for k, locale in enumerate(locales):
            faker = Faker(locale)
            faker.seed_instance(seed * 1000 + rank * 10 + k)
            # A few locales lack a provider (en_PH has no phone numbers): en_US's then.
            fallback = Faker("en_US")
            fallback.seed_instance(seed * 1000 + rank * 10 + k)
            lang = _lang_of(locale)
            tld = "com" if country == "US" else country.lower()
            companies = _sample(faker, fallback, "company", size)
            pools.append(
                LocalePool(
                    country=country,
                    lang=lang,
                    first_names=_sample(faker, fallback, "first_name", size),
                    last_names=_sample(faker, fallback, "last_name", size),
                    companies=companies,
                    streets=_sample(faker, fallback, "street_address", size),
                    cities=_sample(faker, fallback, "city", size // 2),
                    postcodes=_sample(faker, fallback, "postcode", size // 2),
                    phones=_sample(faker, fallback, "phone_number", size),
                    domains=[
                        f"{_ascii_slug(c, '-')[:40].strip('-') or faker.domain_word()}.{tld}"
                        for c in companies
                    ],
                )
            )
        result.append((country, 1 / rank**0.9, pools))
    return result


def _sample(faker: Faker, fallback: Faker, provider: str, n: int) -> list[str]:
    """n values of a Faker provider, without repeats; the fallback's if the locale has none."""
    make = getattr(faker if hasattr(faker, provider) else fallback, provider)
    return sorted({str(make()).replace("\n", ", ") for _ in range(n)})


def _lang_of(locale: str) -> str:
    try:
        return cf.normalize_lang(locale)
    except cf.FieldInvalid:
        return "en_US"


def _ascii_slug(text: str, sep: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text.lower()).strip(sep)


def _be_vat(rng: random.Random) -> str:
    base = rng.randint(2_000_000, 9_999_999)
    return f"BE0{base:07d}{97 - base % 97:02d}"


@dataclass
class PartnerFactory:
    """Builds `Partner.register` aggregates; `companies` are candidate parents."""

    pools: list[tuple[str, float, list[LocalePool]]]
    catalog: Catalog
    audit: Audit
    rng: random.Random
    companies: list[Partner] = field(default_factory=list)
    serial: int = 0
    rejected: int = 0

    def __post_init__(self) -> None:
        self._weights = [w for _, w, _ in self.pools]

    def _pool(self) -> LocalePool:
        _, _, pools = self.rng.choices(self.pools, self._weights)[0]
        return self.rng.choice(pools)

    def _flags_and_tags(self) -> dict[str, Any]:
        rng = self.rng
        values: dict[str, Any] = {
            "is_customer": rng.random() < 0.55,
            "is_supplier": rng.random() < 0.15,
        }
        count = rng.choices((0, 1, 2, 3), (0.35, 0.35, 0.2, 0.1))[0]
        if count:
            values["tag_ids"] = rng.sample(self.catalog.assignable, count)
        return values

    def _address(self, pool: LocalePool) -> dict[str, Any]:
        rng = self.rng
        return {
            "street": rng.choice(pool.streets),
            "city": rng.choice(pool.cities),
            "zip": rng.choice(pool.postcodes),
            "country_code": pool.country,
            "lang": pool.lang,
        }

    def _person_name(self, pool: LocalePool) -> tuple[str, str]:
        first, last = self.rng.choice(pool.first_names), self.rng.choice(pool.last_names)
        return f"{first} {last}", _ascii_slug(f"{first} {last}", ".")

    def company(self) -> Partner:
        rng, pool = self.rng, self._pool()
        self.serial += 1
        k = rng.randrange(len(pool.companies))
        values = {
            "name": pool.companies[k],
            **self._address(pool),
            "email": f"info@{pool.domains[k]}",
            "phone": rng.choice(pool.phones),
            "ref": f"C{self.serial:08d}",
            **self._flags_and_tags(),
        }
        if rng.random() < 0.5:
            values["website"] = f"https://www.{pool.domains[k]}"
        if rng.random() < 0.8:
            values["industry_id"] = str(rng.choice(self.catalog.industries))
        if rng.random() < 0.6:
            values["salesperson_id"] = str(rng.choice(self.catalog.salespersons))
        if pool.country == "BE" and rng.random() < 0.8:
            values["vat"] = _be_vat(rng)
        return Partner.register(partner_id=uuid4(), kind="COMPANY", values=values, audit=self.audit)

    def contact(self) -> Partner:
        """A person working for a company saved in an earlier batch."""
        if not self.companies:
            return self.individual()
        rng = self.rng
        parent = rng.choice(self.companies)
        pool = self._pool_of(parent)
        name, slug = self._person_name(pool)
        domain = str(parent.values.get("email") or "info@example.com").split("@")[1]
        values: dict[str, Any] = {
            "name": name,
            "parent_id": str(parent.id),
            "function": rng.choice(FUNCTIONS),
            "email": f"{slug or 'contact'}{rng.randrange(100)}@{domain}",
            "lang": parent.values.get("lang"),
            **self._flags_and_tags(),
        }
        if rng.random() < 0.6:
            values["phone"] = rng.choice(pool.phones)
        if rng.random() < 0.3:
            values["mobile"] = rng.choice(pool.phones)
        return Partner.register(
            partner_id=uuid4(), kind="PERSON", values=values, audit=self.audit, parent=parent
        )

    def individual(self) -> Partner:
        rng, pool = self.rng, self._pool()
        name, slug = self._person_name(pool)
        values = {
            "name": name,
            **self._address(pool),
            "email": f"{slug or 'person'}{rng.randrange(1000)}@{rng.choice(pool.domains)}",
            **self._flags_and_tags(),
        }
        if rng.random() < 0.7:
            values["mobile"] = rng.choice(pool.phones)
        return Partner.register(partner_id=uuid4(), kind="PERSON", values=values, audit=self.audit)

    def _pool_of(self, company: Partner) -> LocalePool:
        country = company.country_code
        for code, _, pools in self.pools:
            if code == country:
                return self.rng.choice(pools)
        return self._pool()

    def batch(self, size: int) -> list[Partner]:
        kinds = self.rng.choices(list(MIX), list(MIX.values()), k=size)
        return [self._one(kind) for kind in kinds]

    def _one(self, kind: str) -> Partner:
        """A partner of this kind; a combination the domain refuses is drawn again."""
        make = {"company": self.company, "contact": self.contact, "individual": self.individual}
        for _ in range(9):
            try:
                return make[kind]()
            except DomainError:
                self.rejected += 1
        return make[kind]()

    def remember(self, saved: Sequence[Partner]) -> None:
        """Companies of a saved batch become candidate parents of later contacts."""
        for partner in saved:
            if partner.kind != "COMPANY":
                continue
            if len(self.companies) < RECENT_COMPANIES:
                self.companies.append(partner)
            else:
                self.companies[self.rng.randrange(RECENT_COMPANIES)] = partner


@dataclass
class GenerationStats:
    partners: int = 0
    companies: int = 0
    contacts: int = 0
    individuals: int = 0
    rejected: int = 0
    """Drawn combinations the domain refused (and that were drawn again)."""
    pools_seconds: float = 0.0
    build_seconds: float = 0.0
    """Faker pools aside: building aggregates (validation, normalisation, events)."""
    save_seconds: float = 0.0
    """app.save: events to stored events, then one INSERT transaction per batch."""

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.save_seconds

    @property
    def rate(self) -> float:
        return self.partners / self.seconds if self.seconds else 0.0


Progress = Callable[[GenerationStats], None]


def generate(
    app: Partnerbook,
    catalog: Catalog,
    count: int,
    *,
    batch_size: int = 1000,
    seed: int = 42,
    progress: Progress | None = None,
) -> GenerationStats:
    """Saves `count` partners in batches of `batch_size`, one transaction per batch."""
    stats = GenerationStats()
    started = time.perf_counter()
    pools = build_pools(seed)
    stats.pools_seconds = time.perf_counter() - started
    factory = PartnerFactory(pools, catalog, Audit("bench", "bench-generate"), random.Random(seed))
    while stats.partners < count:
        t0 = time.perf_counter()
        batch = factory.batch(min(batch_size, count - stats.partners))
        t1 = time.perf_counter()
        app.save(*batch)
        t2 = time.perf_counter()
        stats.build_seconds += t1 - t0
        stats.save_seconds += t2 - t1
        factory.remember(batch)
        stats.partners += len(batch)
        stats.rejected = factory.rejected
        for partner in batch:
            if partner.kind == "COMPANY":
                stats.companies += 1
            elif partner.parent_id is not None:
                stats.contacts += 1
            else:
                stats.individuals += 1
        if progress is not None:
            progress(stats)
    return stats
