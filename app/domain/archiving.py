"""Archiving and restoring, the same for every aggregate that has them (a partner, a tag,
a catalog entry): the commands and what their events do, declared once. Each aggregate
keeps its own `Archived` and `Restored` classes (their own topics), subclasses of these."""

from __future__ import annotations

from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedEvent


class WasArchived(AuditedEvent):
    """Archived: hidden from lists, kept with its history."""

    def apply(self, aggregate: Aggregate) -> None:
        assert isinstance(aggregate, Archivable)
        aggregate.archived = True


class WasRestored(AuditedEvent):
    """Restored from the archive."""

    def apply(self, aggregate: Aggregate) -> None:
        assert isinstance(aggregate, Archivable)
        aggregate.archived = False


class _CanArchive(Protocol):
    """What the commands of `Archivable` need of the aggregate."""

    archived: bool

    @property
    def Archived(self) -> type[WasArchived]: ...

    @property
    def Restored(self) -> type[WasRestored]: ...

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...


class Archivable:
    """The commands of an aggregate with an `archived` flag and its own `Archived` and
    `Restored` events: each records its event only when it changes something."""

    archived: bool

    def archive(self: _CanArchive, audit: Audit) -> bool:
        if self.archived:
            return False
        self.trigger_event(self.Archived, **audit.as_event_fields())
        return True

    def restore(self: _CanArchive, audit: Audit) -> bool:
        if not self.archived:
            return False
        self.trigger_event(self.Restored, **audit.as_event_fields())
        return True
