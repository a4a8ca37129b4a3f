"""Reads the next batch of the log, and decodes it, while the projector applies the
current one: decoding is Python (~35 µs an event) and applying mostly waits for
PostgreSQL, so on two cores they overlap instead of adding up (issue 19).

The batch read ahead is only a guess at what comes next: the projector takes it only
when its transaction finds the tracked position where the guess started (a rebuild
swapped in between, a failed batch tried again: it reads afresh), and anything that
goes wrong ahead (a connection lost, an event that does not decode) is left for the
projector's own read to meet, in its transaction, as it would have without."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification


@dataclass(frozen=True)
class Batch:
    notifications: Sequence[Notification]
    events: Sequence[Any] | None
    """The notifications decoded (None: the projection decodes them itself)."""


class ReadAhead:
    """At most one batch read ahead, by one thread of its own."""

    def __init__(self, read: Callable[[int], Batch]) -> None:
        self._read = read
        self._pool: ThreadPoolExecutor | None = None
        self._next: tuple[int, Future[Batch]] | None = None

    def prepare(self, start: int) -> None:
        """Starts reading the batch after position `start`."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="projector-read-ahead")
        self._next = (start, self._pool.submit(self._read, start))

    def take(self, start: int) -> Batch | None:
        """The batch read ahead from `start`, or None (none, another start, empty, failed)."""
        if self._next is None:
            return None
        at, future = self._next
        self._next = None
        if at != start:
            future.cancel()
            return None
        try:
            batch = future.result()
        except Exception:  # met again by the projector's own read, where it is handled
            return None
        return batch if batch.notifications else None

    def close(self) -> None:
        self._next = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
