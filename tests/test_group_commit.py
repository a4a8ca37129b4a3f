"""Group commit: concurrent commands share transactions, each keeping its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import pytest

from app.application import Partnerbook
from app.database import Database
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Audit

AUDIT = Audit(actor="test", request_id="r-1")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(8, 5))
    yield application
    application.close()


def run_all(jobs: list[object]) -> list[object]:
    results: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()  # type: ignore[operator]
        except DomainError as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_many_concurrent_creates_all_land_with_their_own_positions(app: Partnerbook) -> None:
    results = run_all(
        [(lambda i=i: app.create_partner("PERSON", {"name": f"P{i}"}, AUDIT)) for i in range(40)]
    )
    positions = [r.position for r in results]  # type: ignore[attr-defined]
    assert len(set(positions)) == 40 and None not in positions
    assert app.recorder.max_notification_id() == max(positions)  # type: ignore[type-var]
    for result in results:
        partner = app.repository.get(result.id)  # type: ignore[attr-defined]
        assert partner.version == 1


def test_a_conflict_in_a_batch_fails_only_its_own_command(app: Partnerbook) -> None:
    target = app.create_partner("PERSON", {"name": "Ann"}, AUDIT).id
    jobs: list[object] = [
        (lambda i=i: app.update_partner(target, {"city": f"City {i}"}, AUDIT, 1)) for i in range(6)
    ]
    jobs += [
        (lambda i=i: app.create_partner("PERSON", {"name": f"New {i}"}, AUDIT)) for i in range(10)
    ]
    results = run_all(jobs)
    updates, creates = results[:6], results[6:]
    won = [r for r in updates if not isinstance(r, DomainError)]
    lost = [r for r in updates if isinstance(r, DomainError)]
    assert len(won) == 1 and all(e.errors[0].code is ErrorCode.CONFLICT for e in lost)
    assert all(not isinstance(r, DomainError) for r in creates)
    assert app.repository.get(target).version == 2
    assert len({r.id for r in creates}) == 10  # type: ignore[attr-defined]
    assert all(isinstance(r.id, UUID) for r in creates)  # type: ignore[attr-defined]
