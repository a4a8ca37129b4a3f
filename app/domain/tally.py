"""Tally: how many records of a kind a partner has (its bank accounts, a person's
affiliations), counted where they are written.

A limit on records that are aggregates of their own cannot be checked on a read model:
concurrent adds would all see room. The tally is saved with each add (and removal), so
two adds that loaded the same tally conflict on its version and one of them retries
against the new count. Its id is a uuid5 of its key (as `Reservation`)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from app.domain.errors import validation
from app.domain.messages import Message

TALLIES = uuid5(NAMESPACE_URL, "https://partnerbook.dev/tallies")


def tally_id(key: str) -> UUID:
    return uuid5(TALLIES, key)


class Tally(Aggregate):
    @event("Started")
    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0

    @staticmethod
    def create_id(key: str) -> UUID:
        return tally_id(key)

    def add_one(self, limit: int, field: str) -> None:
        """One more, unless there are `limit` already (VALIDATION on `field`)."""
        if self.count >= limit:
            raise validation(
                Message("a partner has at most %(limit)s of these", limit=limit), field
            )
        self._counted(1)

    def remove_one(self) -> None:
        self._counted(-1)

    @event("Counted")
    def _counted(self, by: int) -> None:
        self.count = max(0, self.count + by)
