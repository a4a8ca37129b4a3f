"""`load_many` gives what `repository.get` gives: new, changed, snapshotted, encrypted
(people) and unknown aggregates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.batch_loading import load_many
from app.infra.database import Database

AUDIT = Audit(actor="test", request_id="r")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    env = db.eventsourcing_env(2, 5)
    application = Partnerbook(env=env)
    yield application
    application.close()


def test_load_many_equals_repository_get(app: Partnerbook) -> None:
    company = app.create_partner("COMPANY", {"name": "Acme"}, AUDIT).id
    person = app.create_partner("PERSON", {"name": "Jane Doe", "email": "j@x.be"}, AUDIT).id
    app.update_partner(person, {"phone": "+32 2 555 12 34"}, AUDIT)
    busy = app.create_partner("COMPANY", {"name": "Busy"}, AUDIT).id
    for i in range(120):  # past the snapshot interval (100)
        app.update_partner(busy, {"ref": f"r{i}"}, AUDIT)
    unknown = uuid.uuid4()
    loaded = load_many(app, [company, person, busy, unknown, person])
    assert set(loaded) == {company, person, busy}
    for ident, aggregate in loaded.items():
        expected: Any = app.repository.get(ident)
        assert aggregate.version == expected.version
        assert aggregate.__dict__ == expected.__dict__
