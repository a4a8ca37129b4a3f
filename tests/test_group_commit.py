"""Group commit: concurrent commands share transactions, each keeping its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from app.application import CommandResult, Partnerbook
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.infra.database import Database

AUDIT = Audit(actor="test", request_id="r-1")
T = TypeVar("T")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(8, 5))
    yield application
    application.close()


def run_all(jobs: Sequence[Callable[[], T]]) -> list[T | DomainError]:
    """Runs every job on its own thread at once; each answer or domain error, in order."""
    results: dict[int, T | DomainError] = {}

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except DomainError as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # (a hang is ended by the test timeout)
    return [results[i] for i in range(len(jobs))]


def test_many_concurrent_creates_all_land_with_their_own_positions(app: Partnerbook) -> None:
    results = run_all(
        [partial(app.create_partner, "PERSON", {"name": f"P{i}"}, AUDIT) for i in range(40)]
    )
    created = [r for r in results if isinstance(r, CommandResult)]
    assert len(created) == 40, results
    positions = [r.position for r in created]
    assert len(set(positions)) == 40 and None not in positions
    assert app.recorder.max_notification_id() == max(p for p in positions if p is not None)
    for result in created:
        partner: Partner = app.repository.get(result.id)
        assert partner.version == 1


def test_a_conflict_in_a_batch_fails_only_its_own_command(app: Partnerbook) -> None:
    target = app.create_partner("PERSON", {"name": "Ann"}, AUDIT).id
    jobs: list[Callable[[], CommandResult]] = [
        partial(app.update_partner, target, {"city": f"City {i}"}, AUDIT, 1) for i in range(6)
    ]
    jobs += [partial(app.create_partner, "PERSON", {"name": f"New {i}"}, AUDIT) for i in range(10)]
    results = run_all(jobs)
    updates, creates = results[:6], results[6:]
    won = [r for r in updates if not isinstance(r, DomainError)]
    lost = [r for r in updates if isinstance(r, DomainError)]
    assert len(won) == 1 and all(e.errors[0].code is ErrorCode.CONFLICT for e in lost)
    assert all(not isinstance(r, DomainError) for r in creates)
    assert app.repository.get(target).version == 2
    created = [r for r in creates if isinstance(r, CommandResult)]
    assert len({r.id for r in created}) == 10
    assert all(isinstance(r.id, UUID) for r in created)


def _registered(partner_id: UUID, name: str) -> ProcessingEvent[UUID]:
    partner = Partner.register(
        partner_id=partner_id,
        kind="PERSON",
        values={"name": name, "email": f"{name.lower()}@example.com"},
        audit=AUDIT,
    )
    events: ProcessingEvent[UUID] = ProcessingEvent()
    events.collect_events(partner)
    return events


def test_a_retried_write_that_had_committed_is_taken_as_recorded(app: Partnerbook) -> None:
    """The connection broke after the commit, so eventsourcing retried the insert and the
    retry met the events already there: the command succeeded, it is not an error."""
    partner_id = uuid4()
    events = _registered(partner_id, "Ann")
    first = app._record(events)  # the commit whose answer was lost
    again = app._write(events)  # the retry
    assert [r.notification.id for r in again] == [r.notification.id for r in first]
    assert app.repository.get(partner_id).values["name"] == "Ann"


def test_someone_elses_events_at_the_same_position_are_still_a_conflict(
    app: Partnerbook,
) -> None:
    partner_id = uuid4()
    app._record(_registered(partner_id, "Ann"))
    with pytest.raises(IntegrityError):
        app._write(_registered(partner_id, "Bob"))  # same id and version, other event
