"""Saving through eventsourcing: `Application.save` cut in its two halves (collect the
events, then write them), so that group commit (app/application/group_commit.py) can
merge the events of many commands in between.

eventsourcing 9.5 has no public way to write events already collected, so this is the one
module that repeats `Application.save` and calls the private steps it is made of
(`_record`, `_take_snapshots`, `_notify`). tests/infra/test_saving.py fails when the
library code it repeats or calls changes (the digests in LIBRARY_CODE), and checks that
a save through here leaves what the library's own `save` leaves."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording

LIBRARY_CODE = {
    "Application.save": "4e9747d14b8fd046df1b9b8ce688be89030978de0c04a632e6a7ec783dc7c5cc",
    "Application._record": "104c6186b29d50595198443b697de23b0dab4344c50d4dca54688b32fce52340",
    "Application._take_snapshots": (
        "ae98c5b97ed9a8e3c50f324a01081e277572d192fac93ef738fdb3c053421562"
    ),
    "Application._notify": "6b32f9fc4b4cf4552a6e87205e218d3a65403a116435604c75513ce101a83785",
    "ProcessingEvent.collect_events": (
        "7e3a7e6b1abd2bef334f1ebe7015d887cf935916f87f3c7fbd75127907ab3488"
    ),
}
"""SHA-256 of the source (`inspect.getsource`) of what this module repeats or calls, as it
is in eventsourcing 9.5.6. When the library changes one, read the new code, adapt this
module, and note the new digest."""


def collect(*objs: Any) -> ProcessingEvent[Any]:
    """`ProcessingEvent.collect_events`, in the same order, without its isinstance checks
    against runtime-checkable protocols for an `Aggregate` (~30 % of the CPU of saving a
    batch of 400 new partners); anything else goes through eventsourcing's own."""
    events: ProcessingEvent[Any] = ProcessingEvent()
    for obj in objs:
        if isinstance(obj, Aggregate):
            events.events.extend(obj.collect_events())
            events.aggregates[obj.id] = obj
        elif obj is not None:
            events.collect_events(obj)
    return events


def save(app: Application[Any], *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
    """`Application.save`, collecting the events with `collect`."""
    events = collect(*objs)
    events.saved_kwargs.update(kwargs)
    recordings = record(app, events)
    after_recording(app, events, recordings)
    app.notify(events.events)  # deprecated in eventsourcing; kept as it is
    return recordings


def record(app: Application[Any], events: ProcessingEvent[Any]) -> list[Recording[Any]]:
    """The first step of a save once its events are collected: stores them in one
    transaction (through the application's `_record`, which it may extend) and puts the
    aggregates in the cache. Raises `IntegrityError` on a conflict."""
    return app._record(events)


def after_recording(
    app: Application[Any], events: ProcessingEvent[Any], recordings: list[Recording[Any]]
) -> None:
    """The rest of a save: snapshots due at the new versions, then the `_notify` hook."""
    app._take_snapshots(events)
    app._notify(recordings)
