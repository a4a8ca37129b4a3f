"""app/infra/saving.py repeats eventsourcing's `Application.save` and calls its private
steps: these tests fail when the library changes what the copy relies on, and check that
a save through the copy leaves what the library's own `save` leaves."""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Recording

from app.infra import saving


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Counters(Application[UUID]):
    """An in-memory application that snapshots every second version and keeps what its
    `_notify` and deprecated `notify` hooks were given."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Counter: 2}

    def __init__(self) -> None:
        super().__init__({"AGGREGATE_CACHE_MAXSIZE": "10", "AGGREGATE_CACHE_FASTFORWARD": "n"})
        self.notified: list[list[Recording[UUID]]] = []
        self.notified_events: list[list[Any]] = []

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        self.notified.append(recordings)

    def notify(self, new_events: list[Any]) -> None:
        self.notified_events.append(new_events)


def _library_objects() -> dict[str, Any]:
    return {
        "Application.save": Application.save,
        "Application._record": Application._record,
        "Application._take_snapshots": Application._take_snapshots,
        "Application._notify": Application._notify,
        "ProcessingEvent.collect_events": ProcessingEvent.collect_events,
    }


@pytest.mark.parametrize("name", sorted(saving.LIBRARY_CODE))
def test_the_library_code_the_copy_relies_on_is_unchanged(name: str) -> None:
    source = inspect.getsource(_library_objects()[name])
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == saving.LIBRARY_CODE[name], (
        f"eventsourcing's {name} changed: re-read it, adapt app/infra/saving.py, "
        "then note its new digest in LIBRARY_CODE"
    )


def test_every_library_object_the_copy_relies_on_is_checked() -> None:
    assert set(saving.LIBRARY_CODE) == set(_library_objects())


def test_the_private_steps_take_what_the_copy_passes() -> None:
    params = {
        name: list(inspect.signature(getattr(Application, name)).parameters)
        for name in ("_record", "_take_snapshots", "_notify")
    }
    assert params == {
        "_record": ["self", "processing_event"],
        "_take_snapshots": ["self", "processing_event"],
        "_notify": ["self", "recordings"],
    }


def _saved_twice(save: Any) -> tuple[Counters, Counter, list[Recording[UUID]]]:
    app = Counters()
    counter = Counter()
    counter.increment()
    first = save(app, counter)
    counter.increment()
    counter.increment()
    return app, counter, first + save(app, counter)


def test_a_save_through_the_copy_leaves_what_the_library_save_leaves() -> None:
    theirs_app, theirs, theirs_recordings = _saved_twice(Application.save)
    ours_app, ours, ours_recordings = _saved_twice(saving.save)

    def stored(app: Counters, counter: Counter) -> list[tuple[str, int]]:
        return [(type(e).__name__, e.originator_version) for e in app.events.get(counter.id)]

    def snapshots(app: Counters, counter: Counter) -> list[int]:
        assert app.snapshots is not None
        return [s.originator_version for s in app.snapshots.get(counter.id)]

    def shape(app: Counters, counter: Counter, recordings: list[Recording[UUID]]) -> object:
        return (
            stored(app, counter),
            snapshots(app, counter),
            [r.notification.id for r in recordings],
            [[r.notification.id for r in batch] for batch in app.notified],
            [len(batch) for batch in app.notified_events],
            app.repository.get(counter.id).count,
        )

    assert snapshots(ours_app, ours) == [2, 4]
    assert ours_app.repository.cache is not None
    assert ours_app.repository.cache.get(ours.id) is ours
    assert shape(ours_app, ours, ours_recordings) == shape(theirs_app, theirs, theirs_recordings)


def _batch() -> tuple[list[Any], list[int], list[int]]:
    """An aggregate with two pending events, None, a loose event, a new aggregate: the
    objects, the ids of the events in the order a save takes them, of the aggregates."""
    first, last = Counter(), Counter()
    first.increment()
    loose = Counter().collect_events()[0]
    events = [*first.pending_events, loose, *last.pending_events]
    return [first, None, loose, last], [id(e) for e in events], [id(first), id(last)]


def test_collect_gathers_what_collect_events_gathers() -> None:
    objs, events, aggregates = _batch()
    theirs: ProcessingEvent[UUID] = ProcessingEvent()
    theirs.collect_events(*objs)
    assert ([id(e) for e in theirs.events], [id(a) for a in theirs.aggregates.values()]) == (
        events,
        aggregates,
    )

    objs, events, aggregates = _batch()
    ours = saving.collect(*objs)
    assert ([id(e) for e in ours.events], [id(a) for a in ours.aggregates.values()]) == (
        events,
        aggregates,
    )
