"""What the rebuild tests share: a history recorded with the live tables kept as it is
recorded, then every table built again from the first event under `rebuild_` names."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.application import Partnerbook
from app.infra.database import Database
from app.projections.projector import construct_view
from tests.projections.test_partners_projection import projector_for

T = TypeVar("T")


def live_and_rebuilt(db: Database, history: Callable[[Partnerbook], T]) -> T:
    """Records `history` (its result is returned), catches the live tables up, and builds
    the `rebuild_` tables from the whole log with another application."""
    env = db.eventsourcing_env(2, 5)
    app = Partnerbook(env=env)
    live = construct_view(env)
    try:
        projector = projector_for(app, db, live)
        result = history(app)
        projector.catch_up()
    finally:
        app.close()
    reader = Partnerbook(env=env)
    try:
        rebuilt = construct_view(env, prefix="rebuild_")
        projector_for(reader, db, rebuilt).catch_up()
    finally:
        reader.close()
    return result
