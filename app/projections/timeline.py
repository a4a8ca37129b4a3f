"""The `timeline` read model: one row per event about a partner or about its activities,
documents and opportunities, with who did it, a one-line summary and what changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal
from psycopg.types.json import Jsonb

from app.domain import partner as domain
from app.domain import partner_fields
from app.domain.activity import Activity
from app.domain.document import Document
from app.domain.erasure import PERSONAL_FIELDS, RELATED_TEXT_FIELDS
from app.domain.opportunity import Opportunity
from app.projections.tables import add_rows


@dataclass(frozen=True)
class Entry:
    kind: str
    subject_type: str
    summary: str
    changes: dict[str, Any]
    partner_id: str | None
    """None: the subject's partner is looked up in the subject's table."""


def _money(amount: Any, currency: Any) -> str:
    return f"{amount} {currency}" if amount is not None and currency else ""


def describe(event: Any) -> Entry | None:
    """The timeline entry of an event, or None for events that concern no partner."""
    own = str(event.originator_id)
    match event:
        case domain.Partner.Registered():
            given = event.partner_values
            label = given.get("name") or partner_fields.TYPE_LABELS[given.get("type", "CONTACT")]
            return Entry("PARTNER_CREATED", "Partner", f"{label} created", dict(event.values), own)
        case domain.Partner.Updated():
            fields = ", ".join(partner_fields.input_name(f) for f in sorted(event.changes))
            return Entry(
                "PARTNER_UPDATED", "Partner", f"Changed {fields}", dict(event.changes), own
            )
        case domain.Partner.CommercialTermsSet():
            fields = ", ".join(partner_fields.input_name(f) for f in sorted(event.changes))
            return Entry(
                "COMMERCIAL_TERMS_SET",
                "Partner",
                f"Terms changed: {fields}",
                dict(event.changes),
                own,
            )
        case domain.Partner.TagsAdded():
            return Entry(
                "TAGS_ADDED",
                "Partner",
                f"{len(event.tag_ids)} tag(s) added",
                {"tag_ids": event.tag_ids},
                own,
            )
        case domain.Partner.TagsRemoved():
            return Entry(
                "TAGS_REMOVED",
                "Partner",
                f"{len(event.tag_ids)} tag(s) removed",
                {"tag_ids": event.tag_ids},
                own,
            )
        case domain.Partner.Archived():
            return Entry("PARTNER_ARCHIVED", "Partner", "Archived", {}, own)
        case domain.Partner.Restored():
            return Entry("PARTNER_RESTORED", "Partner", "Restored", {}, own)
        case domain.Partner.Anonymized():
            return Entry("PARTNER_ANONYMIZED", "Partner", "Personal data erased", {}, own)
        case Activity.Scheduled():
            label = event.summary or event.activity_type.replace("_", " ").lower()
            return Entry(
                "ACTIVITY_SCHEDULED",
                "Activity",
                f"{label} planned for {event.due_date}",
                {
                    "activity_type": event.activity_type,
                    "due_date": event.due_date,
                    "summary": event.summary,
                    "assignee_id": event.assignee_id,
                },
                event.partner_id,
            )
        case Activity.Edited():
            return Entry(
                "ACTIVITY_EDITED", "Activity", "Activity edited", dict(event.changes), None
            )
        case Activity.Rescheduled():
            return Entry(
                "ACTIVITY_RESCHEDULED",
                "Activity",
                f"Activity moved to {event.due_date}",
                {"due_date": event.due_date},
                None,
            )
        case Activity.Reassigned():
            return Entry(
                "ACTIVITY_REASSIGNED",
                "Activity",
                "Activity reassigned",
                {"assignee_id": event.assignee_id},
                None,
            )
        case Activity.Completed():
            return Entry(
                "ACTIVITY_DONE", "Activity", "Activity done", {"feedback": event.feedback}, None
            )
        case Activity.Cancelled():
            return Entry("ACTIVITY_CANCELLED", "Activity", "Activity cancelled", {}, None)
        case Document.Recorded():
            kind = event.kind.replace("_", " ").capitalize()
            money = _money(event.amount, event.currency)
            label = kind if event.reference is None else f"{kind} {event.reference}"  # erased
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
                },
                event.partner_id,
            )
        case Document.StatusChanged():
            return Entry(
                "DOCUMENT_STATUS_CHANGED",
                "Document",
                f"Status now {event.status}",
                {"status": event.status},
                None,
            )
        case Document.AmountsChanged():
            return Entry(
                "DOCUMENT_AMOUNTS_CHANGED", "Document", "Amounts changed", dict(event.changes), None
            )
        case Opportunity.Created():
            name = event.values.get("name")  # None: erased
            return Entry(
                "OPPORTUNITY_CREATED",
                "Opportunity",
                "Opportunity" if name is None else f"Opportunity {name}",
                dict(event.values),
                event.partner_id,
            )
        case Opportunity.Updated():
            return Entry(
                "OPPORTUNITY_UPDATED",
                "Opportunity",
                "Opportunity changed",
                dict(event.changes),
                None,
            )
        case Opportunity.Won():
            return Entry("OPPORTUNITY_WON", "Opportunity", "Opportunity won", {}, None)
        case Opportunity.Lost():
            return Entry(
                "OPPORTUNITY_LOST",
                "Opportunity",
                "Opportunity lost",
                {"lost_reason": event.lost_reason},
                None,
            )
        case _:
            return _describe_merging(event, own)
    return None


def _describe_merging(event: Any, own: str) -> Entry | None:
    """Entries of merging and unmerging: on each partner, and on each moved record
    (under the partner it moved to)."""
    match event:
        case domain.Partner.Merged():
            count = sum(len(ids) for ids in event.moved.values())
            return Entry(
                "PARTNER_MERGED",
                "Partner",
                f"Merged into another partner; {count} record(s) moved",
                {"merged_into": event.into, "moved": event.moved, "tag_ids": event.tags_added},
                own,
            )
        case domain.Partner.Absorbed():
            fields = ", ".join(partner_fields.input_name(f) for f in sorted(event.changes))
            return Entry(
                "PARTNER_ABSORBED",
                "Partner",
                f"Absorbed {len(event.source_ids)} partner(s)"
                + (f"; took {fields}" if fields else ""),
                {
                    "source_ids": event.source_ids,
                    "changes": event.changes,
                    "tag_ids": event.tags_added,
                },
                own,
            )
        case domain.Partner.Unmerged():
            return Entry(
                "PARTNER_UNMERGED",
                "Partner",
                "Merge undone: restored",
                {"was_merged_into": event.was_merged_into},
                own,
            )
        case domain.Partner.Separated():
            return Entry(
                "PARTNER_SEPARATED",
                "Partner",
                "A merged partner was restored from this one",
                {
                    "source_id": event.source_id,
                    "changes": event.changes,
                    "tag_ids": event.tags_removed,
                },
                own,
            )
        case domain.Partner.Reparented():
            return Entry(
                "PARTNER_REPARENTED",
                "Partner",
                "Moved to another parent",
                {"parent_id": event.parent_id, "previous_parent_id": event.previous_parent_id},
                own,
            )
        case Activity.Moved() | Document.Moved() | Opportunity.Moved():
            subject = type(event).__qualname__.split(".")[0]
            return Entry(
                f"{subject.upper()}_MOVED",
                subject,
                f"{subject} moved here from another partner",
                {"partner_id": event.partner_id, "previous_partner_id": event.previous_partner_id},
                event.partner_id,
            )
    return None


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
ERASED_IN_TIMELINE = PERSONAL_FIELDS | {
    field
    for name in ("Activity", "Document", "Opportunity")
    for field in RELATED_TEXT_FIELDS[name]
    if field != "reason"
}
"""Keys of an entry's changes erased with a person: its own personal fields and the free
text of its records."""
SUBJECT_TABLES = {"Activity": "activities", "Document": "documents", "Opportunity": "opportunities"}


class TimelineTable:
    """Must come after the subjects' tables in the projection: it reads their partner."""

    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}timeline",)
        self.table = Identifier(schema, self.names[0])
        columns = SQL(
            "position, occurred_at, kind, actor, request_id, reason, summary, subject_type, "
            "subject_id, changes, partner_id"
        )
        self._insert = SQL(
            "INSERT INTO {t} ({c}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(t=self.table, c=columns)
        self._copy = SQL("COPY {t} ({c}) FROM STDIN").format(t=self.table, c=columns)
        self._insert_via = {
            subject: SQL(
                "INSERT INTO {t} ({c}) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, s.partner_id "
                "FROM {s} s WHERE s.id = %s"
            ).format(t=self.table, c=columns, s=Identifier(schema, f"{prefix}{table}"))
            for subject, table in SUBJECT_TABLES.items()
        }
        # Erasure: the entries about the person (its own, and those of its activities,
        # documents and opportunities) keep which fields changed, not the values, nor the
        # reasons; summaries that quoted a value read as `describe` writes them for an
        # erased one (a rebuild reads the erased values as null: the same rows).
        labels = SQL(" ").join(
            SQL("WHEN {} THEN {}").format(Literal(k), Literal(f"{v} created"))
            for k, v in partner_fields.TYPE_LABELS.items()
        )
        kind_label = (
            "upper(left(replace(changes->>'kind', '_', ' '), 1)) || "
            "lower(substr(replace(changes->>'kind', '_', ' '), 2))"
        )
        money = (
            "CASE WHEN changes->>'amount' IS NOT NULL AND COALESCE(changes->>'currency', '') "
            "<> '' THEN ': ' || (changes->>'amount') || ' ' || (changes->>'currency') ELSE '' END"
        )
        # Two levels: an entry's changes may nest values (e.g. what a merge took).
        self._scrub = SQL(
            "UPDATE {t} SET reason = NULL, "
            "changes = COALESCE((SELECT jsonb_object_agg(k, CASE WHEN k = ANY(%s) "
            "THEN 'null'::jsonb WHEN jsonb_typeof(v) = 'object' THEN COALESCE((SELECT "
            "jsonb_object_agg(k2, CASE WHEN k2 = ANY(%s) THEN 'null'::jsonb ELSE v2 END) "
            "FROM jsonb_each(v) AS e2(k2, v2)), '{{}}'::jsonb) ELSE v END) "
            "FROM jsonb_each(changes) AS e(k, v)), '{{}}'::jsonb), "
            "summary = CASE kind WHEN 'PARTNER_CREATED' THEN "
            "CASE COALESCE(changes->>'type', 'CONTACT') {labels} END "
            "WHEN 'ACTIVITY_SCHEDULED' THEN replace(lower(changes->>'activity_type'), '_', ' ') "
            "|| ' planned for ' || (changes->>'due_date') "
            "WHEN 'DOCUMENT_RECORDED' THEN {kind_label} || {money} "
            "WHEN 'OPPORTUNITY_CREATED' THEN 'Opportunity' ELSE summary END "
            "WHERE partner_id = %s OR (subject_id = %s AND subject_type = 'Partner')"
        ).format(t=self.table, labels=labels, kind_label=SQL(kind_label), money=SQL(money))
        self._scrub = self._scrub.as_string(None)  # type: ignore[assignment]
        # Rendered once (see PartnersTable): psycopg would render them for every event.
        self._insert = self._insert.as_string(None)  # type: ignore[assignment]
        self._copy = self._copy.as_string(None)  # type: ignore[assignment]
        self._insert_via = {k: v.as_string(None) for k, v in self._insert_via.items()}  # type: ignore[misc]

    def create_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (position bigint NOT NULL, "
                "occurred_at timestamptz NOT NULL, kind text NOT NULL, actor text NOT NULL, "
                "request_id text, reason text, summary text NOT NULL, "
                "subject_type text NOT NULL, subject_id uuid NOT NULL, changes jsonb NOT NULL, "
                "partner_id uuid NOT NULL, PRIMARY KEY (position, subject_id))"
            ).format(t=t),
        ]

    def query_index_statements(self) -> list[Composed]:
        return [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, position DESC)").format(
                Identifier(f"{self.names[0]}_partner"), t=self.table
            ),
        ]

    def apply_many(
        self,
        curs: Cursor[DictRow],
        run: Sequence[tuple[DomainEventProtocol[Any], int]],
        *,
        by_copy: bool = False,
    ) -> None:
        """Entries whose partner the events name, together (see tables.add_rows)."""
        rows = []
        for event, position in run:
            entry = describe(event)
            if entry is None:
                continue
            assert entry.partner_id is not None
            e: Any = event
            rows.append(
                (
                    position,
                    e.timestamp,
                    entry.kind,
                    e.actor,
                    e.request_id,
                    e.reason,
                    entry.summary,
                    entry.subject_type,
                    e.originator_id,
                    Jsonb(entry.changes),
                    entry.partner_id,
                )
            )
        add_rows(curs, rows, by_copy=by_copy, copy=self._copy, insert=self._insert)

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        entry = describe(event)
        if entry is None:
            return
        e: Any = event
        reason = e.reason
        if isinstance(event, domain.Partner.Anonymized):
            erased = sorted(ERASED_IN_TIMELINE)
            who = e.originator_id
            curs.execute(self._scrub, (erased, erased, who, who), prepare=True)
            reason = None  # erased with the rest (a rebuild reads it as null)
        values = (
            position,
            e.timestamp,
            entry.kind,
            e.actor,
            e.request_id,
            reason,
            entry.summary,
            entry.subject_type,
            e.originator_id,
            Jsonb(entry.changes),
        )
        if entry.partner_id is not None:
            curs.execute(self._insert, (*values, entry.partner_id), prepare=True)
        else:
            curs.execute(
                self._insert_via[entry.subject_type], (*values, e.originator_id), prepare=True
            )
