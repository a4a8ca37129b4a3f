"""Deterministic partners for the benchmarks, and loading them into the event store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.partner import Partner

COUNTRIES = ("BE", "NL", "FR", "DE", "US", "GB", "ES", "IT", "CH", "AT")
CITIES = {
    "BE": "Ghent",
    "NL": "Utrecht",
    "FR": "Lyon",
    "DE": "Leipzig",
    "US": "Fremont",
    "GB": "Leeds",
    "ES": "Sevilla",
    "IT": "Torino",
    "CH": "Basel",
    "AT": "Graz",
}
FIRST = (
    "Alpine",
    "Bluebird",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quartz",
)
SECOND = (
    "Systems",
    "Foods",
    "Logistics",
    "Textiles",
    "Energy",
    "Pharma",
    "Motors",
    "Studios",
    "Capital",
    "Robotics",
    "Farms",
    "Media",
    "Works",
)
SEARCHES = ("lum", "ced", "mot", "far", "orc", "tex")
"""Three-letter searches: each matches one word of FIRST or SECOND (~6-8% of partners)."""
AUDIT = Audit(actor="bench", request_id="bench")


def name(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {SECOND[(i // len(FIRST)) % len(SECOND)]} {i}"


def values(i: int) -> dict[str, Any]:
    """Partner `i`'s fields as the domain names them. Country and customer flag are
    independent: a filter on both selects 5% of the partners."""
    country = COUNTRIES[i % len(COUNTRIES)]
    return {
        "name": name(i),
        "email": f"contact{i}@partner{i}.example",
        "city": CITIES[country],
        "country_code": country,
        "is_customer": (i // len(COUNTRIES)) % 2 == 0,
        "is_supplier": i % 7 == 0,
        "ref": f"R{i:07d}",
    }


def graphql_input(i: int) -> dict[str, Any]:
    """The same partner as a `CreatePartnerInput`."""
    v = values(i)
    return {
        "kind": "COMPANY",
        "name": v["name"],
        "email": v["email"],
        "city": v["city"],
        "countryCode": v["country_code"],
        "isCustomer": v["is_customer"],
        "isSupplier": v["is_supplier"],
        "ref": v["ref"],
    }


def register(i: int) -> Partner:
    return Partner.register(partner_id=uuid.uuid4(), kind="COMPANY", values=values(i), audit=AUDIT)


def update(partner: Partner, i: int) -> None:
    """A second event for partner `i`: a phone number (normalised by the domain)."""
    partner.update({"phone": f"+32 9 {200 + i % 700} {i % 100:02d} {i % 97:02d}"}, AUDIT)


def load_events(
    app: Partnerbook,
    events: int,
    batch: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stores `events` events: `batch` partners registered in one save (as an import
    does), then each of them updated once, in a second save; and so on. The log thus
    holds runs of registrations between runs of updates. Returns how many partners."""
    partners = max(1, events // 2)
    made = 0
    last_report = time.monotonic()
    while made < partners:
        count = min(batch, partners - made)
        aggregates = [register(made + k) for k in range(count)]
        app.save(*aggregates)
        for k, partner in enumerate(aggregates):
            update(partner, made + k)
        app.save(*aggregates)
        made += count
        if progress is not None and time.monotonic() - last_report > 5:
            progress(made * 2)
            last_report = time.monotonic()
    return made
