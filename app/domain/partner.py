"""The Partner aggregate: a company or a person, its coordinates, hierarchy and roles.

Its fields are named in `partner_fields.py`, their values checked in `partner_values.py`
and the rules between them in `partner_rules.py`. Its events stay nested in `Partner`
here: stored events name their class by topic (`app.domain.partner:Partner.Updated`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.archiving import Archivable, WasArchived, WasRestored
from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.erasure import PERSONAL_FIELDS, check_can_anonymize, check_not_anonymized
from app.domain.errors import DomainError, ErrorCode, FieldError, archived
from app.domain.messages import Message
from app.domain.partner_fields import FIELDS, KINDS, TERM_FIELDS
from app.domain.partner_rules import (
    check_commercial_fields,
    check_complete,
    check_parent,
    check_state_in_country,
)
from app.domain.partner_state import FlagField, PartnerState, PartnerValues
from app.domain.partner_values import normalize_terms, normalize_values


class PartnerChanged(ValuesChanged):
    """An event that sets some of a partner's fields."""

    changes: dict[str, Any]
    """The fields set (None: cleared), stored as a dict: read them as `partner_changes`."""

    @property
    def partner_changes(self) -> PartnerValues:
        return cast(PartnerValues, self.changes)


class Partner(Archivable, Aggregate):
    """A business partner. Commands validate and record events carrying only what changed."""

    anonymized = False
    """True once its personal data was erased (see app/domain/erasure.py)."""

    class Registered(AuditedCreated):
        kind: str
        values: dict[str, Any]
        """The fields it was registered with, stored as a dict: read `partner_values`."""

        @property
        def partner_values(self) -> PartnerValues:
            return cast(PartnerValues, self.values)

    class Updated(PartnerChanged):
        """Coordinates, roles, hierarchy or tags changed (updatePartner, an import)."""

    class RoleGained(Updated):
        """Became a customer or a supplier (`changes` sets the flag): a document that
        makes one (app/domain/document_terms.py) was recorded while it was not one."""

        document_id: str

    class CommercialTermsSet(PartnerChanged):
        """Sales and purchase terms changed (on a commercial partner)."""

    class TagsAdded(AuditedEvent):
        tag_ids: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["tag_ids"] = sorted({*aggregate.tag_ids, *self.tag_ids})

    class TagsRemoved(AuditedEvent):
        tag_ids: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["tag_ids"] = sorted(set(aggregate.tag_ids) - set(self.tag_ids))

    class Archived(WasArchived):
        """The partner was archived."""

    class Restored(WasRestored):
        """The partner was restored from the archive."""

    def __init__(self, kind: str, values: dict[str, Any]) -> None:
        self.kind = kind
        self.values: dict[str, Any] = dict.fromkeys((*FIELDS, *TERM_FIELDS)) | dict(values)
        """Every field as the events stored it (snapshots store it so): read `state`."""
        self.archived = False
        self.anonymized = False

    # -- commands ---------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        partner_id: UUID,
        kind: str,
        values: Mapping[str, Any],
        audit: Audit,
        parent: Partner | None = None,
        parent_ancestry: Iterable[UUID] = (),
    ) -> Partner:
        if kind not in KINDS:
            raise DomainError.single(
                ErrorCode.VALIDATION, Message("kind must be one of %(kinds)s", kinds=KINDS), "kind"
            )
        draft = {"type": "CONTACT", "is_customer": False, "is_supplier": False}
        draft.update({k: v for k, v in values.items() if v is not None})
        clean = normalize_values(draft, region=_region(draft, parent))
        check_complete(kind, clean)
        check_commercial_fields(kind, clean, clean)
        if clean.get("parent_id") is not None:
            check_parent(partner_id, parent, parent_ancestry)
        stored = {k: v for k, v in clean.items() if v is not None}
        return cls._create(
            cls.Registered, id=partner_id, kind=kind, values=stored, **audit.as_event_fields()
        )

    def update(
        self,
        changes: Mapping[str, Any],
        audit: Audit,
        *,
        parent: Partner | None = None,
        parent_ancestry: Iterable[UUID] = (),
    ) -> bool:
        """Applies a patch (a field set to None is cleared). Returns False when nothing
        would change, in which case nothing is recorded."""
        self._check_not_archived()
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message("unknown fields: %(value)s", value=sorted(unknown)),
                *sorted(unknown),
            )
        check_not_anonymized(self.anonymized, changes)
        merged = self.values | dict(changes)
        clean = normalize_values(
            dict(changes), region=_region(merged, parent), country=self.country_code
        )
        state_code = self.state.state_code
        if "country_code" in changes and "state_code" not in changes and state_code:
            check_state_in_country(state_code, clean.get("country_code"))
        if not self.anonymized:  # an anonymized partner has no name any more
            check_complete(self.kind, self.values | clean)
        check_commercial_fields(self.kind, self.values | clean, clean)
        if clean.get("parent_id") is not None and clean["parent_id"] != self.state.parent_id:
            check_parent(self.id, parent, parent_ancestry)
        return trigger_if_any(self, self.Updated, audit, changes=self.changed(clean))

    def set_commercial_terms(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        """Patches the sales & purchase terms; only a commercial partner holds them."""
        self._check_not_archived()
        if not self.is_commercial:
            raise DomainError(
                [
                    FieldError(
                        ("id",),
                        ErrorCode.VALIDATION,
                        "commercial terms belong to the commercial partner: set them on the "
                        "company this contact belongs to",
                        refers_to=("Partner", str(self.state.parent_id)),
                    )
                ]
            )
        clean = normalize_terms(changes)
        return trigger_if_any(self, self.CommercialTermsSet, audit, changes=self.changed(clean))

    def gain_role(self, role: FlagField, document_id: UUID, audit: Audit) -> bool:
        """Marks it a customer or a supplier (`role`) for a document recorded for it;
        False when it already is one. Archived partners too: the document was made."""
        if self.values.get(role):
            return False
        self.trigger_event(
            self.RoleGained,
            changes={role: True},
            document_id=str(document_id),
            **audit.as_event_fields(),
        )
        return True

    def add_tags(self, tag_ids: Iterable[UUID], audit: Audit) -> bool:
        self._check_not_archived()
        new = sorted({str(t) for t in tag_ids} - set(self.tag_ids))
        return trigger_if_any(self, self.TagsAdded, audit, tag_ids=new)

    def remove_tags(self, tag_ids: Iterable[UUID], audit: Audit) -> bool:
        self._check_not_archived()
        gone = sorted({str(t) for t in tag_ids} & set(self.tag_ids))
        return trigger_if_any(self, self.TagsRemoved, audit, tag_ids=gone)

    def restore(self, audit: Audit) -> bool:
        if self.archived and self.merged_into is not None:
            raise DomainError.single(
                ErrorCode.VALIDATION, "this partner is merged: unmergePartner restores it", "id"
            )
        return super().restore(audit)

    class Anonymized(AuditedEvent):
        """The person's personal data was erased: its key is deleted after this event."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.anonymized = True
            for field in PERSONAL_FIELDS:
                if field in aggregate.values:
                    aggregate.values[field] = None

    def anonymize(self, audit: Audit) -> bool:
        """Erases a person's personal data (crypto-shredding); False when already done."""
        check_can_anonymize(self.kind)
        if self.anonymized:
            return False
        self.trigger_event(self.Anonymized, **audit.as_event_fields())
        return True

    # -- reads used by other commands -------------------------------------------------

    @property
    def state(self) -> PartnerState:
        """Every field, typed (built from `values` when asked: it is not stored)."""
        return PartnerState.of(self.values)

    def changed(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The given fields whose values differ from this partner's."""
        return changed_fields(self.values, changes)

    # The few fields other commands read often, typed without building the whole state.

    @property
    def parent_id(self) -> UUID | None:
        value = self.values.get("parent_id")
        return UUID(value) if value else None

    @property
    def is_commercial(self) -> bool:
        """A company, or a partner on its own, holds its commercial terms."""
        return self.kind == "COMPANY" or self.values.get("parent_id") is None

    @property
    def tag_ids(self) -> list[str]:
        return list(self.values.get("tag_ids") or [])

    @property
    def country_code(self) -> str | None:
        value = self.values.get("country_code")
        return str(value) if value else None

    def _check_not_archived(self) -> None:
        if self.archived:
            raise archived("the partner is archived: restore it before changing it", "id")

    # -- merging (see app/domain/merge.py and app/application/merging.py) --------------

    merged_into: str | None = None
    """The partner this one was merged into (it is then archived); None otherwise."""
    merge: dict[str, Any] | None = None
    """What the merge of this partner moved (the `Merged` event's record), for unmerge."""
    absorbed: dict[str, dict[str, Any]] | None = None
    """Merge id -> what this destination took from the merge's sources, for unmerge."""

    class Merged(AuditedEvent):
        """This partner (a source) was merged into another: archived, nothing deleted."""

        merge_id: str
        into: str
        moved: dict[str, list[str]]
        """What followed the destination: ids by kind (children, activities, ...)."""
        tags_added: list[str]
        """Tags this partner gave the destination (it did not have them before)."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = True
            aggregate.merged_into = self.into
            aggregate.merge = {
                "merge_id": self.merge_id,
                "into": self.into,
                "moved": self.moved,
                "tags_added": self.tags_added,
            }

    class Absorbed(PartnerChanged):
        """This partner (the destination) absorbed the sources of a merge: `changes`
        holds the chosen fields' new values."""

        merge_id: str
        source_ids: list[str]
        previous: dict[str, Any]
        """The chosen fields' values before the merge, for unmerge."""
        chosen_from: dict[str, str]
        """Chosen field -> the source its value came from."""
        tags_added: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values.update(self.changes)
            if self.tags_added:
                aggregate.values["tag_ids"] = sorted({*aggregate.tag_ids, *self.tags_added})
            aggregate.absorbed = {
                **(aggregate.absorbed or {}),
                self.merge_id: {
                    "source_ids": list(self.source_ids),
                    "changes": dict(self.changes),
                    "previous": dict(self.previous),
                    "chosen_from": dict(self.chosen_from),
                    "tags_added": list(self.tags_added),
                },
            }

    class Unmerged(AuditedEvent):
        """A merged partner restored: active again, `merged_into` cleared."""

        merge_id: str
        was_merged_into: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = False
            aggregate.merged_into = None
            aggregate.merge = None

    class Separated(PartnerChanged):
        """The destination gave back what one unmerged source brought to it: `changes`
        reverts the chosen fields to their values before the merge."""

        merge_id: str
        source_id: str
        tags_removed: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values.update(self.changes)
            if self.tags_removed:
                remaining = set(aggregate.tag_ids) - set(self.tags_removed)
                aggregate.values["tag_ids"] = sorted(remaining)
            record = dict((aggregate.absorbed or {}).get(self.merge_id) or {})
            if record:
                record["source_ids"] = [s for s in record["source_ids"] if s != self.source_id]
                taken = [f for f, s in record["chosen_from"].items() if s == self.source_id]
                record["chosen_from"] = {
                    f: s for f, s in record["chosen_from"].items() if f not in taken
                }
                record["tags_added"] = [
                    t for t in record.get("tags_added", []) if t not in self.tags_removed
                ]
                aggregate.absorbed = {**(aggregate.absorbed or {}), self.merge_id: record}

    class Reparented(AuditedEvent):
        """A child moved to another parent by a merge or an unmerge."""

        parent_id: str | None
        previous_parent_id: str | None
        merge_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["parent_id"] = self.parent_id


def _region(values: Mapping[str, Any], parent: Partner | None) -> str | None:
    """Default region for phone numbers: the partner's country, else its parent's."""
    own = values.get("country_code")
    if own:
        return str(own).strip().upper()
    return parent.country_code if parent is not None else None
