"""Crypto-shredding on the write side: the application's mapper encrypts the personal
fields of partners' events and snapshots with per-partner keys (app/infra/shredding), and the
free text of the records about a partner (activities, opportunities, a person's
documents, idempotency digests) with that partner's key; `anonymize_partner` erases a
person by recording `Anonymized` and deleting the key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, Recording, StoredEvent
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import EnvType

from app.application.base import CommandResult
from app.application.saved_text_erasure import SavedTextErasure, SettingSearch
from app.domain.activity import Activity
from app.domain.affiliation import Affiliation
from app.domain.audited import Audit
from app.domain.bank_account import BankAccount
from app.domain.document import Document
from app.domain.erasure import (
    KEY_OWNER_ATTRIBUTE,
    PARTNER_SEALED_FIELDS,
    RELATED_TEXT_FIELDS,
    check_can_anonymize,
)
from app.domain.idempotency import IdempotencyRecord
from app.domain.note import Note
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner
from app.domain.reservation import Reservation
from app.domain.segment import Segment
from app.domain.webhook import WebhookEndpoint
from app.infra.shredding.keys import KeyStore
from app.infra.shredding.mapper import ShreddingMapper

_RELATED = (
    Activity,
    Opportunity,
    Document,
    IdempotencyRecord,
    Reservation,
    Affiliation,
    BankAccount,
    Note,
    Segment,
    WebhookEndpoint,
)
"""Records whose free text is encrypted with the key of the partner they are about (a
setting's, with a key of its own: app/application/saved_text_erasure.py)."""
_KINDS_REMEMBERED = 100_000


class ErasureCommands(SavedTextErasure):
    """Per-partner data keys for the event store, and the erasure of a person."""

    encrypt_personal_data = True
    """False only to measure what encryption costs (bench/erasure.py)."""

    keys: KeyStore | None = None
    _partner_kinds: dict[UUID, str]

    def __init__(self, env: EnvType | None = None) -> None:
        self._partner_kinds = {}
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        if not self.encrypt_personal_data:
            return super().construct_mapper()
        factory = self.factory
        if not isinstance(factory, PostgresFactory):
            raise TypeError("per-partner keys need the PostgreSQL event store")
        self.keys = KeyStore(factory.datastore)
        if factory.env_create_table():
            self.keys.create_table()
        related = {cls: RELATED_TEXT_FIELDS[cls.__name__] for cls in _RELATED}
        return ShreddingMapper(
            self.construct_transcoder(),
            self.keys,
            Partner,
            sorted(PARTNER_SEALED_FIELDS),
            related,
        )

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Batches (imports, the demo) name their records' key owners here."""
        self._name_key_owners([o for o in objs if isinstance(o, Aggregate)])
        return super().save(*objs, **kwargs)

    def _save(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        """Each command creates the keys it needs in its own thread, before it joins a
        group commit: the one writer of the group then finds them cached."""
        self._name_key_owners(aggregates)
        self._ensure_keys(e for a in aggregates for e in a.pending_events)
        return super()._save(*aggregates)

    def _name_key_owners(self, aggregates: Iterable[Aggregate]) -> None:
        """Marks the pending events of records about a partner with the partner whose
        key encrypts their free text (the mapper reads the mark)."""
        if not isinstance(self.mapper, ShreddingMapper):
            return
        aggregates = list(aggregates)
        batch = {a.id: a for a in aggregates}
        for aggregate in aggregates:
            if not isinstance(aggregate, _RELATED) or not aggregate.pending_events:
                continue
            owner = self._key_owner(aggregate, batch)
            if owner is None:
                continue
            for event in aggregate.pending_events:
                vars(event)[KEY_OWNER_ATTRIBUTE] = str(owner)

    def _key_owner(self, aggregate: Aggregate, batch: dict[UUID, Aggregate]) -> UUID | None:
        """Whose key encrypts a record's free text: an activity's or opportunity's
        partner (a company's key is never erased: for it, this only encrypts at rest);
        a document's partner when it is a person (a company's documents stay readable);
        for an idempotency record or a reservation, that of the record it serves."""
        match aggregate:
            case Activity() | Opportunity() | Affiliation() | BankAccount() | Note():
                return UUID(aggregate.partner_id)
            case Segment() | WebhookEndpoint():
                return aggregate.key_owner
            case Document():
                partner = UUID(aggregate.partner_id)
                return partner if self._partner_kind(partner, batch) == "PERSON" else None
            case IdempotencyRecord():
                served = UUID(aggregate.aggregate_id)
                if aggregate.kind == "Partner":
                    return served
                record = batch.get(served) or self._find(served, Aggregate)
                return self._key_owner(record, batch) if record is not None else None
            case Reservation():
                if not (aggregate.key or "").startswith("document:") or aggregate.owner_id is None:
                    return None
                document = batch.get(UUID(aggregate.owner_id))
                return self._key_owner(document, batch) if document is not None else None
        return None

    def _partner_kind(self, partner_id: UUID, batch: dict[UUID, Aggregate]) -> str | None:
        """A partner's kind (fixed at registration: remembered)."""
        kind = self._partner_kinds.get(partner_id)
        if kind is None:
            partner = batch.get(partner_id) or self._find(partner_id, Partner)
            if not isinstance(partner, Partner):
                return None
            kind = partner.kind
            if len(self._partner_kinds) >= _KINDS_REMEMBERED:
                self._partner_kinds.clear()
            self._partner_kinds[partner_id] = kind
        return kind

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Creates the keys still missing (e.g. `save` of a batch of new partners) in one
        statement, committed before the events that use them."""
        self._ensure_keys(processing_event.events)
        return super()._record(processing_event)

    def _ensure_keys(self, events: Iterable[Any]) -> None:
        mapper = self.mapper
        if isinstance(mapper, ShreddingMapper) and self.keys is not None:
            owners = (mapper.needs_key(e) for e in events)
            self.keys.ensure(o for o in owners if o is not None)

    def prefetch_keys(self, stored_events: Iterable[StoredEvent]) -> None:
        """Loads the keys a batch of stored events needs in one query (catch-up, rebuild)."""
        if isinstance(self.mapper, ShreddingMapper):
            self.mapper.prefetch(stored_events)

    def reseal_for_erasure(
        self, partner_id: UUID, audit: Audit, listed: Sequence[UUID], listed_at: int
    ) -> tuple[CommandResult, SettingSearch]:
        """The first step of erasing a person: reseals the settings (segments, webhook
        endpoints) whose text names the person or a duplicate merged into it: those
        `listed` by the read models at position `listed_at`, and those the log holds
        after it. Returns the result (its position: the last `Resealed`, None when none
        was needed) and the search, with the keys `anonymize_partner` erases once the
        read models show it."""
        partner = self._get(partner_id, Partner)
        check_can_anonymize(partner.kind)  # before anything changes
        later, head = self.settings_after(listed_at)
        search = SettingSearch(
            self.person_texts([*self._merged_into(partner_id), partner_id]), head
        )
        search.keys, position = self.reseal_settings(search.person, [*listed, *later], audit)
        return CommandResult(partner_id, partner.version, position), search

    def finish_erasure(self, partner_id: UUID, shred: Sequence[UUID]) -> None:
        """The last step, when settings saved while the erasure ran were resealed (and
        the read models show it): erases the keys of their earlier text, then tells
        every process again that the person was erased, so that each drops what it
        read of those settings."""
        self._shred(shred)
        if self.keys is not None:
            self.keys.erase(partner_id)

    def anonymize_partner(
        self, partner_id: UUID, audit: Audit, shred: Sequence[UUID] = ()
    ) -> CommandResult:
        """Records `Anonymized` on a person, then deletes its data key; first the same for
        every duplicate merged into it (archived with all its values: the same person),
        and before that erases the keys `reseal_for_erasure` named (`shred`). Asked
        again for an anonymized person, it changes nothing but deletes the keys again (so
        a crash between the steps is mended by repeating the request)."""
        self._shred(shred)
        for source in self._merged_into(partner_id):
            self._anonymize_one(source, audit)
        return self._anonymize_one(partner_id, audit)

    def _anonymize_one(self, partner_id: UUID, audit: Audit) -> CommandResult:
        result = self._update(Partner, partner_id, None, lambda p: p.anonymize(audit))
        if self.keys is not None:
            self.keys.erase(partner_id)
        return result

    def _merged_into(self, partner_id: UUID) -> list[UUID]:
        """The partners merged into this one and still merged, at any depth (a source
        may have absorbed others before), sources before their destinations."""
        found: list[UUID] = []
        seen = {partner_id}

        def visit(destination: UUID) -> None:
            partner = self._find(destination, Partner)
            if partner is None:
                return
            for merge in (partner.absorbed or {}).values():
                for ident in merge.get("source_ids", ()):
                    source_id = UUID(ident)
                    if source_id in seen:
                        continue
                    seen.add(source_id)
                    source = self._find(source_id, Partner)
                    if source is not None and source.merged_into == str(destination):
                        visit(source_id)
                        found.append(source_id)

        visit(partner_id)
        return found
