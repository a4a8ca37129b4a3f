"""Merging duplicate partners and undoing a merge, each in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.application.base import (
    IDEMPOTENCY_NAMESPACE,
    MAX_HIERARCHY_DEPTH,
    MAX_RETRIES,
    CommandBase,
    CommandResult,
)
from app.domain import merge as rules
from app.domain.activity import Activity
from app.domain.affiliation import Affiliation
from app.domain.audited import Audit, check_idempotency_key
from app.domain.bank_account import BankAccount
from app.domain.document import Document
from app.domain.errors import DomainError, ErrorCode, conflict, not_found
from app.domain.hierarchy import PARTNERS, HierarchyGuard
from app.domain.messages import Message
from app.domain.moved import carried_text
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner
from app.domain.reservation import MERGE, Reservation, reservation_id, stored_key

KIND_CLASSES: dict[str, type[Aggregate]] = {
    "activities": Activity,
    "documents": Document,
    "opportunities": Opportunity,
    "affiliations": Affiliation,
    "bank_accounts": BankAccount,
}
MovedIds = dict[str, list[str]]
"""Ids of the records of a partner, by kind (see merge.MOVED_KINDS)."""


@dataclass(frozen=True)
class Moved:
    kind: str
    """children, activities, documents, opportunities or tags"""
    id: UUID
    from_id: UUID
    to_id: UUID


@dataclass(frozen=True)
class MergeOutcome:
    result: CommandResult
    moved: list[Moved]
    destination: Partner
    """The destination after the merge (as it would be, for a dry run: not saved)."""
    recorded: bool


@dataclass(frozen=True)
class UnmergeOutcome:
    result: CommandResult
    moved_back: list[Moved]
    left: list[Moved] = field(default_factory=list)
    """Moved by the merge but since moved elsewhere (or a child now above the source,
    which it cannot go back under): left where they are."""
    fields_kept: list[str] = field(default_factory=list)
    """Fields of the destination changed since the merge: not reverted."""


class MergeCommands(CommandBase):
    """`merge_partners` and `unmerge_partner`."""

    def merge_partners(
        self,
        destination_id: UUID,
        source_ids: Sequence[UUID],
        owned: Mapping[UUID, MovedIds],
        audit: Audit,
        *,
        choices: Sequence[tuple[str, UUID]] = (),
        dry_run: bool = False,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> MergeOutcome:
        """`owned` lists, for each source, the records it has (read from the read model
        by the caller); each is checked on its aggregate before it moves."""
        merge_id, markers = self._merge_keys(idempotency_key, dry_run)

        def earlier() -> MergeOutcome | None:
            """The same keyed request's merge, when it has already been recorded."""
            if not markers:
                return None
            return self._earlier_merge(markers, merge_id, destination_id, source_ids)

        for _ in range(MAX_RETRIES):
            if (found := earlier()) is not None:
                return found
            guard = self._hierarchy_guard(PARTNERS)  # before any ancestry is read
            destination = self._destination(destination_id, expected_version)
            sources = self._sources(source_ids)
            try:
                ancestors = {p.id: self._ancestors(p) for p in [destination, *sources]}
                rules.check_merge(destination, sources, ancestors)
            except DomainError:
                if (found := earlier()) is not None:  # the same keyed request just merged them
                    return found
                raise
            records, moved = self._merge_events(
                merge_id, destination, sources, owned, audit, choices
            )
            if dry_run:
                return _merge_outcome(destination, moved, None)
            to_save: list[Aggregate] = [destination, *sources, *(r for r, _ in records)]
            to_save += _moves_companies(guard, [r for r, _ in records])
            if markers:
                to_save.append(Reservation(markers[0], str(destination.id)))
            try:
                recordings = self._save(*to_save)
            except IntegrityError:
                if (found := earlier()) is not None:  # the same request may have raced us
                    return found
                if expected_version is not None:
                    raise conflict(
                        "a partner of this merge was changed by someone else at the same time",
                        "expectedVersion",
                    ) from None
                continue
            return _merge_outcome(destination, moved, recordings[-1].notification.id)
        raise conflict("the partners are being changed by others; try again", "sourceIds")

    def _destination(self, destination_id: UUID, expected_version: int | None) -> Partner:
        destination = self._get(destination_id, Partner, "destinationId")
        if expected_version is not None and destination.version != expected_version:
            raise conflict(
                Message(
                    "the destination is at version %(version)s, not %(expected_version)s",
                    version=destination.version,
                    expected_version=expected_version,
                ),
                "expectedVersion",
            )
        return destination

    def _sources(self, source_ids: Sequence[UUID]) -> list[Partner]:
        if len(source_ids) > rules.MAX_SOURCES:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message("give 1 to %(max_sources)s sources", max_sources=rules.MAX_SOURCES),
                "sourceIds",
            )
        return [self._get(s, Partner, "sourceIds") for s in source_ids]

    def _merge_events(
        self,
        merge_id: UUID,
        destination: Partner,
        sources: Sequence[Partner],
        owned: Mapping[UUID, MovedIds],
        audit: Audit,
        choices: Sequence[tuple[str, UUID]],
    ) -> tuple[list[tuple[Aggregate, Moved]], list[Moved]]:
        """Triggers the merge's events on the partners and on the records that move; the
        records and everything that moved (tags included)."""
        changes, chosen_from = rules.resolve_choices(destination, sources, choices)
        records, moved = self._records_to_move(destination, sources, owned)
        if len(moved) > rules.MAX_MOVED:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message(
                    "this merge would move %(count)s records; at most %(max_moved)s move in one merge",
                    count=len(moved),
                    max_moved=rules.MAX_MOVED,
                ),
                "sourceIds",
            )
        by_source: dict[UUID, MovedIds] = {s.id: {} for s in sources}
        for m in moved:
            by_source[m.from_id].setdefault(m.kind, []).append(str(m.id))
        tags = rules.record_merge(
            merge_id=merge_id,
            destination=destination,
            sources=sources,
            changes=changes,
            chosen_from=chosen_from,
            moved=by_source,
            audit=audit,
        )
        moved += [Moved("tags", UUID(t), s, destination.id) for s, ts in tags.items() for t in ts]
        fields = audit.as_event_fields()
        for record, m in records:
            _move(record, m, str(merge_id), fields)
        return records, moved

    def unmerge_partner(self, source_id: UUID, audit: Audit) -> UnmergeOutcome:
        """Restores a merged partner and moves back what its merge moved, unless it was
        moved elsewhere since; later changes of the moved records stay."""
        for _ in range(MAX_RETRIES):
            guard = self._hierarchy_guard(PARTNERS)  # before any ancestry is read
            source = self._get(source_id, Partner, "sourceId")
            rules.unmerge_checks(source)
            assert source.merge is not None
            merge_id = str(source.merge["merge_id"])
            destination = self._get(UUID(source.merge["into"]), Partner, "sourceId")
            record = (destination.absorbed or {}).get(merge_id) or {}
            still_merged = [
                p
                for s in record.get("source_ids", [])
                if s != str(source.id)
                and (p := self._find(UUID(s), Partner)) is not None
                and p.merged_into == str(destination.id)
            ]
            reverted, tags, kept = rules.plan_separation(destination, source, still_merged)
            fields = audit.as_event_fields()
            records, back, left = self._moves_back(source, destination, merge_id, fields)
            to_save: list[Aggregate] = [source, destination, *records]
            to_save += _moves_companies(guard, records)
            back += [Moved("tags", UUID(t), destination.id, source.id) for t in tags]
            destination.trigger_event(
                Partner.Separated,
                merge_id=merge_id,
                source_id=str(source.id),
                changes=reverted,
                tags_removed=tags,
                **fields,
            )
            source.trigger_event(
                Partner.Unmerged, merge_id=merge_id, was_merged_into=str(destination.id), **fields
            )
            try:
                recordings = self._save(*to_save)
            except IntegrityError:
                continue
            return UnmergeOutcome(
                CommandResult(source.id, source.version, recordings[-1].notification.id),
                back,
                left,
                kept,
            )
        raise conflict("the partners are being changed by others; try again", "sourceId")

    # -- helpers ------------------------------------------------------------------------

    def _moves_back(
        self, source: Partner, destination: Partner, merge_id: str, fields: dict[str, Any]
    ) -> tuple[list[Aggregate], list[Moved], list[Moved]]:
        """An unmerge's records moved back (their events triggered), what moved back and
        what stays: records moved elsewhere since, and a child that is now an ancestor
        of the source (moved back, it would be its own ancestor)."""
        assert source.merge is not None
        above_source = {source.id, *self._ancestors(source)}
        records: list[Aggregate] = []
        back: list[Moved] = []
        left: list[Moved] = []
        for kind, ids in source.merge["moved"].items():
            for raw in ids:
                m = Moved(kind, UUID(raw), destination.id, source.id)
                aggregate = self._owned_record(kind, m.id)
                if (
                    aggregate is None
                    or not _belongs(aggregate, str(destination.id))
                    or m.id in above_source
                ):
                    left.append(m)
                    continue
                _move(aggregate, m, merge_id, fields)
                records.append(aggregate)
                back.append(m)
        return records, back, left

    def _merge_keys(
        self, idempotency_key: str | None, dry_run: bool
    ) -> tuple[UUID, tuple[str, ...]]:
        """The merge's id and, keyed and not a dry run, its marker's keys: the one it is
        stored under (`stored_key`), then the plain one markers were stored under before."""
        check_idempotency_key(idempotency_key)
        if not idempotency_key:
            return uuid4(), ()
        merge_id = uuid5(IDEMPOTENCY_NAMESPACE, f"{MERGE}{idempotency_key}")
        if dry_run:
            return merge_id, ()
        plain = f"{MERGE}{idempotency_key}"
        return merge_id, (stored_key(plain, self.idempotency_secret), plain)

    def _earlier_merge(
        self, keys: Sequence[str], merge_id: UUID, destination_id: UUID, sources: Sequence[UUID]
    ) -> MergeOutcome | None:
        markers = (self._find(reservation_id(key), Reservation) for key in keys)
        marker = next((m for m in markers if m is not None), None)
        if marker is None:
            return None
        if marker.owner_id != str(destination_id):
            raise DomainError.single(
                ErrorCode.VALIDATION,
                "this idempotencyKey was used for a merge into another partner",
                "idempotencyKey",
            )
        destination = self._get(destination_id, Partner, "destinationId")
        moved: list[Moved] = []
        for source_id in sources:
            source = self._find(source_id, Partner)
            if source is None or not source.merge or source.merge["merge_id"] != str(merge_id):
                continue
            for kind, ids in source.merge["moved"].items():
                moved += [Moved(kind, UUID(i), source.id, destination.id) for i in ids]
            moved += [
                Moved("tags", UUID(t), source.id, destination.id)
                for t in source.merge.get("tags_added", [])
            ]
        return _merge_outcome(destination, moved, self._head(), recorded=False)

    def _ancestors(self, partner: Partner) -> set[UUID]:
        found: set[UUID] = set()
        current: Partner | None = partner
        while current is not None and current.parent_id and len(found) < MAX_HIERARCHY_DEPTH:
            found.add(current.parent_id)
            current = self._find(current.parent_id, Partner)
        return found

    def _owned_record(self, kind: str, record_id: UUID) -> Aggregate | None:
        cls = Partner if kind == "children" else KIND_CLASSES.get(kind)
        return self._find(record_id, cls) if cls is not None else None

    def _records_to_move(
        self, destination: Partner, sources: Sequence[Partner], owned: Mapping[UUID, MovedIds]
    ) -> tuple[list[tuple[Aggregate, Moved]], list[Moved]]:
        """The sources' records, checked on their aggregates (the read model may lag)."""
        records: list[tuple[Aggregate, Moved]] = []
        for source in sources:
            for kind, ids in (owned.get(source.id) or {}).items():
                for raw in dict.fromkeys(ids):
                    aggregate = self._owned_record(kind, UUID(str(raw)))
                    if aggregate is None or not _belongs(aggregate, str(source.id)):
                        continue
                    records.append(
                        (aggregate, Moved(kind, aggregate.id, source.id, destination.id))
                    )
        return records, [m for _, m in records]


