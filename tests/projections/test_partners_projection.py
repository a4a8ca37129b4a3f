"""The partners projection: built incrementally, or from scratch, it comes out the same."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.infra.database import Database
from app.projections.projector import (
    EventNotApplied,
    Projector,
    RegistryProjection,
    construct_view,
)
from app.projections.registry import RegistryView
from tests.conftest import cube_rows

AUDIT = Audit(actor="test", request_id="r-1")
CITIES = [("Ghent", "BE"), ("Lyon", "FR"), ("Fremont", "US"), (None, None)]


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(2, 5))
    yield application
    application.close()


def projector_for(app: Partnerbook, db: Database, view: RegistryView) -> Projector:
    return Projector(app, RegistryProjection(view), db, batch_size=7)


def table_rows(db: Database, table: str) -> list[dict[str, Any]]:
    """A table's rows; a partner cube table's as `cube_rows` reads it (cells summed)."""
    statement = cube_rows(table) or psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(
        psycopg.sql.Identifier(table)
    )
    with psycopg.connect(db.conninfo(), row_factory=dict_row) as conn:
        rows = conn.execute(statement).fetchall()
    # Rows that tie on the first two columns (the cube's cells) in a stable order.
    rows.sort(key=lambda row: [repr(value) for value in row.values()])
    return rows


class RandomHistory:
    """Random commands over partners, tags, catalogs and terms, refused ones included."""

    def __init__(self, app: Partnerbook, seed: int) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.companies: list[UUID] = []
        self.everyone: list[UUID] = []
        self.tags: list[UUID] = []
        self.entries: dict[str, list[UUID]] = {"PRICELIST": [], "INDUSTRY": [], "SALESPERSON": []}
        self.activities: list[UUID] = []
        self.documents: list[UUID] = []
        self.opportunities: list[UUID] = []

    def pick(self, items: list[UUID]) -> UUID | None:
        return self.rng.choice(items) if items else None

    def someone(self) -> UUID:
        """Often one of the newest partners: several events of one partner then fall in
        one batch, as they do when a client creates a partner and goes on editing it."""
        recent = self.rng.random() < 0.4
        return self.rng.choice(self.everyone[-3:] if recent else self.everyone)

    def step(self, n: int) -> None:
        app, rng = self.app, self.rng
        action = rng.choice(
            [
                "company",
                "person",
                "rename",
                "move",
                "address",
                "archive",
                "restore",
                "type",
                "tag",
                "retag",
                "tag_partner",
                "untag",
                "catalog",
                "archive_entry",
                "terms",
                "industry",
                "activity",
                "close_activity",
                "document",
                "pay",
                "opportunity",
                "win",
            ]
        )
        if action == "company" or not self.companies:
            city, country = rng.choice(CITIES)
            parent = self.pick(self.companies) if rng.random() < 0.3 else None
            result = app.create_partner(
                "COMPANY",
                {
                    "name": f"Company {n}",
                    "city": city,
                    "country_code": country,
                    "parent_id": str(parent) if parent else None,
                    "vat": None,
                },
                AUDIT,
            )
            self.companies.append(result.id)
            self.everyone.append(result.id)
        elif action == "person":
            parent = self.pick(self.companies) if rng.random() < 0.8 else None
            tags = rng.sample(self.tags, min(len(self.tags), rng.choice([0, 0, 1, 2])))
            result = app.create_partner(
                "PERSON",
                {
                    "name": f"Person {n}",
                    "parent_id": str(parent) if parent else None,
                    **({"tag_ids": [str(t) for t in tags]} if tags else {}),
                },
                AUDIT,
            )
            self.everyone.append(result.id)
        elif action == "rename":
            app.update_partner(self.someone(), {"name": f"Renamed {n}"}, AUDIT)
        elif action == "move":
            app.update_partner(
                self.someone(), {"parent_id": str(rng.choice(self.companies))}, AUDIT
            )
        elif action == "address":
            city, country = rng.choice(CITIES)
            app.update_partner(
                self.someone(),
                {"city": city, "country_code": country, "street": f"{n} Main St"},
                AUDIT,
            )
        elif action == "type":
            app.update_partner(
                self.someone(),
                {"type": rng.choice(["CONTACT", "INVOICE", "DELIVERY"])},
                AUDIT,
            )
        elif action == "archive":
            app.archive_partner(self.someone(), AUDIT)
        elif action == "restore":
            app.restore_partner(self.someone(), AUDIT)
        elif action == "tag":
            parent = self.pick(self.tags) if rng.random() < 0.5 else None
            result = app.create_tag(
                {
                    "name": f"Tag {n % 7}",
                    "color": n % 12,
                    "parent_id": str(parent) if parent else None,
                },
                AUDIT,
            )
            self.tags.append(result.id)
        elif action == "retag" and self.tags:
            parent = self.pick(self.tags)
            app.update_tag(
                rng.choice(self.tags),
                {"name": f"Tag {n}", "parent_id": str(parent) if parent else None},
                AUDIT,
            )
        elif action == "tag_partner" and self.tags:
            app.add_partner_tags(self.someone(), rng.sample(self.tags, 1), AUDIT)
        elif action == "untag" and self.tags:
            who = self.someone()
            has: list[str] = app.repository.get(who).tag_ids  # mostly one it has
            tags = [UUID(rng.choice(has))] if has and rng.random() < 0.8 else self.tags
            app.remove_partner_tags(who, rng.sample(tags, 1), AUDIT)
        elif action == "catalog":
            catalog = rng.choice(list(self.entries))
            values: dict[str, Any] = {"name": f"{catalog} {n}"}
            if catalog == "PRICELIST":
                values["currency"] = rng.choice(["EUR", "USD"])
            self.entries[catalog].append(app.create_catalog_entry(catalog, values, AUDIT).id)
        elif action == "archive_entry":
            catalog = rng.choice(list(self.entries))
            if self.entries[catalog]:
                app.archive_catalog_entry(rng.choice(self.entries[catalog]), catalog, AUDIT)
        elif action == "terms" and self.entries["PRICELIST"]:
            app.set_commercial_terms(
                self.someone(),
                {
                    "pricelist_id": str(rng.choice(self.entries["PRICELIST"])),
                    "credit_limit": {"amount": str(n * 10), "currency": "EUR"},
                },
                AUDIT,
            )
        elif action == "activity":
            result = app.schedule_activity(
                self.someone(),
                {
                    "activity_type": rng.choice(["CALL", "EMAIL", "TODO"]),
                    "summary": f"A{n}",
                    "due_date": f"2026-12-{1 + n % 28:02d}",
                },
                AUDIT,
            )
            self.activities.append(result.id)
        elif action == "close_activity" and self.activities:
            activity = rng.choice(self.activities)
            if rng.random() < 0.5:
                app.complete_activity(activity, f"done {n}", AUDIT)
            else:
                app.update_activity(activity, {"due_date": "2027-01-05", "summary": f"B{n}"}, AUDIT)
        elif action == "document":
            # Documents take terms, and mark customers and suppliers (issue 18).
            kind = rng.choice(["INVOICE", "CREDIT_NOTE", "PAYMENT", "VENDOR_BILL"])
            values = {
                "module": "ACCOUNTING",
                "kind": kind,
                "reference": f"D{n % 40}",
                "date": "2026-11-01",
                "amount": str(n),
                "currency": "EUR",
            }
            if kind == "PAYMENT":
                values["direction"] = rng.choice(["INBOUND", "OUTBOUND"])
            result = app.record_document(self.someone(), values, AUDIT)
            self.documents.append(result.id)
        elif action == "pay" and self.documents:
            # Paid, or a new amount (its due dates spread again: issue 18).
            change = {"status": "PAID"} if rng.random() < 0.5 else {"amount": str(n + 7)}
            app.update_document(rng.choice(self.documents), change, AUDIT)
        elif action == "opportunity":
            result = app.create_opportunity(
                self.someone(),
                {"name": f"O{n}", "expected_revenue": {"amount": str(n), "currency": "EUR"}},
                AUDIT,
            )
            self.opportunities.append(result.id)
        elif action == "win" and self.opportunities:
            app.mark_opportunity_won(rng.choice(self.opportunities), AUDIT)
        elif action == "industry" and self.entries["INDUSTRY"]:
            app.update_partner(
                self.someone(),
                {
                    "industry_id": str(rng.choice(self.entries["INDUSTRY"])),
                    "salesperson_id": str(self.pick(self.entries["SALESPERSON"]) or "") or None,
                },
                AUDIT,
            )


def random_history(app: Partnerbook, projector: Projector, seed: int, steps: int) -> None:
    """Random commands, projected every few steps, as a running service would."""
    history = RandomHistory(app, seed)
    for n in range(steps):
        with contextlib.suppress(DomainError):  # refused commands are history too
            history.step(n)
        if n % 5 == 0:
            projector.catch_up()
    projector.catch_up()


def test_incremental_equals_rebuild(app: Partnerbook, db: Database) -> None:
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    random_history(app, projector_for(app, db, live), seed=7, steps=400)

    rebuilt = construct_view(env, prefix="rebuild_")
    applied = projector_for(app, db, rebuilt).catch_up()
    # Runs of partner events are folded together (app/projections/partner_runs.py): one
    # event a batch (nothing folded) and the whole log in one batch (runs as long as the
    # log allows) must come out the same.
    for prefix, batch_size in (("single_", 1), ("whole_", 100_000)):
        projector = projector_for(app, db, construct_view(env, prefix=prefix))
        projector.batch_size = batch_size
        assert projector.catch_up() == applied

    assert applied == app.recorder.max_notification_id()
    assert len(table_rows(db, "partners")) > 20
    for table in (
        "tags",
        "partner_tags",
        "catalog_entries",
        "activities",
        "documents",
        "opportunities",
        "timeline",
    ):
        assert table_rows(db, table), f"the random history left {table} empty"
    for table in live.table_names:
        for prefix in ("rebuild_", "single_", "whole_"):
            assert table_rows(db, table) == table_rows(db, f"{prefix}{table}"), prefix + table


def test_catch_up_applies_each_event_exactly_once(app: Partnerbook, db: Database) -> None:
    view = construct_view(db.eventsourcing_env(2, 5))
    projector = projector_for(app, db, view)
    result = app.create_partner("PERSON", {"name": "Ann"}, AUDIT)
    assert projector.catch_up() == 1
    assert projector.catch_up() == 0
    assert projector.position == result.position
    app.update_partner(result.id, {"city": "Ghent"}, AUDIT)
    assert projector.catch_up() == 1
    [row] = table_rows(db, "partners")
    assert (row["city"], row["version"]) == ("Ghent", 2)


def test_a_long_catch_up_plans_its_batches_for_the_tables_as_they_are(
    app: Partnerbook, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statements that insert a batch's new partners from the staging table are not
    kept prepared: psycopg prepares a statement on its fifth run, and PostgreSQL then kept
    the plan it made for the table as it was (a hash join reading every partner, fit for
    5,000 of them), which made each batch slower as the table grew. And a batch runs
    without JIT compilation."""
    view = construct_view(db.eventsourcing_env(2, 5))
    projector = projector_for(app, db, view)
    seen: list[tuple[int, str]] = []
    process_in = projector.projection.process_in

    def noting(curs: Any, read: Any, *args: Any) -> None:
        process_in(curs, read, *args)
        row = curs.execute("SELECT current_setting('jit')").fetchone()
        seen.append((len(read), row["current_setting"]))

    monkeypatch.setattr(projector.projection, "process_in", noting)
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT)
    for i in range(20 * 7):  # twenty batches of seven, over the pool's connections
        app.create_partner("PERSON", {"name": f"P{i}", "parent_id": str(company.id)}, AUDIT)
    assert projector.catch_up() == 141
    assert {jit for size, jit in seen if size > 1} == {"off"}
    assert len(table_rows(db, "partners")) == 141
    pool = view.datastore.pool
    held = [pool.getconn() for _ in range(pool.get_stats()["pool_size"])]
    try:
        prepared = [
            row["statement"]
            for conn in held
            for row in conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        ]
    finally:
        for conn in held:
            pool.putconn(conn)
    assert prepared, "the projector prepares its other statements"
    reading_the_stage = 'FROM "pg_temp"."partners_new"'
    assert not [statement for statement in prepared if reading_the_stage in statement]


