"""HierarchyGuard: makes the no-cycle rule of a hierarchy (companies under companies, tags
under tags) hold under concurrency.

A move is checked against the ancestry of the new parent as it was read, and saves only
the record that moves: two moves read at once (A under B, B under A) each found no
cycle and both were saved. Every move that may close a cycle (a record that can have
records under it given a parent) is saved with an event on its hierarchy's one guard,
loaded before the ancestry is read: of two such moves, the second to save conflicts on
the guard's version and is checked again against the ancestry the first one left. Its id
is a uuid5 of the hierarchy's name (as `Tally`)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

HIERARCHIES = uuid5(NAMESPACE_URL, "https://partnerbook.dev/hierarchies")
PARTNERS = "partners"
TAGS = "tags"


def hierarchy_id(name: str) -> UUID:
    return uuid5(HIERARCHIES, name)


class HierarchyGuard(Aggregate):
    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.moves = 0

    @staticmethod
    def create_id(name: str) -> UUID:
        return hierarchy_id(name)

    @event("Moved")
    def record_move(self) -> None:
        """A record of this hierarchy got another parent (saved with that record)."""
        self.moves += 1
