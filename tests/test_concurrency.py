"""32 writers hammer one partner with `expectedVersion`: every success adds exactly one
event, every other attempt is a CONFLICT, and the final state equals replaying the
stored events. Runs PARTNERBOOK_CONCURRENCY_SECONDS (default 30) seconds."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.infra.database import Database

THREADS = 32
SECONDS = float(os.environ.get("PARTNERBOOK_CONCURRENCY_SECONDS", "30"))
AUDIT = Audit(actor="test", request_id="r-1")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(8, 10))
    yield application
    application.close()


@pytest.mark.timeout(SECONDS + 300)
def test_writers_with_expected_versions_lose_nothing_and_double_nothing(
    app: Partnerbook,
) -> None:
    partner_id = app.create_partner("COMPANY", {"name": "Start"}, AUDIT).id
    events_before = len(list(app.repository.event_store.get(partner_id)))
    outcomes: Counter[str] = Counter()
    versions: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS
    start = threading.Barrier(THREADS)

    def both_seen() -> bool:
        # Past the deadline the writers go on until a success and a conflict were seen:
        # what the test asserts must not depend on how much a loaded machine got done.
        with lock:
            return outcomes["success"] > 0 and outcomes["conflict"] > 0

    def writer(n: int) -> None:
        start.wait()
        i = 0
        while time.monotonic() < deadline or not both_seen():
            i += 1
            seen: int = app.repository.get(partner_id).version
            try:
                result = app.update_partner(
                    partner_id, {"name": f"writer {n} change {i}"}, AUDIT, seen
                )
            except DomainError as error:
                codes = {e.code for e in error.errors}
                with lock:
                    if codes == {ErrorCode.CONFLICT}:
                        outcomes["conflict"] += 1
                    else:
                        unexpected.append(error)
                continue
            except BaseException as error:
                with lock:
                    unexpected.append(error)
                return
            with lock:
                outcomes["success"] += 1
                versions.append(result.version)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert unexpected == []
    stored = list(app.repository.event_store.get(partner_id))
    assert outcomes["success"] > 0 and outcomes["conflict"] > 0, outcomes
    assert len(stored) - events_before == outcomes["success"]
    # Each success made its own version: none lost, none doubled.
    assert sorted(versions) == list(range(events_before + 1, len(stored) + 1))

    replayed: Any = None
    for event in stored:
        assert isinstance(event, Partner.Event)
        replayed = event.mutate(replayed)
    current: Partner = app.repository.get(partner_id)  # may come from a snapshot
    assert isinstance(replayed, Partner)
    assert current.version == replayed.version == len(stored)
    assert current.values == replayed.values
    assert vars(current) == vars(replayed)
    print(f"\n{THREADS} threads x {SECONDS:.0f} s: {dict(outcomes)}")
