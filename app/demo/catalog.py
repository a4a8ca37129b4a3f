"""The tags and catalog entries the demo partners refer to, created through the
application's commands (idempotency keys make a second run reuse them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from faker import Faker

from app.application import Partnerbook
from app.demo.pools import slugify
from app.demo.vocabulary import (
    DELIVERY_METHODS,
    INDUSTRIES,
    PAYMENT_TERMS,
    PRICELISTS,
    TAG_TREE,
)
from app.domain.audited import Audit
from app.domain.catalog import normalize_lines


@dataclass(frozen=True)
class Catalog:
    """What the demo partners refer to: ids of tags and catalog entries."""

    tags: dict[str, UUID]
    industries: list[UUID]
    salespersons: list[UUID]
    payment_terms: list[UUID]
    payment_term_lines: dict[UUID, list[dict[str, Any]]]
    """Each payment term's lines, as a document takes them (its due dates)."""
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
        email = f"{slugify(name, '.')}@partnerbook.example"
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
    payment_terms = {
        entry("PAYMENT_TERM", n, {"name": n, "lines": lines}): normalize_lines(lines)
        for n, lines in PAYMENT_TERMS
    }
    return Catalog(
        tags=tags,
        industries=[entry("INDUSTRY", n, {"name": n}) for n in INDUSTRIES],
        salespersons=salespersons,
        payment_terms=list(payment_terms),
        payment_term_lines=payment_terms,
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
