"""The write side: one method per command; each returns ids, version and the position
of its last recorded event (None when the command changed nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.catalog import CatalogEntry
from app.domain.document import Document, reference_key
from app.domain.errors import DomainError, ErrorCode, FieldError, archived, conflict, not_found
from app.domain.opportunity import Opportunity
from app.domain.partner import TERM_REFERENCES, Partner, input_name
from app.domain.reservation import Reservation, reservation_id
from app.domain.tag import Tag, name_key

IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/idempotency")
MAX_HIERARCHY_DEPTH = 64
MAX_RETRIES = 5
AggregateT = TypeVar("AggregateT", bound=Aggregate)


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    version: int
    position: int | None
    """Notification id of the last event recorded; None when nothing was recorded."""


Change = Callable[[Any], Sequence[Aggregate]]
"""Changes a loaded aggregate; returns what to save (empty when nothing changed)."""


class Partnerbook(Application[UUID]):
    """The event-sourced application: aggregates in, events out, one transaction a command."""

    name = "partnerbook"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Partner: 100, Activity: 100}

    # -- partners -----------------------------------------------------------------------

    def create_partner(
        self,
        kind: str,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        partner_id = self._new_id("partner", idempotency_key)
        if idempotency_key and (existing := self._find(partner_id, Partner)) is not None:
            return CommandResult(existing.id, existing.version, None)
        parent_id = values.get("parent_id")
        parent, ancestry = self._parent_and_ancestry(parent_id) if parent_id else (None, [])
        self._check_partner_references(values)
        partner = Partner.register(
            partner_id=partner_id,
            kind=kind,
            values=values,
            audit=audit,
            parent=parent,
            parent_ancestry=ancestry,
        )
        return self._save_new(partner, idempotency_key, Partner)

    def update_partner(
        self,
        partner_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(partner: Partner) -> Sequence[Aggregate]:
            parent_id = changes.get("parent_id", partner.parent_id)
            parent, ancestry = self._parent_and_ancestry(parent_id) if parent_id else (None, [])
            new = {k: v for k, v in changes.items() if partner.values.get(k) != v}
            if new.get("tag_ids"):  # tags it already has may be archived: they stay
                new["tag_ids"] = [t for t in new["tag_ids"] if str(t) not in partner.tag_ids]
            self._check_partner_references(new)
            changed = partner.update(changes, audit, parent=parent, parent_ancestry=ancestry)
            return [partner] if changed else []

        return self._change(Partner, partner_id, expected_version, change)

    def set_commercial_terms(
        self,
        partner_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(partner: Partner) -> Sequence[Aggregate]:
            new = {k: v for k, v in changes.items() if partner.values.get(k) != v}
            self._check_catalog_references(
                {k: (v, TERM_REFERENCES[k]) for k, v in new.items() if k in TERM_REFERENCES}
            )
            return [partner] if partner.set_commercial_terms(changes, audit) else []

        return self._change(Partner, partner_id, expected_version, change)

    def add_partner_tags(
        self,
        partner_id: UUID,
        tag_ids: Iterable[UUID],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        ids = list(tag_ids)

        def change(partner: Partner) -> Sequence[Aggregate]:
            self._check_tags([t for t in ids if str(t) not in partner.tag_ids])
            return [partner] if partner.add_tags(ids, audit) else []

        return self._change(Partner, partner_id, expected_version, change)

    def remove_partner_tags(
        self,
        partner_id: UUID,
        tag_ids: Iterable[UUID],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        ids = list(tag_ids)
        return self._change(
            Partner,
            partner_id,
            expected_version,
            lambda p: [p] if p.remove_tags(ids, audit) else [],
        )

    def archive_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change(
            Partner, partner_id, expected_version, lambda p: [p] if p.archive(audit) else []
        )

    def restore_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change(
            Partner, partner_id, expected_version, lambda p: [p] if p.restore(audit) else []
        )

    # -- catalogs -----------------------------------------------------------------------

    def create_catalog_entry(
        self,
        catalog: str,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        entry_id = self._new_id(f"catalog:{catalog}", idempotency_key)
        if idempotency_key and (existing := self._find(entry_id, CatalogEntry)) is not None:
            return CommandResult(existing.id, existing.version, None)
        entry = CatalogEntry.register(
            entry_id=entry_id, catalog=catalog, values=values, audit=audit
        )
        claims = self._claims(entry_id, _unique_keys_of_entry(entry), ())
        return self._save_new(entry, idempotency_key, CatalogEntry, *claims)

    def update_catalog_entry(
        self,
        entry_id: UUID,
        catalog: str,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(entry: CatalogEntry) -> Sequence[Aggregate]:
            _check_in_catalog(entry, catalog)
            before = _unique_keys_of_entry(entry)
            if not entry.update(changes, audit):
                return []
            return [entry, *self._claims(entry.id, _unique_keys_of_entry(entry), before)]

        return self._change(CatalogEntry, entry_id, expected_version, change)

    def archive_catalog_entry(
        self, entry_id: UUID, catalog: str, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def change(entry: CatalogEntry) -> Sequence[Aggregate]:
            _check_in_catalog(entry, catalog)
            return [entry] if entry.archive(audit) else []

        return self._change(CatalogEntry, entry_id, expected_version, change)

    def restore_catalog_entry(
        self, entry_id: UUID, catalog: str, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def change(entry: CatalogEntry) -> Sequence[Aggregate]:
            _check_in_catalog(entry, catalog)
            return [entry] if entry.restore(audit) else []

        return self._change(CatalogEntry, entry_id, expected_version, change)

    # -- tags ---------------------------------------------------------------------------

    def create_tag(
        self, values: Mapping[str, Any], audit: Audit, idempotency_key: str | None = None
    ) -> CommandResult:
        tag_id = self._new_id("tag", idempotency_key)
        if idempotency_key and (existing := self._find(tag_id, Tag)) is not None:
            return CommandResult(existing.id, existing.version, None)
        parent_id = values.get("parent_id")
        parent = self._find(UUID(str(parent_id)), Tag) if parent_id else None
        tag = Tag.register(tag_id=tag_id, values=values, audit=audit, parent=parent)
        claims = self._claims(tag_id, [name_key(tag.parent_id, tag.name)], ())
        return self._save_new(tag, idempotency_key, Tag, *claims)

    def update_tag(
        self,
        tag_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(tag: Tag) -> Sequence[Aggregate]:
            before = [name_key(tag.parent_id, tag.name)]
            parent: Tag | None = None
            ancestry: list[UUID] = []
            new_parent = changes.get("parent_id")
            if new_parent:
                parent = self._find(UUID(str(new_parent)), Tag)
                ancestry = self._tag_ancestry(parent) if parent else []
            if not tag.update(changes, audit, parent=parent, parent_ancestry=ancestry):
                return []
            return [tag, *self._claims(tag.id, [name_key(tag.parent_id, tag.name)], before)]

        return self._change(Tag, tag_id, expected_version, change)

    def archive_tag(
        self, tag_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change(
            Tag, tag_id, expected_version, lambda t: [t] if t.archive(audit) else []
        )

    def restore_tag(
        self, tag_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change(
            Tag, tag_id, expected_version, lambda t: [t] if t.restore(audit) else []
        )

    # -- activities ---------------------------------------------------------------------

    def schedule_activity(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        activity_id = self._new_id("activity", idempotency_key)
        if idempotency_key and (existing := self._find(activity_id, Activity)) is not None:
            return CommandResult(existing.id, existing.version, None)
        self._active_partner(partner_id)
        self._check_catalog_references({"assignee_id": (values.get("assignee_id"), "SALESPERSON")})
        activity = Activity.schedule(
            activity_id=activity_id, partner_id=partner_id, values=values, audit=audit
        )
        return self._save_new(activity, idempotency_key, Activity)

    def update_activity(
        self,
        activity_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(activity: Activity) -> Sequence[Aggregate]:
            if changes.get("assignee_id") and changes["assignee_id"] != activity.assignee_id:
                self._check_catalog_references(
                    {"assignee_id": (changes["assignee_id"], "SALESPERSON")}
                )
            return [activity] if activity.change(changes, audit) else []

        return self._change(Activity, activity_id, expected_version, change)

    def complete_activity(
        self,
        activity_id: UUID,
        feedback: str | None,
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(activity: Activity) -> Sequence[Aggregate]:
            activity.complete(feedback, audit)
            return [activity]

        return self._change(Activity, activity_id, expected_version, change)

    def cancel_activity(
        self, activity_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def change(activity: Activity) -> Sequence[Aggregate]:
            activity.cancel(audit)
            return [activity]

        return self._change(Activity, activity_id, expected_version, change)

    # -- documents and opportunities ----------------------------------------------------

    def record_document(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Other modules report here; an archived partner's documents are still taken."""
        document_id = self._new_id("document", idempotency_key)
        if idempotency_key and (existing := self._find(document_id, Document)) is not None:
            return CommandResult(existing.id, existing.version, None)
        self._get(partner_id, Partner, "partnerId")
        document = Document.record(
            document_id=document_id, partner_id=partner_id, values=values, audit=audit
        )
        key = reference_key(document.module, document.kind, document.reference)
        claims = self._claims(document_id, [key], ())
        return self._save_new(document, idempotency_key, Document, *claims)

    def update_document(
        self,
        document_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._change(
            Document,
            document_id,
            expected_version,
            lambda d: [d] if d.update(changes, audit) else [],
        )

    def create_opportunity(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        opportunity_id = self._new_id("opportunity", idempotency_key)
        if idempotency_key and (existing := self._find(opportunity_id, Opportunity)) is not None:
            return CommandResult(existing.id, existing.version, None)
        self._active_partner(partner_id)
        self._check_catalog_references(
            {"salesperson_id": (values.get("salesperson_id"), "SALESPERSON")}
        )
        opportunity = Opportunity.create(
            opportunity_id=opportunity_id, partner_id=partner_id, values=values, audit=audit
        )
        return self._save_new(opportunity, idempotency_key, Opportunity)

    def update_opportunity(
        self,
        opportunity_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(opportunity: Opportunity) -> Sequence[Aggregate]:
            salesperson = changes.get("salesperson_id")
            if salesperson and salesperson != opportunity.values.get("salesperson_id"):
                self._check_catalog_references({"salesperson_id": (salesperson, "SALESPERSON")})
            return [opportunity] if opportunity.update(changes, audit) else []

        return self._change(Opportunity, opportunity_id, expected_version, change)

    def mark_opportunity_won(
        self, opportunity_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def change(opportunity: Opportunity) -> Sequence[Aggregate]:
            opportunity.mark_won(audit)
            return [opportunity]

        return self._change(Opportunity, opportunity_id, expected_version, change)

    def mark_opportunity_lost(
        self,
        opportunity_id: UUID,
        lost_reason: str | None,
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(opportunity: Opportunity) -> Sequence[Aggregate]:
            opportunity.mark_lost(lost_reason, audit)
            return [opportunity]

        return self._change(Opportunity, opportunity_id, expected_version, change)

    # -- shared mechanics ---------------------------------------------------------------

    def _active_partner(self, partner_id: UUID) -> Partner:
        partner = self._get(partner_id, Partner, "partnerId")
        if partner.archived:
            raise archived("the partner is archived", "partnerId")
        return partner

    def _new_id(self, kind: str, idempotency_key: str | None) -> UUID:
        """A fresh id, or the same id for the same idempotency key (so a repeat is a no-op)."""
        return (
            uuid5(IDEMPOTENCY_NAMESPACE, f"{kind}:{idempotency_key}")
            if idempotency_key
            else uuid4()
        )

    def _save_new(
        self,
        aggregate: Aggregate,
        idempotency_key: str | None,
        cls: type[Aggregate],
        *others: Aggregate,
    ) -> CommandResult:
        try:
            recordings = self.save(aggregate, *others)
        except IntegrityError:
            if idempotency_key and (winner := self._find(aggregate.id, cls)) is not None:
                return CommandResult(winner.id, winner.version, None)  # the same request raced us
            if others:
                raise _duplicate_from_race() from None
            raise
        return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)

    def _change(
        self,
        cls: type[AggregateT],
        aggregate_id: UUID,
        expected_version: int | None,
        change: Callable[[AggregateT], Sequence[Aggregate]],
    ) -> CommandResult:
        """Loads, changes and saves; a concurrent writer makes it retry, unless the
        client named the version it expected, which then is a CONFLICT."""
        for _ in range(MAX_RETRIES):
            aggregate = self._get(aggregate_id, cls)
            if expected_version is not None and aggregate.version != expected_version:
                raise conflict(
                    f"the record is at version {aggregate.version}, not {expected_version}",
                    "expectedVersion",
                )
            to_save = change(aggregate)
            if not to_save:
                return CommandResult(aggregate.id, aggregate.version, None)
            try:
                recordings = self.save(*to_save)
            except IntegrityError:
                if expected_version is not None:
                    raise conflict(
                        "the record was changed by someone else at the same time",
                        "expectedVersion",
                    ) from None
                continue
            return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)
        raise conflict("the record is being changed by others; try again", "id")

    def _find(self, aggregate_id: UUID, cls: type[AggregateT]) -> AggregateT | None:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def _get(self, aggregate_id: UUID, cls: type[AggregateT], field: str = "id") -> AggregateT:
        aggregate = self._find(aggregate_id, cls)
        if aggregate is None:
            raise not_found(f"no {cls.__name__.lower()} with this id", field)
        return aggregate

    def _get_partner(self, partner_id: UUID) -> Partner:
        return self._get(partner_id, Partner)

    def _claims(
        self, owner_id: UUID, keys: Iterable[str], previous: Iterable[str]
    ) -> list[Aggregate]:
        """Reservations to save with the owner: new keys claimed, old keys released."""
        keys, previous = list(keys), list(previous)
        result: list[Aggregate] = []
        for key in keys:
            if key in previous:
                continue
            held = self._find(reservation_id(key), Reservation)
            if held is None:
                result.append(Reservation(key, str(owner_id)))
            elif held.is_held_by_other(owner_id):
                raise DomainError.single(
                    ErrorCode.DUPLICATE, _duplicate_message(key), _duplicate_field(key)
                )
            else:
                held.reclaim(str(owner_id))
                result.append(held)
        for key in previous:
            if key not in keys and (held := self._find(reservation_id(key), Reservation)):
                held.release()
                result.append(held)
        return result

    def _parent_and_ancestry(self, parent_id: Any) -> tuple[Partner, list[UUID]]:
        """The would-be parent and the ids above it, to refuse cycles."""
        try:
            parent = self._find(UUID(str(parent_id)), Partner)
        except ValueError:
            parent = None
        if parent is None:
            raise not_found("the parent partner does not exist", "parentId")
        ancestry: list[UUID] = []
        current = parent
        while current.parent_id is not None and len(ancestry) < MAX_HIERARCHY_DEPTH:
            ancestry.append(current.parent_id)
            above = self._find(current.parent_id, Partner)
            if above is None:
                break
            current = above
        return parent, ancestry

    def _tag_ancestry(self, tag: Tag) -> list[UUID]:
        ancestry: list[UUID] = []
        current: Tag | None = tag
        while current is not None and current.parent_id and len(ancestry) < MAX_HIERARCHY_DEPTH:
            ancestry.append(UUID(current.parent_id))
            current = self._find(UUID(current.parent_id), Tag)
        return ancestry

    def _check_partner_references(self, values: Mapping[str, Any]) -> None:
        refs = {
            f: (values[f], catalog)
            for f, catalog in (("industry_id", "INDUSTRY"), ("salesperson_id", "SALESPERSON"))
            if values.get(f)
        }
        self._check_catalog_references(refs)
        if values.get("tag_ids"):
            self._check_tags(values["tag_ids"])

    def _check_catalog_references(self, refs: Mapping[str, tuple[Any, str]]) -> None:
        """Newly assigned entries must exist in the right catalog and not be archived."""
        errors: list[FieldError] = []
        for field, (value, catalog) in refs.items():
            if value is None:
                continue
            entry = _try_uuid(value) and self._find(UUID(str(value)), CatalogEntry)
            if not entry or entry.catalog != catalog:
                errors.append(
                    FieldError(
                        (input_name(field),),
                        ErrorCode.NOT_FOUND,
                        f"no {catalog.lower().replace('_', ' ')} with this id",
                    )
                )
            elif entry.archived:
                errors.append(
                    FieldError(
                        (input_name(field),),
                        ErrorCode.ARCHIVED,
                        f"{entry.name!r} is archived and cannot be newly assigned",
                    )
                )
        if errors:
            raise DomainError(errors)

    def _check_tags(self, tag_ids: Iterable[Any]) -> None:
        for tag_id in tag_ids:
            tag = _try_uuid(tag_id) and self._find(UUID(str(tag_id)), Tag)
            if not tag:
                raise not_found(f"no tag with id {tag_id}", "tagIds")
            if tag.archived:
                raise archived(f"tag {tag.name!r} is archived", "tagIds")


def _try_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def _check_in_catalog(entry: CatalogEntry, catalog: str) -> None:
    if entry.catalog != catalog:
        raise not_found("no such entry in this catalog", "id")


def _unique_keys_of_entry(entry: CatalogEntry) -> list[str]:
    if entry.catalog == "ACCOUNT" and entry.values.get("code"):
        return [f"account-code:{str(entry.values['code']).casefold()}"]
    return []


def _duplicate_field(key: str) -> str:
    if key.startswith("account-code:"):
        return "code"
    return "reference" if key.startswith("document:") else "name"


def _duplicate_message(key: str) -> str:
    if key.startswith("account-code:"):
        return "another account already has this code"
    if key.startswith("document:"):
        return "this module already recorded a document of this kind with this reference"
    return "another tag with this name has the same parent"


def _duplicate_from_race() -> DomainError:
    return DomainError.single(ErrorCode.DUPLICATE, "this value was just taken by another record")


__all__ = ["Audit", "CommandResult", "DomainError", "Partnerbook"]
