"""What the timeline says about each event: its kind, a one-line summary and what
changed, by one small describer per event class (`DESCRIBERS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain import partner as domain
from app.domain import partner_fields
from app.domain.activity import Activity
from app.domain.document import Document
from app.domain.opportunity import Opportunity


@dataclass(frozen=True)
class Entry:
    kind: str
    subject_type: str
    summary: str
    changes: dict[str, Any]
    partner_id: str | None
    """None: the subject's partner is looked up in the subject's table."""


Describer = Callable[[Any], Entry]
DESCRIBERS: dict[type[Any], Describer] = {}
"""Event class -> its describer; events of other classes concern no partner."""


def describe(event: Any) -> Entry | None:
    """The timeline entry of an event, or None for events that concern no partner. An
    event is described as its class says, else as the nearest of its bases says."""
    for event_class in type(event).__mro__:
        describer = DESCRIBERS.get(event_class)
        if describer is not None:
            return describer(event)
    return None


def describes(*event_classes: type[Any]) -> Callable[[Describer], Describer]:
    def register(describer: Describer) -> Describer:
        for event_class in event_classes:
            DESCRIBERS[event_class] = describer
        return describer

    return register


def _partner(kind: str, summary: str, changes: dict[str, Any], event: Any) -> Entry:
    """An entry about the partner that the event is about."""
    return Entry(kind, "Partner", summary, changes, str(event.originator_id))


def _fields(changes: dict[str, Any]) -> str:
    return ", ".join(partner_fields.input_name(f) for f in sorted(changes))


def _money(amount: Any, currency: Any) -> str:
    return f"{amount} {currency}" if amount is not None and currency else ""


# -- partners ----------------------------------------------------------------------------


@describes(domain.Partner.Registered)
def _registered(event: Any) -> Entry:
    given = event.partner_values
    label = given.get("name") or partner_fields.TYPE_LABELS[given.get("type", "CONTACT")]
    return _partner("PARTNER_CREATED", f"{label} created", dict(event.values), event)


@describes(domain.Partner.Updated)
def _updated(event: Any) -> Entry:
    changes = event.changes
    return _partner("PARTNER_UPDATED", f"Changed {_fields(changes)}", dict(changes), event)


@describes(domain.Partner.RoleGained)
def _role_gained(event: Any) -> Entry:
    role = "customer" if event.changes.get("is_customer") else "supplier"
    changes = {**event.changes, "document_id": event.document_id}
    return _partner("PARTNER_ROLE_GAINED", f"Became a {role}", changes, event)


@describes(domain.Partner.CommercialTermsSet)
def _terms_set(event: Any) -> Entry:
    changes = event.changes
    return _partner(
        "COMMERCIAL_TERMS_SET", f"Terms changed: {_fields(changes)}", dict(changes), event
    )


@describes(domain.Partner.TagsAdded)
def _tags_added(event: Any) -> Entry:
    count = len(event.tag_ids)
    return _partner("TAGS_ADDED", f"{count} tag(s) added", {"tag_ids": event.tag_ids}, event)


@describes(domain.Partner.TagsRemoved)
def _tags_removed(event: Any) -> Entry:
    count = len(event.tag_ids)
    return _partner("TAGS_REMOVED", f"{count} tag(s) removed", {"tag_ids": event.tag_ids}, event)


@describes(domain.Partner.Archived)
def _archived(event: Any) -> Entry:
    return _partner("PARTNER_ARCHIVED", "Archived", {}, event)


@describes(domain.Partner.Restored)
def _restored(event: Any) -> Entry:
    return _partner("PARTNER_RESTORED", "Restored", {}, event)


@describes(domain.Partner.Anonymized)
def _anonymized(event: Any) -> Entry:
    return _partner("PARTNER_ANONYMIZED", "Personal data erased", {}, event)


# -- merging and unmerging (on each partner, and on each moved record) -------------------


@describes(domain.Partner.Merged)
def _merged(event: Any) -> Entry:
    count = sum(len(ids) for ids in event.moved.values())
    return _partner(
        "PARTNER_MERGED",
        f"Merged into another partner; {count} record(s) moved",
        {"merged_into": event.into, "moved": event.moved, "tag_ids": event.tags_added},
        event,
    )


@describes(domain.Partner.Absorbed)
def _absorbed(event: Any) -> Entry:
    fields = _fields(event.changes)
    return _partner(
        "PARTNER_ABSORBED",
        f"Absorbed {len(event.source_ids)} partner(s)" + (f"; took {fields}" if fields else ""),
        {"source_ids": event.source_ids, "changes": event.changes, "tag_ids": event.tags_added},
        event,
    )


@describes(domain.Partner.Unmerged)
def _unmerged(event: Any) -> Entry:
    return _partner(
        "PARTNER_UNMERGED",
        "Merge undone: restored",
        {"was_merged_into": event.was_merged_into},
        event,
    )


@describes(domain.Partner.Separated)
def _separated(event: Any) -> Entry:
    return _partner(
        "PARTNER_SEPARATED",
        "A merged partner was restored from this one",
        {"source_id": event.source_id, "changes": event.changes, "tag_ids": event.tags_removed},
        event,
    )


@describes(domain.Partner.Reparented)
def _reparented(event: Any) -> Entry:
    return _partner(
        "PARTNER_REPARENTED",
        "Moved to another parent",
        {"parent_id": event.parent_id, "previous_parent_id": event.previous_parent_id},
        event,
    )


@describes(Activity.Moved, Document.Moved, Opportunity.Moved)
def _moved(event: Any) -> Entry:
    """A record moved by a merge: filed under the partner it moved to."""
    subject = type(event).__qualname__.split(".")[0]
    return Entry(
        f"{subject.upper()}_MOVED",
        subject,
        f"{subject} moved here from another partner",
        {"partner_id": event.partner_id, "previous_partner_id": event.previous_partner_id},
        event.partner_id,
    )


# -- activities --------------------------------------------------------------------------


@describes(Activity.Scheduled)
def _scheduled(event: Any) -> Entry:
    label = event.summary or event.activity_type.replace("_", " ").lower()
    changes = {
        "activity_type": event.activity_type,
        "due_date": event.due_date,
        "summary": event.summary,
        "assignee_id": event.assignee_id,
    }
    if event.company_id is not None:  # the company it names (entries before: no key)
        changes["company_id"] = event.company_id
    return Entry(
        "ACTIVITY_SCHEDULED",
        "Activity",
        f"{label} planned for {event.due_date}",
        changes,
        event.partner_id,
    )


@describes(Activity.Edited)
def _edited(event: Any) -> Entry:
    return Entry("ACTIVITY_EDITED", "Activity", "Activity edited", dict(event.changes), None)


@describes(Activity.Rescheduled)
def _rescheduled(event: Any) -> Entry:
    summary = f"Activity moved to {event.due_date}"
    return Entry("ACTIVITY_RESCHEDULED", "Activity", summary, {"due_date": event.due_date}, None)


@describes(Activity.Reassigned)
def _reassigned(event: Any) -> Entry:
    changes = {"assignee_id": event.assignee_id}
    return Entry("ACTIVITY_REASSIGNED", "Activity", "Activity reassigned", changes, None)


@describes(Activity.Completed)
def _completed(event: Any) -> Entry:
    changes = {"feedback": event.feedback}
    return Entry("ACTIVITY_DONE", "Activity", "Activity done", changes, None)


@describes(Activity.Cancelled)
def _cancelled(event: Any) -> Entry:
    return Entry("ACTIVITY_CANCELLED", "Activity", "Activity cancelled", {}, None)


# -- documents ---------------------------------------------------------------------------


@describes(Document.Recorded)
def _recorded(event: Any) -> Entry:
    kind = event.kind.replace("_", " ").capitalize()
    money = _money(event.amount, event.currency)
    label = kind if event.reference is None else f"{kind} {event.reference}"  # None: erased
    return Entry(
        "DOCUMENT_RECORDED",
        "Document",
        label + (f": {money}" if money else ""),
        {
            "module": event.module,
            "kind": event.kind,
            "reference": event.reference,
            "amount": event.amount,
            "currency": event.currency,
            "status": event.status,
            **({"direction": event.direction} if event.direction is not None else {}),
            **({"terms": event.terms} if event.terms is not None else {}),
            **({"due_dates": event.due_dates} if event.due_dates is not None else {}),
        },
        event.partner_id,
    )


@describes(Document.StatusChanged)
def _status_changed(event: Any) -> Entry:
    summary = f"Status now {event.status}"
    return Entry("DOCUMENT_STATUS_CHANGED", "Document", summary, {"status": event.status}, None)


@describes(Document.AmountsChanged)
def _amounts_changed(event: Any) -> Entry:
    changes = dict(event.changes)
    return Entry("DOCUMENT_AMOUNTS_CHANGED", "Document", "Amounts changed", changes, None)


# -- opportunities -----------------------------------------------------------------------


@describes(Opportunity.Created)
def _opportunity_created(event: Any) -> Entry:
    name = event.values.get("name")  # None: erased
    return Entry(
        "OPPORTUNITY_CREATED",
        "Opportunity",
        "Opportunity" if name is None else f"Opportunity {name}",
        dict(event.values),
        event.partner_id,
    )


@describes(Opportunity.Updated)
def _opportunity_updated(event: Any) -> Entry:
    changes = dict(event.changes)
    return Entry("OPPORTUNITY_UPDATED", "Opportunity", "Opportunity changed", changes, None)


@describes(Opportunity.Won)
def _won(event: Any) -> Entry:
    return Entry("OPPORTUNITY_WON", "Opportunity", "Opportunity won", {}, None)


@describes(Opportunity.Lost)
def _lost(event: Any) -> Entry:
    changes = {"lost_reason": event.lost_reason}
    return Entry("OPPORTUNITY_LOST", "Opportunity", "Opportunity lost", changes, None)


TIMELINE_KINDS = (
    "PARTNER_CREATED",
    "PARTNER_UPDATED",
    "COMMERCIAL_TERMS_SET",
    "TAGS_ADDED",
    "TAGS_REMOVED",
    "PARTNER_ARCHIVED",
    "PARTNER_RESTORED",
    "ACTIVITY_SCHEDULED",
    "ACTIVITY_EDITED",
    "ACTIVITY_RESCHEDULED",
    "ACTIVITY_REASSIGNED",
    "ACTIVITY_DONE",
    "ACTIVITY_CANCELLED",
    "DOCUMENT_RECORDED",
    "DOCUMENT_STATUS_CHANGED",
    "DOCUMENT_AMOUNTS_CHANGED",
    "OPPORTUNITY_CREATED",
    "OPPORTUNITY_UPDATED",
    "OPPORTUNITY_WON",
    "OPPORTUNITY_LOST",
    "PARTNER_MERGED",
    "PARTNER_ABSORBED",
    "PARTNER_UNMERGED",
    "PARTNER_SEPARATED",
    "PARTNER_REPARENTED",
    "ACTIVITY_MOVED",
    "DOCUMENT_MOVED",
    "OPPORTUNITY_MOVED",
    "PARTNER_ANONYMIZED",
)
