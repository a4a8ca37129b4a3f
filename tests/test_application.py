"""The write side under concurrency: no lost update, stale versions are conflicts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.infra.database import Database

AUDIT = Audit(actor="test", request_id="r-1", reason="because")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(4, 5))
    yield application
    application.close()


def _race(
    app: Partnerbook,
    partner_id: UUID,
    monkeypatch: pytest.MonkeyPatch,
    changes: list[dict[str, str]],
    expected_version: int | None,
) -> list[object]:
    """Runs updates that all load the partner before any of them saves."""
    barrier = threading.Barrier(len(changes))
    original = Partnerbook._get_partner

    waited = threading.local()

    def get_then_wait(self: Partnerbook, ident: UUID) -> Partner:
        partner = original(self, ident)
        if not getattr(waited, "done", False):  # only the first load races; retries don't
            waited.done = True
            barrier.wait(timeout=120)  # a guard against a hang, not a timing
        return partner

    monkeypatch.setattr(Partnerbook, "_get_partner", get_then_wait)
    outcomes: list[object] = [None] * len(changes)

    def run(i: int) -> None:
        try:
            outcomes[i] = app.update_partner(partner_id, changes[i], AUDIT, expected_version)
        except DomainError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(changes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.setattr(Partnerbook, "_get_partner", original)
    return outcomes


def test_concurrent_updates_with_the_same_expected_version(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = app.create_partner("PERSON", {"name": "Ann"}, AUDIT)
    outcomes = _race(app, created.id, monkeypatch, [{"city": "Ghent"}, {"city": "Lyon"}], 1)
    conflicts = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(conflicts) == 1
    assert conflicts[0].errors[0].code is ErrorCode.CONFLICT
    assert app.repository.get(created.id).version == 2


def test_concurrent_updates_without_expected_version_both_land(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = app.create_partner("PERSON", {"name": "Ann"}, AUDIT)
    outcomes = _race(app, created.id, monkeypatch, [{"city": "Ghent"}, {"ref": "R-1"}], None)
    assert not any(isinstance(o, DomainError) for o in outcomes)
    partner: Partner = app.repository.get(created.id)
    assert (partner.values["city"], partner.values["ref"], partner.version) == ("Ghent", "R-1", 3)


def test_commands_return_the_position_of_their_last_event(app: Partnerbook) -> None:
    first = app.create_partner("PERSON", {"name": "Ann"}, AUDIT)
    second = app.update_partner(first.id, {"city": "Ghent"}, AUDIT)
    unchanged = app.update_partner(first.id, {"city": "Ghent"}, AUDIT)
    assert first.position is not None and second.position is not None
    assert second.position > first.position
    assert unchanged.position is None and unchanged.version == 2


def test_events_carry_actor_request_and_reason(app: Partnerbook) -> None:
    created = app.create_partner("PERSON", {"name": "Ann"}, AUDIT)
    app.archive_partner(created.id, Audit("auditor", "r-2", "left the company"))
    events = list(app.events.get(created.id))
    assert [(e.actor, e.request_id, e.reason) for e in events] == [  # type: ignore[attr-defined]
        ("test", "r-1", "because"),
        ("auditor", "r-2", "left the company"),
    ]
