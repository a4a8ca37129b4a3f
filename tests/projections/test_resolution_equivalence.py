"""The `partners` projection resolves in SQL what app/domain/resolution.py resolves in
Python: for random histories of companies and their people, run through the application
and projected at random moments, every projected row equals the row resolved from the
partners' aggregates at the latest position (as `partnerAsOf` builds it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.domain.partner import Partner
from app.infra.database import Database
from app.projections.projector import Projector, construct_view
from app.queries.history_queries import AsOfPartnerRow, row_as_of
from app.queries.partners.rows import PartnerRow
from tests.projections.test_partners_projection import projector_for

AUDIT = Audit(actor="test", request_id="r-resolution")
NAMES = ["Azure Interior", "Brandon Freeman", "Émile Zoë", "deco addict", None]
PLACES: list[dict[str, str | None]] = [
    {"street": "4557 De Silva St", "city": "Fremont", "country_code": "US"},
    {"street": "Rue Neuve 1", "city": "Liège", "zip": "4000", "country_code": "BE"},
    {"street": None, "city": None, "country_code": None},
]
TYPES = ["CONTACT", "CONTACT", "INVOICE", "DELIVERY", "OTHER"]
VATS = ["BE0477472701", "DE136695976", None]
ACTIONS = [
    "company",
    "person",
    "person",
    "rename",
    "move",
    "address",
    "type",
    "vat",
    "industry",
    "salesperson",
    "terms",
    "archive",
    "restore",
    "anonymize",
    "merge",
    "project",
]
PRELUDE = [
    ("company", 0, 0),
    ("industry", 0, 0),
    ("salesperson", 0, 1),
    ("company", 1, 1),
    ("person", 0, 1),
    ("person", 1, 6),
    ("person", 4, 2),
    ("person", 1, 0),
]
"""Every history starts with a company (with an industry and a salesperson), its
subsidiary, a contact of each, an unnamed invoice address and a person on its own: the
generated steps change them and add more."""
STEPS = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 99), st.integers(0, 99)),
    min_size=10,
    max_size=40,
)

NOT_COMPARED = {"name_key", "display_name_key", "total_invoiced", "relevance"}
"""Sort keys (the table strips accents, an as-of row only lower-cases: it is shown alone,
never sorted) and figures that queries compute."""
COMPARED = [f for f in PartnerRow.__dataclass_fields__ if f not in NOT_COMPARED]


@dataclass
class World:
    """An application with catalogs to point to, and a live `partners` projection; shared
    by the examples, each of which compares only the partners it created."""

    app: Partnerbook
    db: Database
    projector: Projector
    catalogs: dict[str, list[UUID]] = field(default_factory=dict)


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        projector = projector_for(app, db, construct_view(db.eventsourcing_env(2, 5)))
        world = World(app, db, projector)
        for catalog in ("INDUSTRY", "SALESPERSON", "PRICELIST"):
            world.catalogs[catalog] = [
                app.create_catalog_entry(
                    catalog, {"name": f"{catalog} {i}", "currency": "EUR"}, AUDIT
                ).id
                if catalog == "PRICELIST"
                else app.create_catalog_entry(catalog, {"name": f"{catalog} {i}"}, AUDIT).id
                for i in range(2)
            ]
        yield world
    finally:
        app.close()


class History:
    """Runs one generated history; refused commands are history too."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = world.app
        self.companies: list[UUID] = []
        self.everyone: list[UUID] = []

    def run(self, steps: list[tuple[str, int, int]]) -> None:
        for n, (action, a, b) in enumerate(PRELUDE):
            self.step(n, action, a, b)
        for n, (action, a, b) in enumerate(steps, start=len(PRELUDE)):
            with contextlib.suppress(DomainError):
                self.step(n, action, a, b)
        self.world.projector.catch_up()

    def step(self, n: int, action: str, a: int, b: int) -> None:
        app = self.app
        if action == "company" or not self.everyone:
            parent = self.companies[a % len(self.companies)] if self.companies and b % 3 else None
            values = {"name": f"{NAMES[a % 4]} {n}", "parent_id": _text(parent)}
            result = app.create_partner(
                "COMPANY", values | PLACES[b % 3] | {"vat": VATS[a % 3]}, AUDIT
            )
            self.companies.append(result.id)
            self.everyone.append(result.id)
            return
        if action == "person":
            parent = self.companies[a % len(self.companies)] if self.companies and b % 5 else None
            values = {"name": NAMES[a % 5], "type": TYPES[b % 5], "parent_id": _text(parent)}
            result = app.create_partner("PERSON", values | PLACES[(a + b) % 3], AUDIT)
            self.everyone.append(result.id)
            return
        who = self.everyone[a % len(self.everyone)]
        if action == "rename":
            app.update_partner(who, {"name": NAMES[b % 5]}, AUDIT)
        elif action == "move":
            parent = self.companies[b % len(self.companies)] if b % 4 else None
            app.update_partner(who, {"parent_id": _text(parent)}, AUDIT)
        elif action == "address":
            app.update_partner(who, PLACES[b % 3], AUDIT)
        elif action == "type":
            app.update_partner(who, {"type": TYPES[b % 5]}, AUDIT)
        elif action == "vat":
            app.update_partner(who, {"vat": VATS[b % 3]}, AUDIT)
        elif action == "industry":
            app.update_partner(who, {"industry_id": self._entry("INDUSTRY", b)}, AUDIT)
        elif action == "salesperson":
            app.update_partner(who, {"salesperson_id": self._entry("SALESPERSON", b)}, AUDIT)
        elif action == "terms":
            terms: dict[str, Any] = {
                "pricelist_id": self._entry("PRICELIST", b),
                "credit_limit": None,
            }
            if b % 2:
                terms["credit_limit"] = {"amount": str(b * 10), "currency": "EUR"}
            app.set_commercial_terms(who, terms, AUDIT)
        elif action == "archive":
            app.archive_partner(who, AUDIT)
        elif action == "restore":
            app.restore_partner(who, AUDIT)
        elif action == "anonymize":
            app.anonymize_partner(who, AUDIT)
        elif action == "merge":
            self._merge(who, self.everyone[b % len(self.everyone)])
        else:
            self.world.projector.catch_up()

    def _entry(self, catalog: str, b: int) -> str | None:
        entries = self.world.catalogs[catalog]
        return str(entries[b % 3]) if b % 3 < len(entries) else None

    def _merge(self, destination: UUID, source: UUID) -> None:
        children = [
            str(p) for p in self.everyone if self._partner(p).values.get("parent_id") == str(source)
        ]
        owned = {source: {"children": children, "activities": [], "documents": []}}
        self.app.merge_partners(destination, [source], owned, AUDIT)

    def _partner(self, partner_id: UUID) -> Partner:
        partner: Any = self.app.repository.get(partner_id)
        assert isinstance(partner, Partner)
        return partner

    def resolved_rows(self) -> dict[UUID, AsOfPartnerRow]:
        """Each partner's row resolved in Python from the aggregates, parents first."""
        rows: dict[UUID, AsOfPartnerRow] = {}

        def resolved(partner_id: UUID) -> AsOfPartnerRow:
            if partner_id not in rows:
                partner = self._partner(partner_id)
                parent = partner.parent_id
                rows[partner_id] = row_as_of(partner, resolved(parent) if parent else None)
            return rows[partner_id]

        for partner_id in self.everyone:
            resolved(partner_id)
        return rows


def _text(value: UUID | None) -> str | None:
    return str(value) if value else None


def projected_rows(db: Database, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    with psycopg.connect(db.conninfo(), row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM partners WHERE id = ANY(%s)", (ids,)).fetchall()
    return {row["id"]: row for row in rows}


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_projected_rows_equal_rows_resolved_from_the_aggregates(
    world: World, steps: list[tuple[str, int, int]]
) -> None:
    history = History(world)
    history.run(steps)
    projected = projected_rows(world.db, history.everyone)
    resolved = history.resolved_rows()
    assert set(projected) == set(history.everyone)
    for partner_id, row in resolved.items():
        expected = {f: getattr(row, f) for f in COMPARED}
        assert {f: projected[partner_id][f] for f in COMPARED} == expected, partner_id
