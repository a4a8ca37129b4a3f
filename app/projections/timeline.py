"""The `timeline` read model: one row per event about a partner or about its activities,
documents and opportunities, with who did it, a one-line summary and what changed (as
app/projections/timeline_entries.py describes each event)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal
from psycopg.types.json import Jsonb

from app.domain import partner as domain
from app.domain import partner_fields
from app.domain.erasure import PERSONAL_FIELDS, RELATED_TEXT_FIELDS
from app.projections import (
    affiliation_entries,  # noqa: F401  (registers its describers)
    note_entries,
)
from app.projections.tables import add_rows
from app.projections.timeline_entries import describe

assert note_entries

ERASED_IN_TIMELINE = PERSONAL_FIELDS | {
    field
    for name in ("Activity", "Document", "Opportunity", "Affiliation", "BankAccount", "Note")
    for field in RELATED_TEXT_FIELDS[name]
    if field != "reason"
}
"""Keys of an entry's changes erased with a person: its own personal fields and the free
text of its records."""
SUBJECT_TABLES = {
    "Activity": "activities",
    "Document": "documents",
    "Opportunity": "opportunities",
    "Affiliation": "affiliations",
    "BankAccount": "bank_accounts",
    "Note": "notes",
}


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
            # The entries of activities that name a company (partner_scope.entry_in_view).
            SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {t} (subject_id) WHERE subject_type = 'Activity'"
            ).format(Identifier(f"{self.names[0]}_activity"), t=self.table),
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

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None:
        """Every entry about an erased person or its records: reasons, erased values
        and the summaries that quoted them."""
        erased = sorted(ERASED_IN_TIMELINE)
        curs.execute(self._scrub, (erased, erased, partner_id, partner_id), prepare=True)

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        entry = describe(event)
        if entry is None:
            return
        e: Any = event
        reason = e.reason
        if isinstance(event, domain.Partner.Anonymized):
            self.erase(curs, e.originator_id)
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
