"""The registry projection's view: every read-model table (partners, tags, catalogs,
activities, documents, opportunities, timeline), kept together
with one tracking record, so one transaction moves them all past a batch of events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import Composed

from app.domain.idempotency import IdempotencyRecord
from app.projections.activities import ActivitiesTable
from app.projections.affiliations import AffiliationsTable
from app.projections.catalogs import CatalogTable
from app.projections.document_totals import DocumentTotals
from app.projections.documents import DocumentsTable
from app.projections.erasing import ErasingLate
from app.projections.notes import NotesTable
from app.projections.partner_counts import PartnerCube
from app.projections.partner_runs import RUN_EVENTS
from app.projections.partner_standing import PartnerStanding, StandingChanges
from app.projections.partners import PartnersTable
from app.projections.segments import SegmentsTable
from app.projections.tables import COPY_FROM, ReadModelView, Table
from app.projections.tags import TagsTable
from app.projections.timeline import TimelineTable
from app.projections.webhook_endpoints import WebhookEndpointsTable

REGISTRY_TRACKING = "registry_tracking"
"""The live read models' tracking table: the position they show the log up to."""


class RegistryView(ReadModelView):
    """`prefix` names a second set of tables (e.g. for a rebuild next to the live ones)."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = REGISTRY_TRACKING,
        prefix: str = "",
    ) -> None:
        super().__init__(datastore, tracking_table_name=prefix + tracking_table_name)
        schema = datastore.schema
        self.prefix = prefix
        self.partners = PartnersTable(schema, prefix)
        self.timeline = TimelineTable(schema, prefix)
        documents = DocumentsTable(schema, prefix)
        activities = ActivitiesTable(schema, prefix)
        affiliations = AffiliationsTable(schema, prefix)
        notes = NotesTable(schema, prefix)
        self.standing = PartnerStanding(schema, self.partners.table, documents.documents)
        self.standing_deferred = False
        """While a rebuild fills its tables (no query indexes yet): computed at the end."""
        self.tables: list[Table] = [
            self.partners,
            PartnerCube(schema, prefix),  # kept by triggers on the partners tables
            TagsTable(schema, prefix),
            CatalogTable(schema, prefix),
            activities,
            documents,
            DocumentTotals(schema, prefix),  # kept by triggers on the documents table
            SegmentsTable(schema, prefix),
            affiliations,
            notes,
            WebhookEndpointsTable(schema, prefix),
            self.timeline,  # last: it reads the subjects' partner
        ]
        records = (
            activities.table,
            documents.documents,
            documents.opportunities,
            affiliations.affiliations,
            affiliations.accounts,
            notes.table,
        )
        erasing = (activities, documents, affiliations, notes, self.timeline)
        self.erasing = ErasingLate(self.partners.table, records, erasing)
        self.query_index_statements: list[Composed] = []
        for table in self.tables:
            self.sql_create_statements += table.create_statements()
            self.query_index_statements += table.query_index_statements()
        self.sql_create_statements += self.standing.create_statements()

    def create_table(self, *, query_indexes: bool = True) -> None:
        self.standing_deferred = not query_indexes
        super().create_table(query_indexes=query_indexes)

    def create_query_indexes(self) -> None:
        """The indexes, then (after a rebuild's replay) every partner's standing at once."""
        super().create_query_indexes()
        if self.standing_deferred:
            with self.datastore.transaction(commit=True) as curs:
                self.standing.refresh_all(curs)
            self.standing_deferred = False

    @property
    def table_names(self) -> list[str]:
        return [name for table in self.tables for name in table.names]

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        for table in self.tables:
            table.apply(curs, event, position)

    def apply_batch(
        self, curs: Cursor[DictRow], items: Sequence[tuple[DomainEventProtocol[Any], int]]
    ) -> None:
        """Applies events in order; runs of consecutive partner events (an import, a
        rebuild, a busy API) go together: each partner row written once (see
        app/projections/partner_runs.py). Only the partners and timeline tables care
        about those events. Then the partners' standing (overdue invoices, credit) of
        the partners the batch concerns (app/projections/partner_standing.py)."""
        changes = StandingChanges()
        if not self.standing_deferred:
            for event, _ in items:
                changes.note(event)
        roots = self.standing.roots_before(curs, changes)
        run: list[tuple[DomainEventProtocol[Any], int]] = []
        others: list[tuple[DomainEventProtocol[Any], int]] = []
        for event, position in items:
            if isinstance(event, IdempotencyRecord.Event):
                continue  # no read model shows it; skipping keeps runs of partners whole
            if isinstance(event, RUN_EVENTS):
                self._apply_in_order(curs, others)
                run.append((event, position))
            else:
                self._apply_run(curs, run)
                others.append((event, position))
        self._apply_in_order(curs, others)
        self._apply_run(curs, run)
        self.erasing.sweep(curs, items)
        self.standing.refresh(curs, changes, roots)

    def _apply_run(self, curs: Cursor[DictRow], run: list[tuple[Any, int]]) -> None:
        """Partner events: a few statements, new rows copied in when there are many."""
        if not run:
            return
        if len(run) >= COPY_FROM:
            self.partners.apply_run(curs, run, by_copy=True)
            self.timeline.apply_many(curs, run, by_copy=True)
        else:
            with curs.connection.pipeline():
                self.partners.apply_run(curs, run)
                self.timeline.apply_many(curs, run)
        run.clear()

    def _apply_in_order(self, curs: Cursor[DictRow], events: list[tuple[Any, int]]) -> None:
        """Other events, one by one, their statements pipelined: they go out without
        waiting for each answer (applying never reads a result back)."""
        if events:
            with curs.connection.pipeline():
                for event, position in events:
                    self.apply(curs, event, position)
            events.clear()
