"""Folds a run of consecutive partner events into what the `partners` and `partner_tags`
tables must end up holding, so that a batch writes each partner row once and resolves
them together, instead of three or four statements for every event.

The fold is what applying the events one by one would leave: a partner's own values are
the last ones written, its tags the result of its tag events in order, and its version,
`updated_at` and position those of its last event. Resolved values (display name,
inherited address, effective terms) depend only on a partner's own values and its
parent's, so resolving once at the end of the run gives the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from app.domain import partner as domain
from app.domain import resolution

RUN_EVENTS = (
    domain.Partner.Registered,
    domain.Partner.Updated,
    domain.Partner.CommercialTermsSet,
    domain.Partner.TagsAdded,
    domain.Partner.TagsRemoved,
    domain.Partner.Archived,
    domain.Partner.Restored,
)
"""The events a run may hold; any other event ends the run."""

CASCADING = resolution.READ_FROM_PARENT
"""Changes of a partner that its children's resolved values depend on."""


@dataclass
class Last:
    version: int
    timestamp: datetime
    position: int


@dataclass
class NewPartner:
    """A partner registered in the run: inserted once, with everything later folded in."""

    kind: str
    created_at: datetime
    values: dict[str, Any]
    """The registration's own values until a change comes (then a copy)."""
    tags: dict[Any, None]
    """Ordered set of tag ids."""
    archived: bool | None
    last: Last
    copied: bool = False

    @classmethod
    def registered(cls, event: Any, last: Last) -> NewPartner:
        values = event.values
        return cls(
            kind=event.kind,
            created_at=event.timestamp,
            values=values,
            tags=dict.fromkeys(values.get("tag_ids") or ()),
            archived=None,
            last=last,
        )

    def update(self, changes: dict[str, Any]) -> None:
        if not self.copied:  # the event's own dict stays as it was
            self.values, self.copied = dict(self.values), True
        self.values.update(changes)
        if "tag_ids" in changes:
            self.tags = dict.fromkeys(changes["tag_ids"] or ())

    def add_tags(self, tag_ids: list[Any]) -> None:
        self.tags.update(dict.fromkeys(tag_ids))

    def remove_tags(self, tag_ids: list[Any]) -> None:
        for tag in tag_ids:
            self.tags.pop(tag, None)


@dataclass
class ChangedPartner:
    """A partner already in the table: its own changes, written in one statement."""

    changes: dict[str, Any]
    archived: bool | None
    last: Last
    tag_changes: list[tuple[str, list[Any]]] = field(default_factory=list)
    """("set" | "add" | "remove", tag ids), in the order of the events."""

    def update(self, changes: dict[str, Any]) -> None:
        self.changes.update(changes)
        if "tag_ids" in changes:
            self.tag_changes.append(("set", list(changes["tag_ids"] or ())))

    def add_tags(self, tag_ids: list[Any]) -> None:
        self.tag_changes.append(("add", tag_ids))

    def remove_tags(self, tag_ids: list[Any]) -> None:
        self.tag_changes.append(("remove", tag_ids))


@dataclass
class Fold:
    new: dict[UUID, NewPartner] = field(default_factory=dict)
    changed: dict[UUID, ChangedPartner] = field(default_factory=dict)
    cascading: dict[UUID, None] = field(default_factory=dict)
    """Partners whose children must be resolved again (new companies among them: a
    contact can be projected before its company)."""

    def partner(self, pid: UUID, last: Last) -> NewPartner | ChangedPartner:
        """The partner an event changes, new in the run or not, now at `last`."""
        partner: NewPartner | ChangedPartner | None = self.new.get(pid)
        if partner is None:
            partner = self.changed.get(pid)
            if partner is None:
                partner = self.changed[pid] = ChangedPartner({}, None, last)
        partner.last = last
        return partner


def fold(run: Sequence[tuple[Any, int]]) -> Fold:
    out = Fold()
    for event, position in run:
        pid: UUID = event.originator_id
        last = Last(event.originator_version, event.timestamp, position)
        if isinstance(event, domain.Partner.Registered):
            out.new[pid] = NewPartner.registered(event, last)
            if event.kind == "COMPANY":
                out.cascading[pid] = None
            continue
        partner = out.partner(pid, last)
        match event:
            case domain.Partner.Updated() | domain.Partner.CommercialTermsSet():
                if CASCADING & set(event.changes):
                    out.cascading[pid] = None
                partner.update(event.changes)
            case domain.Partner.TagsAdded():
                partner.add_tags(event.tag_ids)
            case domain.Partner.TagsRemoved():
                partner.remove_tags(event.tag_ids)
            case domain.Partner.Archived() | domain.Partner.Restored():
                partner.archived = isinstance(event, domain.Partner.Archived)
    return out
