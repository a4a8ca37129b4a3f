"""The partners projection: built incrementally, or from scratch, it comes out the same."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from app.application import Partnerbook
from app.database import Database
from app.domain.errors import DomainError
from app.domain.partner import Audit
from app.projections.projector import Projector, RegistryProjection, construct_view
from app.projections.registry import RegistryView

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
    with psycopg.connect(db.conninfo(), row_factory=dict_row) as conn:
        rows = conn.execute(
            psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(psycopg.sql.Identifier(table))
        ).fetchall()
    return rows


def random_history(app: Partnerbook, projector: Projector, seed: int, steps: int) -> None:
    """Random commands, projected every few steps, as a running service would."""
    rng = random.Random(seed)
    companies: list[UUID] = []
    everyone: list[UUID] = []
    for step in range(steps):
        action = rng.choice(
            ["company", "person", "rename", "move", "address", "archive", "restore", "type"]
        )
        try:
            if action == "company" or not companies:
                city, country = rng.choice(CITIES)
                parent = str(rng.choice(companies)) if companies and rng.random() < 0.3 else None
                result = app.create_partner(
                    "COMPANY",
                    {
                        "name": f"Company {step}",
                        "city": city,
                        "country_code": country,
                        "parent_id": parent,
                    },
                    AUDIT,
                )
                companies.append(result.id)
                everyone.append(result.id)
            elif action == "person":
                parent = str(rng.choice(companies)) if rng.random() < 0.8 else None
                result = app.create_partner(
                    "PERSON", {"name": f"Person {step}", "parent_id": parent}, AUDIT
                )
                everyone.append(result.id)
            elif action == "rename":
                app.update_partner(rng.choice(everyone), {"name": f"Renamed {step}"}, AUDIT)
            elif action == "move":
                app.update_partner(
                    rng.choice(everyone), {"parent_id": str(rng.choice(companies))}, AUDIT
                )
            elif action == "address":
                city, country = rng.choice(CITIES)
                app.update_partner(
                    rng.choice(everyone),
                    {"city": city, "country_code": country, "street": f"{step} Main St"},
                    AUDIT,
                )
            elif action == "type":
                app.update_partner(
                    rng.choice(everyone),
                    {"type": rng.choice(["CONTACT", "INVOICE", "DELIVERY"])},
                    AUDIT,
                )
            elif action == "archive":
                app.archive_partner(rng.choice(everyone), AUDIT)
            else:
                app.restore_partner(rng.choice(everyone), AUDIT)
        except DomainError:
            pass  # refused commands are part of a realistic history
        if step % 5 == 0:
            projector.catch_up()
    projector.catch_up()


def test_incremental_equals_rebuild(app: Partnerbook, db: Database) -> None:
    env = db.eventsourcing_env(2, 5)
    live = construct_view(env)
    random_history(app, projector_for(app, db, live), seed=7, steps=160)

    rebuilt = construct_view(env, prefix="rebuild_")
    applied = projector_for(app, db, rebuilt).catch_up()

    assert applied == app.recorder.max_notification_id()
    assert len(table_rows(db, "partners")) > 20
    for table in live.table_names:
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table


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


def test_a_failing_batch_leaves_no_trace(
    app: Partnerbook, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = construct_view(db.eventsourcing_env(2, 5))
    projector = projector_for(app, db, view)
    for i in range(3):
        app.create_partner("PERSON", {"name": f"P{i}"}, AUDIT)

    calls = 0
    original = view.apply

    def flaky(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk on fire")
        original(*args)

    monkeypatch.setattr(view, "apply", flaky)
    with pytest.raises(RuntimeError):
        projector.catch_up()
    assert table_rows(db, "partners") == []  # view change and tracking roll back together
    assert projector.position == 0
    monkeypatch.setattr(view, "apply", original)
    assert projector.catch_up() == 3
