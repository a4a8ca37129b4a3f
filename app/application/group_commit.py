"""Group commit: the events of concurrent commands saved in one transaction.

eventsourcing serialises writers with a table lock, so one transaction per command caps
the rate of commands at the rate of transactions. Here the first command to arrive
writes; commands that arrive meanwhile wait and are then written together, in one
transaction, by the next of them. A batch that fails on a conflict is written again one
command at a time, so each command gets its own outcome, as if it had been saved alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from app.infra.saving import collect

Write = Callable[[ProcessingEvent[Any]], list[Recording[Any]]]


@dataclass(eq=False)
class _Pending:
    events: ProcessingEvent[Any]
    done: threading.Event = field(default_factory=threading.Event)
    recordings: list[Recording[Any]] | None = None
    error: BaseException | None = None


class GroupCommit:
    # Kept small: psycopg 3.3.9 in pipeline mode (eventsourcing's insert) was seen to hang
    # sending statements of ~0.4 MB and more (batches of 700-1,000 new partners).
    def __init__(self, write: Write, max_batch: int = 100) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False

    def save(self, *aggregates: Aggregate) -> list[Recording[Any]]:
        pending = _Pending(collect(*aggregates))
        with self._lock:
            self._queue.append(pending)
            lead = not self._writing
            if lead:
                self._writing = True
        if lead:
            self._lead()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.recordings is not None
        return pending.recordings

    def _lead(self) -> None:
        """Writes batches until no command waits, then lets the next arrival lead."""
        while True:
            with self._lock:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                if not batch:
                    self._writing = False
                    return
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            self._write_alone(batch[0])
            return
        merged: ProcessingEvent[Any] = ProcessingEvent()
        for pending in batch:
            merged.events.extend(pending.events.events)
            merged.aggregates.update(pending.events.aggregates)
        try:
            recordings = self._write(merged)
        except IntegrityError:
            # A command conflicts: the transaction wrote nothing; find which by writing
            # each command on its own.
            for pending in batch:
                self._write_alone(pending)
            return
        except BaseException as error:  # e.g. the database is down: all of them failed
            for pending in batch:
                pending.error = error
                pending.done.set()
            return
        start = 0
        for pending in batch:  # recordings come in the order of the merged events
            count = len(pending.events.events)
            pending.recordings = recordings[start : start + count]
            start += count
            pending.done.set()

    def _write_alone(self, pending: _Pending) -> None:
        try:
            pending.recordings = self._write(pending.events)
        except BaseException as error:
            pending.error = error
        pending.done.set()