def _merge_outcome(
    destination: Partner, moved: list[Moved], position: int | None, *, recorded: bool = True
) -> MergeOutcome:
    """`position` None: a dry run. A keyed merge's repeat records nothing either."""
    return MergeOutcome(
        CommandResult(destination.id, destination.version, position),
        moved,
        destination,
        recorded=recorded and position is not None,
    )


def _moves_companies(guard: HierarchyGuard, moved: Sequence[Aggregate]) -> list[Aggregate]:
    """The hierarchy's guard, with a move, when companies get another parent (see
    app/domain/hierarchy.py); nothing otherwise."""
    if not any(isinstance(a, Partner) and a.kind == "COMPANY" for a in moved):
        return []
    guard.record_move()
    return [guard]


def _owner(aggregate: Aggregate) -> str | None:
    if isinstance(aggregate, Partner):
        parent = aggregate.parent_id
        return str(parent) if parent else None
    owner = getattr(aggregate, "partner_id", None)
    return str(owner) if owner is not None else None


def _belongs(aggregate: Aggregate, partner_id: str) -> bool:
    """Whether the record is the partner's (an affiliation: on either side; an activity:
    its partner's or the company's it names)."""
    if isinstance(aggregate, Affiliation | Activity):
        return aggregate.belongs_to(partner_id)
    return _owner(aggregate) == partner_id


def _move(aggregate: Aggregate, m: Moved, merge_id: str, fields: dict[str, Any]) -> None:
    if isinstance(aggregate, Partner):
        ends = {"parent_id": str(m.to_id), "previous_parent_id": str(m.from_id)}
        aggregate.trigger_event(Partner.Reparented, merge_id=merge_id, **ends, **fields)
        return
    cls: Any = type(aggregate)
    ends = {"partner_id": str(m.to_id), "previous_partner_id": str(m.from_id)}
    carried = carried_text(aggregate) or None  # its text, sealed with its new partner's key
    aggregate.trigger_event(cls.Moved, merge_id=merge_id, carried=carried, **ends, **fields)


__all__ = ["MergeCommands", "MergeOutcome", "Moved", "UnmergeOutcome", "not_found"]
