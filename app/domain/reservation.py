"""Reservation: makes a value unique (an account code, a tag name among its siblings).

Its id is a uuid5 of the value, so two commands claiming the same value write the same
aggregate and one of them fails on the event store's version check: uniqueness holds
under concurrency without a read model (as eventsourcing's content-management example)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

RESERVATIONS = uuid5(NAMESPACE_URL, "https://partnerbook.dev/reservations")


def reservation_id(key: str) -> UUID:
    return uuid5(RESERVATIONS, key)


class Reservation(Aggregate):
    @event("Claimed")
    def __init__(self, key: str, owner_id: str) -> None:
        self.key = key
        self.owner_id: str | None = owner_id

    @staticmethod
    def create_id(key: str, owner_id: str) -> UUID:
        return reservation_id(key)

    def is_held_by_other(self, owner_id: UUID) -> bool:
        return self.owner_id is not None and self.owner_id != str(owner_id)

    @event("Reclaimed")
    def reclaim(self, owner_id: str) -> None:
        self.owner_id = owner_id

    @event("Released")
    def release(self) -> None:
        self.owner_id = None