def test_a_failing_batch_leaves_no_trace(
    app: Partnerbook, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = construct_view(db.eventsourcing_env(2, 5))
    projector = projector_for(app, db, view)
    for i in range(3):
        app.create_partner("PERSON", {"name": f"P{i}"}, AUDIT)

    original = view.timeline.apply_many

    def flaky(*args: Any) -> None:
        original(*args)  # the batch's rows are written, then the disk fails
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(view.timeline, "apply_many", flaky)
    with pytest.raises(EventNotApplied) as failed:
        projector.catch_up()
    # Tried again with storable text, then alone: event 1 is the one it cannot apply.
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert failed.value.at.position == 1
    assert table_rows(db, "partners") == []  # view change and tracking roll back together
    assert projector.position == 0
    monkeypatch.setattr(view.timeline, "apply_many", original)
    assert projector.catch_up() == 3


def test_a_company_and_its_contacts_registered_in_one_batch(app: Partnerbook, db: Database) -> None:
    from uuid import uuid4

    from app.domain.partner import Partner

    company = Partner.register(
        partner_id=uuid4(),
        kind="COMPANY",
        values={"name": "Azure", "city": "Fremont", "country_code": "US", "vat": None},
        audit=AUDIT,
    )
    contact = Partner.register(
        partner_id=uuid4(),
        kind="PERSON",
        values={"name": "Brandon", "parent_id": str(company.id), "is_customer": True},
        audit=AUDIT,
        parent=company,
    )
    app.save(contact, company)  # the contact even comes first in the log
    projector = projector_for(app, db, construct_view(db.eventsourcing_env(2, 5)))
    projector.batch_size = 1  # and is projected in a batch before its company's
    projector.catch_up()
    rows = {r["own_name"]: r for r in table_rows(db, "partners")}
    assert rows["Brandon"]["display_name"] == "Azure, Brandon"
    assert rows["Brandon"]["city"] == "Fremont"
    assert rows["Brandon"]["commercial_partner_id"] == company.id
    assert rows["Brandon"]["is_customer"] is True and rows["Azure"]["is_supplier"] is False


def test_a_hierarchy_projected_in_one_batch_equals_it_projected_event_by_event(
    app: Partnerbook, db: Database
) -> None:
    """New partners are inserted resolved (partner_resolution.StagedInserts), companies
    first: a subsidiary, its parent, their contacts, a partner archived and one updated
    in the same run give the rows that one event a batch gives."""
    from uuid import uuid4

    from app.domain.partner import Partner

    def register(kind: str, parent: Partner | None = None, **values: Any) -> Partner:
        if parent is not None:
            values["parent_id"] = str(parent.id)
        return Partner.register(
            partner_id=uuid4(), kind=kind, values=values, audit=AUDIT, parent=parent
        )

    group = register("COMPANY", name="Azure Group", vat="BE0477472701", city="Brussels")
    subsidiary = register("COMPANY", group, name="Azure Fremont", city="Fremont")
    brandon = register("PERSON", subsidiary, name="Brandon Freeman", email="B@Azure.example")
    invoice = register("PERSON", group, type="INVOICE", street="Rue Haute 1")
    loner = register("PERSON", name="Lone Ranger", country_code="US")
    loner.archive(AUDIT)
    group.update({"city": "Bruxelles"}, AUDIT)
    # Children before their parents in the log: projected before them when one by one.
    app.save(brandon, invoice, subsidiary, group, loner)
    existing = register("PERSON", name="Already There")
    app.save(existing)
    projector_for(app, db, construct_view(db.eventsourcing_env(2, 5))).catch_up()
    moved = register("PERSON", group, name="Joined Later")
    existing.update({"parent_id": str(group.id)}, AUDIT, parent=group)
    app.save(existing, moved)
    whole = Projector(app, RegistryProjection(construct_view(db.eventsourcing_env(2, 5))), db)
    whole.catch_up()
    one_by_one = construct_view(db.eventsourcing_env(2, 5), prefix="single_")
    Projector(app, RegistryProjection(one_by_one), db, batch_size=1).catch_up()
    batched, single = table_rows(db, "partners"), table_rows(db, "single_partners")
    for a, b in zip(batched, single, strict=True):
        assert a == b, {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    rows = {r["own_name"]: r for r in table_rows(db, "partners")}
    assert rows["Brandon Freeman"]["display_name"] == "Azure Fremont, Brandon Freeman"
    assert rows["Brandon Freeman"]["city"] == "Fremont"
    assert rows["Brandon Freeman"]["effective_vat"] is None  # its commercial partner's
    assert rows["Lone Ranger"]["archived"] is True
    assert rows[None]["city"] is None and rows[None]["street"] == "Rue Haute 1"
    assert rows["Already There"]["commercial_partner_id"] == group.id
    assert rows["Joined Later"]["effective_vat"] == "BE0477472701"


def test_a_registry_made_before_gets_the_country_and_name_index_at_start(db: Database) -> None:
    """P4's page (a country and a role, by name) walks `partners_country_name` from the
    country's first name. A registry whose tables came with `partners_country` (country
    and id) gets the new index when the view starts, and loses the old one."""
    env = db.eventsourcing_env(2, 5)
    construct_view(env).datastore.close()
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute("DROP INDEX partners_country_name")
        conn.execute("CREATE INDEX partners_country ON partners (country_code, id)")
        # What made them left no mark of this version's statements (app/infra/schema_marks.py).
        conn.execute("DROP TABLE partnerbook_schema_marks")
    construct_view(env).datastore.close()
    with psycopg.connect(db.conninfo()) as conn:
        found: dict[str, str] = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'partners' "
                "AND schemaname = current_schema() AND indexname LIKE 'partners_country%'"
            ).fetchall()
        )
    assert list(found) == ["partners_country_name"]
    assert found["partners_country_name"].endswith("(country_code, name_key, id)")
