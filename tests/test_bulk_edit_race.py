"""A bulk edit racing a normal edit of one of its partners: neither change is lost.

Driven by progress, not the clock: the normal edit is made right after the bulk edit
loaded the partner and before it saves its batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest

from app.application import Partnerbook, bulk_edit
from app.domain.audited import Audit
from app.domain.bulk_edit import BulkChanges
from app.domain.partner import Partner
from app.infra.batch_loading import load_many
from app.infra.database import Database

AUDIT = Audit(actor="bulk", request_id="r-bulk", reason="tagging")
OTHER = Audit(actor="someone", request_id="r-other")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(4, 10))
    yield application
    application.close()


def test_a_normal_edit_made_while_a_bulk_edit_runs_is_kept_and_so_is_the_bulk_change(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = app.create_tag({"name": "VIP"}, OTHER).id
    first = app.create_partner("COMPANY", {"name": "First"}, OTHER).id
    second = app.create_partner("COMPANY", {"name": "Second"}, OTHER).id
    interleaved: list[UUID] = []

    def load_then_edit(application: Any, ids: Sequence[UUID]) -> dict[UUID, Any]:
        found = load_many(application, ids)
        if first in ids and not interleaved:
            interleaved.append(first)  # the bulk edit holds version 1 now
            app.update_partner(first, {"name": "Renamed meanwhile", "is_supplier": True}, OTHER)
        return found

    monkeypatch.setattr(bulk_edit, "load_many", load_then_edit)
    result = app.bulk_update_partners(
        [first, second], BulkChanges(add_tag_ids=(tag,), is_customer=True), AUDIT, limit=10
    )
    assert interleaved == [first]
    assert (result.outcome.changed, result.outcome.unchanged, result.outcome.refused) == (2, 0, [])
    partner: Partner = app.repository.get(first)
    assert partner.values["name"] == "Renamed meanwhile"
    assert partner.values["is_supplier"] is True and partner.values["is_customer"] is True
    assert partner.tag_ids == [str(tag)]
    events = list(app.events.get(first))
    assert [(type(e).__name__, getattr(e, "actor", None)) for e in events] == [
        ("Registered", "someone"),
        ("Updated", "someone"),
        ("Updated", "bulk"),
    ]
    assert app.repository.get(second).tag_ids == [str(tag)]
