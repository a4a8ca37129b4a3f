"""The `partners` read model: one row per partner with its effective values resolved
(display name, commercial partner, the company's address on its contacts, the commercial
partner's VAT, industry and salesperson), and `partner_tags`; how each event changes them.

The tables are laid out in app/projections/partner_layout.py; the resolution is
app/domain/resolution.py's, in SQL in app/projections/partner_resolution.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from app.domain import partner as domain
from app.domain.erasure import ANONYMIZED_NAME, PERSONAL_FIELDS
from app.projections import partner_layout, partner_runs
from app.projections.partner_layout import (
    FLAG_INDEXES,
    OWN_COLUMNS,
    REGISTER_COLUMNS,
    REGISTER_FIELDS,
)
from app.projections.partner_resolution import Resolving, StagedInserts
from app.projections.partner_runs import CASCADING, RUN_EVENTS, ChangedPartner, NewPartner
from app.projections.storable_text import storable_amount
from app.projections.tables import add_rows

STAGED_COLUMNS = [
    "id",
    "kind",
    "version",
    "created_at",
    "updated_at",
    "position",
    *REGISTER_COLUMNS,
    "archived",
]
"""What a new partner's row holds before it is resolved."""


class PartnersTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.schema = schema
        self.names: tuple[str, ...] = (f"{prefix}partners", f"{prefix}partner_tags")
        self.table = t = Identifier(schema, self.names[0])
        self.tags = pt = Identifier(schema, self.names[1])
        # Statements are rendered to text once here: psycopg would otherwise render them
        # again for every event.
        self._touch = _render(
            SQL("UPDATE {t} SET version = %s, updated_at = %s, position = %s WHERE id = %s"),
            t=t,
        )
        self._set_merged = _render(
            SQL("UPDATE {t} SET archived = %s, merged_into = %s WHERE id = %s"), t=t
        )
        self._add_tags = _render(
            SQL(
                "INSERT INTO {pt} (partner_id, tag_id) SELECT %s, unnest(%s::uuid[]) "
                "ON CONFLICT DO NOTHING"
            ),
            pt=pt,
        )
        self._remove_tags = _render(
            SQL("DELETE FROM {pt} WHERE partner_id = %s AND tag_id = ANY(%s::uuid[])"), pt=pt
        )
        self._clear_tags = _render(SQL("DELETE FROM {pt} WHERE partner_id = %s"), pt=pt)
        self._resolve = Resolving.of(t)
        # New partners: their own values staged (by COPY in bulk, by INSERT when few:
        # tables.add_rows) in a temporary table of this session, emptied at commit, then
        # inserted resolved (partner_resolution.StagedInserts); their tags straight in.
        self._stage = stage = Identifier("pg_temp", f"{self.names[0]}_new")
        staged = SQL(", ").join(Identifier(c) for c in STAGED_COLUMNS)
        self._create_stage = _render(
            SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {s} ON COMMIT DELETE ROWS AS "
                "SELECT {c} FROM {t} WITH NO DATA"
            ),
            s=stage,
            c=staged,
            t=t,
        )
        self._copy_new = _render(SQL("COPY {s} ({c}) FROM STDIN"), s=stage, c=staged)
        self._insert_new_row = _render(
            SQL("INSERT INTO {s} ({c}) VALUES ({p})"),
            s=stage,
            c=staged,
            p=SQL(", ").join(SQL("%s") for _ in STAGED_COLUMNS),
        )
        self._staged = StagedInserts.of(t, stage, STAGED_COLUMNS)
        self._copy_tags = _render(SQL("COPY {pt} (partner_id, tag_id) FROM STDIN"), pt=pt)
        self._insert_tag = _render(
            SQL("INSERT INTO {pt} (partner_id, tag_id) VALUES (%s, %s)"), pt=pt
        )
        self._anonymize = _anonymize_statement(t)
        self._own_updates: dict[tuple[str, ...], str] = {}

    def create_statements(self) -> list[Composed]:
        return partner_layout.create_statements(self.table, self.tags, self.names[0])

    def query_index_statements(self) -> list[Composed]:
        return partner_layout.query_index_statements(
            self.table, self.tags, *self.names, schema=self.schema
        )

    # -- applying events -------------------------------------------------------------

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        if isinstance(event, RUN_EVENTS):
            self.apply_run(curs, [(event, position)])
            return
        match event:
            case domain.Partner.Anonymized():
                curs.execute(self._anonymize, (event.originator_id,), prepare=True)
                curs.execute(self._resolve.one, (event.originator_id,), prepare=True)
                curs.execute(self._resolve.children, (event.originator_id,), prepare=True)
                self._touched(curs, event, position)
            case _:
                self._apply_merging(curs, event, position)

    def _apply_merging(self, curs: Cursor[DictRow], event: Any, position: int) -> None:
        """The events of merging and unmerging (app/domain/merge.py)."""
        match event:
            case domain.Partner.Merged():
                curs.execute(self._set_merged, (True, event.into, event.originator_id))
            case domain.Partner.Unmerged():
                curs.execute(self._set_merged, (False, None, event.originator_id))
            case domain.Partner.Absorbed():
                self._changed(curs, event.originator_id, event.changes)
                if event.tags_added:
                    curs.execute(self._add_tags, (event.originator_id, event.tags_added))
            case domain.Partner.Separated():
                self._changed(curs, event.originator_id, event.changes)
                if event.tags_removed:
                    curs.execute(self._remove_tags, (event.originator_id, event.tags_removed))
            case domain.Partner.Reparented():
                self._changed(curs, event.originator_id, {"parent_id": event.parent_id})
            case _:
                return
        self._touched(curs, event, position)

    def apply_run(
        self, curs: Cursor[DictRow], run: Sequence[tuple[Any, int]], *, by_copy: bool = False
    ) -> None:
        """Consecutive partner events (`partner_runs.RUN_EVENTS`), folded: each new partner
        written once, resolved as it is inserted; each changed one updated once (its last
        version, time and position included) and resolved; companies first, then their
        contacts, and the children of those whose changes they inherit. A few statements
        a run, each over all its partners (set-based, whatever the run's size)."""
        folded = partner_runs.fold(run)
        if folded.new:
            self._stage_new(curs, folded.new, by_copy)
        with curs.connection.pipeline():
            self._apply_folded(curs, folded)

    def _apply_folded(self, curs: Cursor[DictRow], folded: partner_runs.Fold) -> None:
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        for pid, changed in folded.changed.items():
            columns = self._changed_columns(changed)
            by_columns.setdefault(tuple(c for c, _ in columns), []).append(
                [*(v for _, v in columns), pid]
            )
            for kind, tag_ids in changed.tag_changes:
                if kind == "set":
                    curs.execute(self._clear_tags, (pid,), prepare=True)
                curs.execute(
                    self._remove_tags if kind == "remove" else self._add_tags,
                    (pid, tag_ids),
                    prepare=True,
                )
        for names, rows in by_columns.items():
            curs.executemany(self._update_statement(names), rows)
        # The order of the statements is the order of resolution: a company before its
        # contacts, a partner before the children that inherit from it. New partners are
        # inserted resolved (StagedInserts), changed ones resolved where they are; one
        # changed partner (the usual API command) by id: a third of the time of the
        # statements over arrays, which pay off from a few partners on.
        updated = list(folded.changed)
        if len(updated) == 1:
            curs.execute(self._resolve.one, (updated[0],), prepare=True)
        elif updated:
            curs.execute(self._resolve.commercial_among, (updated,), prepare=True)
        if folded.new:  # planned each time: a kept plan was made for the table when small
            curs.execute(self._staged.commercial, prepare=False)
        if len(updated) > 1:
            curs.execute(self._resolve.contacts_among, (updated,), prepare=True)
        cascading = list(folded.cascading)
        if len(cascading) == 1:
            curs.execute(self._resolve.children, (cascading[0],), prepare=True)
        elif cascading:
            curs.execute(self._resolve.children_of_any, (cascading,), prepare=True)
        if folded.new:  # after the cascade: it finds them resolved from their company
            curs.execute(self._staged.contacts, prepare=False)

    def _stage_new(self, curs: Cursor[DictRow], new: dict[UUID, NewPartner], by_copy: bool) -> None:
        """New partners' own values into the staging table (their tags into the table)."""
        curs.execute(self._create_stage)
        rows = []
        tags = []
        for pid, partner in new.items():
            values = partner.values
            own_values = [values.get(f) for f in REGISTER_FIELDS]
            for i in FLAG_INDEXES:  # flags are never NULL in the table
                if own_values[i] is None:
                    own_values[i] = False
            limit = values.get("credit_limit") or {}
            own_values += (storable_amount(limit.get("amount")), limit.get("currency"))
            last = partner.last
            rows.append(
                (
                    pid,
                    partner.kind,
                    last.version,
                    partner.created_at,
                    last.timestamp,
                    last.position,
                    *own_values,
                    bool(partner.archived),
                )
            )
            tags += [(pid, tag) for tag in partner.tags]
        add_rows(curs, rows, by_copy=by_copy, copy=self._copy_new, insert=self._insert_new_row)
        add_rows(curs, tags, by_copy=by_copy, copy=self._copy_tags, insert=self._insert_tag)

    def _changed_columns(self, changed: ChangedPartner) -> list[tuple[str, Any]]:
        columns = self._own_columns(changed.changes)
        if changed.archived is not None:
            columns.append(("archived", changed.archived))
        last = changed.last
        return [
            *columns,
            ("version", last.version),
            ("updated_at", last.timestamp),
            ("position", last.position),
        ]

    def _changed(self, curs: Cursor[DictRow], partner_id: UUID, values: dict[str, Any]) -> None:
        self._write_own(curs, partner_id, values)
        if "tag_ids" in values:
            curs.execute(self._clear_tags, (partner_id,), prepare=True)
            curs.execute(self._add_tags, (partner_id, values["tag_ids"] or []), prepare=True)
        curs.execute(self._resolve.one, (partner_id,), prepare=True)
        if CASCADING & set(values):
            curs.execute(self._resolve.children, (partner_id,), prepare=True)

    def _touched(self, curs: Cursor[DictRow], event: Any, position: int) -> None:
        curs.execute(
            self._touch,
            (event.originator_version, event.timestamp, position, event.originator_id),
            prepare=True,
        )

    def _write_own(self, curs: Cursor[DictRow], partner_id: UUID, values: dict[str, Any]) -> None:
        columns = self._own_columns(values)
        if not columns:
            return
        statement = self._update_statement(tuple(c for c, _ in columns))
        curs.execute(statement, [*(v for _, v in columns), partner_id], prepare=True)

    @staticmethod
    def _own_columns(values: dict[str, Any]) -> list[tuple[str, Any]]:
        """The own-value columns a change of these domain fields writes."""
        columns = [(OWN_COLUMNS[f], v) for f, v in sorted(values.items()) if f in OWN_COLUMNS]
        if "credit_limit" in values:
            limit = values["credit_limit"] or {}
            columns += [
                ("credit_limit_amount", storable_amount(limit.get("amount"))),
                ("credit_limit_currency", limit.get("currency")),
            ]
        return columns

    def _update_statement(self, names: tuple[str, ...]) -> str:
        """`UPDATE partners SET <names> = … WHERE id = …`, rendered once per column set."""
        statement = self._own_updates.get(names)
        if statement is None:
            statement = (
                SQL("UPDATE {t} SET {sets} WHERE id = %s")
                .format(
                    t=self.table,
                    sets=SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in names),
                )
                .as_string(None)
            )
            self._own_updates[names] = statement
        return statement


def _render(statement: SQL, **parts: Any) -> str:
    return statement.format(**parts).as_string(None)


def _anonymize_statement(t: Identifier) -> str:
    """Erasure: the person's own personal values go; the name shows it was anonymized."""
    personal = sorted(OWN_COLUMNS[f] for f in PERSONAL_FIELDS if f in OWN_COLUMNS)
    sets = SQL(", ").join(
        SQL("{} = {}").format(Identifier(c), Literal(ANONYMIZED_NAME if c == "own_name" else None))
        for c in personal
    )
    return _render(SQL("UPDATE {t} SET anonymized = true, {sets} WHERE id = %s"), t=t, sets=sets)
