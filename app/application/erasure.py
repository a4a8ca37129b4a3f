"""Crypto-shredding on the write side: the application's mapper encrypts the personal
fields of partners' events and snapshots with per-partner keys (app/shredding), and
`anonymize_partner` erases a person by recording `Anonymized` and deleting the key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, Recording, StoredEvent
from eventsourcing.postgres import PostgresFactory

from app.application.base import CommandBase, CommandResult
from app.domain.audited import Audit
from app.domain.erasure import PERSONAL_FIELDS
from app.domain.partner import Partner
from app.shredding.keys import KeyStore
from app.shredding.mapper import ShreddingMapper


class ErasureCommands(CommandBase):
    """Per-partner data keys for the event store, and the erasure of a person."""

    encrypt_personal_data = True
    """False only to measure what encryption costs (bench/erasure.py)."""

    keys: KeyStore | None = None

    def construct_mapper(self) -> Mapper[UUID]:
        if not self.encrypt_personal_data:
            return super().construct_mapper()
        factory = self.factory
        if not isinstance(factory, PostgresFactory):
            raise TypeError("per-partner keys need the PostgreSQL event store")
        self.keys = KeyStore(factory.datastore)
        if factory.env_create_table():
            self.keys.create_table()
        return ShreddingMapper(
            self.construct_transcoder(), self.keys, Partner, sorted(PERSONAL_FIELDS)
        )

    def _save(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        """Each command creates the keys it needs in its own thread, before it joins a
        group commit: the one writer of the group then finds them cached."""
        self._ensure_keys(e for a in aggregates for e in a.pending_events)
        return super()._save(*aggregates)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Creates the keys still missing (e.g. `save` of a batch of new partners) in one
        statement, committed before the events that use them."""
        self._ensure_keys(processing_event.events)
        return super()._record(processing_event)

    def _ensure_keys(self, events: Iterable[Any]) -> None:
        mapper = self.mapper
        if isinstance(mapper, ShreddingMapper) and self.keys is not None:
            self.keys.ensure(e.originator_id for e in events if mapper.has_personal(e))

    def prefetch_keys(self, stored_events: Iterable[StoredEvent]) -> None:
        """Loads the keys a batch of stored events needs in one query (catch-up, rebuild)."""
        if isinstance(self.mapper, ShreddingMapper):
            self.mapper.prefetch(stored_events)

    def anonymize_partner(self, partner_id: UUID, audit: Audit) -> CommandResult:
        """Records `Anonymized` on a person, then deletes its data key. Asked again for an
        anonymized person, it changes nothing but deletes the key again (so a crash
        between the two steps is mended by repeating the request)."""

        def change(partner: Any) -> list[Partner]:
            assert isinstance(partner, Partner)
            return [partner] if partner.anonymize(audit) else []

        result = self._change(Partner, partner_id, None, change)
        if self.keys is not None:
            self.keys.erase(partner_id)
        return result
