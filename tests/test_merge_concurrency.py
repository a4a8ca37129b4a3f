"""Merges racing each other: one source is merged once, a keyed merge records once."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from uuid import UUID

import pytest

from app.application import Partnerbook
from app.application.merging import MergeOutcome
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.infra.database import Database
from tests.test_group_commit import run_all

AUDIT = Audit(actor="test", request_id="r-merge")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(8, 5))
    yield application
    application.close()


def person(app: Partnerbook, name: str) -> UUID:
    return app.create_partner("PERSON", {"name": name}, AUDIT).id


def test_one_source_merged_into_two_destinations_at_once(app: Partnerbook) -> None:
    for round_ in range(5):
        source = person(app, f"Source {round_}")
        targets = [person(app, f"Target {round_}.{i}") for i in range(4)]
        results = run_all(
            [partial(app.merge_partners, target, [source], {}, AUDIT) for target in targets]
        )
        won = [r for r in results if isinstance(r, MergeOutcome)]
        lost = [r for r in results if isinstance(r, DomainError)]
        assert len(won) == 1 and len(lost) == 3, results
        assert all(e.errors[0].code is ErrorCode.ARCHIVED for e in lost)
        merged: Partner = app.repository.get(source)
        assert isinstance(merged, Partner)
        assert merged.merged_into == str(won[0].result.id)
        assert merged.version == 2  # registered, merged: once


def test_the_same_keyed_merge_sent_at_once_records_once(app: Partnerbook) -> None:
    destination = person(app, "Keeper")
    sources = [person(app, f"Dup {i}") for i in range(3)]
    before = app.recorder.max_notification_id()
    results = run_all(
        [
            (lambda: app.merge_partners(destination, sources, {}, AUDIT, idempotency_key="k"))
            for _ in range(6)
        ]
    )
    outcomes = [r for r in results if isinstance(r, MergeOutcome)]
    assert len(outcomes) == len(results), results
    assert sum(r.recorded for r in outcomes) == 1
    after = app.recorder.max_notification_id()
    assert after is not None and before is not None
    assert after - before == 1 + 3 + 1  # Absorbed, 3 Merged, the key's reservation
