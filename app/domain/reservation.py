"""Reservation: makes a value unique (an account code, a tag name among its siblings).

Its id is a uuid5 of the value, so two commands claiming the same value write the same
aggregate and one of them fails on the event store's version check: uniqueness holds
under concurrency without a read model (as eventsourcing's content-management example)."""

from __future__ import annotations

import hashlib
import hmac
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

RESERVATIONS = uuid5(NAMESPACE_URL, "https://partnerbook.dev/reservations")
DOCUMENT = "document:"
KEYED_DOCUMENT = "document:hmac-sha256:"
MERGE = "merge:"
KEYED_MERGE = "merge:hmac-sha256:"
_KEYED = {DOCUMENT: KEYED_DOCUMENT, MERGE: KEYED_MERGE}


def reservation_id(key: str) -> UUID:
    return uuid5(RESERVATIONS, key)


def stored_key(key: str, secret: bytes) -> str:
    """The key a reservation is stored under. A document's reference, and a merge's
    idempotency key (a client may make it of the person's values: an email), are keyed
    with the installation's secret (as idempotency digests are): the reservation holds
    only a hash of them, never erased as it needs no erasing, and a copy of the log must
    not let anyone test a guessed value. (Reservations stored before are under the plain
    key: their readers look for both.) Other keys (account codes, tag names) are not
    personal: stored as they are."""
    for prefix, keyed in _KEYED.items():
        if key.startswith(prefix) and not key.startswith(keyed):
            return keyed + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
    return key


class Reservation(Aggregate):
    @event("Claimed")
    def __init__(self, key: str, owner_id: str) -> None:
        self.key: str | None = key
        """None once erased: a person's document reference is sealed with its key."""
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

    @property
    def erased(self) -> bool:
        """Its key was erased with the person whose document held it: it holds nothing
        (a refusal would tell that the guessed reference was the erased person's)."""
        return self.key is None

    @event("Retaken")
    def retake(self, key: str, owner_id: str) -> None:
        """Claimed again after its key was erased."""
        self.key = key
        self.owner_id = owner_id
