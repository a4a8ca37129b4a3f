"""The `partners` read model: one row per partner with its effective values resolved
(display name, commercial partner, the company's address on its contacts, the commercial
partner's VAT, industry and salesperson), and `partner_tags`.

The resolution is app/domain/resolution.py's, written here in SQL so that one statement
resolves many rows from what is stored;
tests/projections/test_resolution_equivalence.py proves both give the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from app.domain import partner as domain
from app.domain import partner_fields, resolution
from app.domain.erasure import ANONYMIZED_NAME, PERSONAL_FIELDS
from app.projections import partner_runs
from app.projections.partner_runs import CASCADING, RUN_EVENTS, ChangedPartner, NewPartner
from app.projections.tables import add_rows

OWN_COLUMNS: dict[str, str] = {
    **{field: field for field in partner_fields.FIELDS if field != "tag_ids"},
    "name": "own_name",
    **{f: f"own_{f}" for f in partner_fields.ADDRESS_FIELDS},
    **{f: f for f in partner_fields.TERM_REFERENCES},
}
"""Domain field -> column holding the partner's own value."""

UUID_FIELDS = {*partner_fields.REFERENCE_FIELDS, *partner_fields.TERM_REFERENCES}
ADDRESS_COLUMNS = resolution.INHERITED_ADDRESS

_LABEL = SQL("CASE c.type {} END").format(
    SQL(" ").join(
        SQL("WHEN {} THEN {}").format(Literal(k), Literal(v))
        for k, v in partner_fields.TYPE_LABELS.items()
        if k != "CONTACT"
    )
)
# The rules of app/domain/resolution.py over stored rows: `c` is the partner's row, `p`
# its parent's (NULL columns when it has none, or the parent is not projected yet).
_NAME = SQL("COALESCE(c.own_name, {})").format(_LABEL)
_DISPLAY_NAME = SQL(
    "CASE WHEN c.kind = 'PERSON' AND p.id IS NOT NULL THEN p.name || ', ' || {name} ELSE {name} END"
).format(name=_NAME)
_INHERITS_ADDRESS = SQL("(c.kind = 'PERSON' AND c.type = 'CONTACT' AND p.id IS NOT NULL)")
_COMMERCIAL = SQL("(c.kind = 'COMPANY' OR p.id IS NULL)")


class PartnersTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}partners", f"{prefix}partner_tags")
        self.table = Identifier(schema, self.names[0])
        self.tags = Identifier(schema, self.names[1])
        t = self.table
        self._touch = SQL(
            "UPDATE {t} SET version = %s, updated_at = %s, position = %s WHERE id = %s"
        ).format(t=t)
        self._set_archived = SQL("UPDATE {t} SET archived = %s WHERE id = %s").format(t=t)
        self._set_merged = SQL(
            "UPDATE {t} SET archived = %s, merged_into = %s WHERE id = %s"
        ).format(t=t)
        self._add_tags = SQL(
            "INSERT INTO {pt} (partner_id, tag_id) SELECT %s, unnest(%s::uuid[]) "
            "ON CONFLICT DO NOTHING"
        ).format(pt=self.tags)
        self._remove_tags = SQL(
            "DELETE FROM {pt} WHERE partner_id = %s AND tag_id = ANY(%s::uuid[])"
        ).format(pt=self.tags)
        self._clear_tags = SQL("DELETE FROM {pt} WHERE partner_id = %s").format(pt=self.tags)
        resolved = SQL(", ").join(
            [
                SQL("name = {}").format(_NAME),
                SQL("display_name = {}").format(_DISPLAY_NAME),
                SQL(
                    "commercial_partner_id = CASE WHEN {com} THEN c.id "
                    "ELSE p.commercial_partner_id END"
                ).format(com=_COMMERCIAL),
                SQL("address_from_id = CASE WHEN {i} THEN p.address_from_id ELSE c.id END").format(
                    i=_INHERITS_ADDRESS
                ),
                SQL("email_normalized = lower(c.email)"),
                # Sort keys: alphabetical as people read it, accents aside (é with e).
                SQL("name_key = lower(unaccent({}))").format(_NAME),
                SQL("display_name_key = lower(unaccent({}))").format(_DISPLAY_NAME),
                # What text search looks in: names (the company's too, as in the display
                # name), email, reference and VAT, lower-cased and without accents; and
                # the digits of the phone numbers.
                SQL(
                    "search_text = lower(unaccent(concat_ws(' ', {name}, "
                    "CASE WHEN c.kind = 'PERSON' THEN p.name END, c.email, c.ref, "
                    "COALESCE(c.vat, p.effective_vat))))"
                ).format(name=_NAME),
                SQL(
                    "phone_digits = regexp_replace(concat_ws(' ', c.phone, c.mobile), '[^0-9]', '', 'g')"
                ),
                *(
                    SQL("{e} = CASE WHEN {com} THEN c.{own} ELSE p.{e} END").format(
                        e=Identifier(e), own=Identifier(OWN_COLUMNS[own]), com=_COMMERCIAL
                    )
                    for e, own in resolution.FROM_COMMERCIAL.items()
                ),
                *(
                    SQL("{e} = COALESCE(c.{own}, CASE WHEN {com} THEN NULL ELSE p.{e} END)").format(
                        e=Identifier(e), own=Identifier(OWN_COLUMNS[own]), com=_COMMERCIAL
                    )
                    for e, own in resolution.OWN_ELSE_COMMERCIAL.items()
                ),
                *(
                    SQL("{col} = CASE WHEN {i} THEN p.{col} ELSE c.{own} END").format(
                        col=Identifier(col), own=Identifier(f"own_{col}"), i=_INHERITS_ADDRESS
                    )
                    for col in ADDRESS_COLUMNS
                ),
            ]
        )
        # The SET list reads the row's own values as `c` and its parent's as `p`: the
        # target joins itself, so one statement resolves a row from what is stored.
        resolve_from = SQL(
            "UPDATE {t} AS target SET {resolved} FROM {t} AS c LEFT JOIN {t} AS p "
            "ON p.id = c.parent_id WHERE target.id = c.id AND "
        ).format(t=t, resolved=resolved)
        self._resolve_one = resolve_from + SQL("c.id = %s")
        self._resolve_children = resolve_from + SQL("c.parent_id = %s")
        # The partners of a run of events: companies and partners on their own first,
        # since a contact's resolved values are read from its (already resolved) company.
        self._resolve_commercial_among = resolve_from + SQL(
            "c.id = ANY(%s) AND (c.kind = 'COMPANY' OR c.parent_id IS NULL)"
        )
        self._resolve_contacts_among = resolve_from + SQL(
            "c.id = ANY(%s) AND c.kind = 'PERSON' AND c.parent_id IS NOT NULL"
        )
        # The contacts of companies whose inherited values changed; also those of new
        # companies (a contact saved with its company can be projected before it).
        self._resolve_children_of_any = resolve_from + SQL(
            "c.parent_id = ANY(%s) AND c.kind = 'PERSON'"
        )
        self._register_columns = [
            *OWN_COLUMNS.values(),
            "credit_limit_amount",
            "credit_limit_currency",
        ]
        # What a new row's own columns hold: the domain field of each, flags' positions.
        self._register_fields = list(OWN_COLUMNS)
        self._flag_indexes = [
            i for i, f in enumerate(self._register_fields) if f in partner_fields.FLAG_FIELDS
        ]
        # New partners and their tags: by COPY in bulk, by INSERT when few (tables.add_rows;
        # the rows are new, nothing to conflict with).
        new_columns = SQL("id, kind, version, created_at, updated_at, position, {}").format(
            SQL(", ").join(Identifier(c) for c in self._register_columns)
        )
        self._copy_new = SQL("COPY {t} ({c}) FROM STDIN").format(t=t, c=new_columns)
        self._insert_new_row = SQL("INSERT INTO {t} ({c}) VALUES ({p})").format(
            t=t,
            c=new_columns,
            p=SQL(", ").join(SQL("%s") for _ in range(6 + len(self._register_columns))),
        )
        self._copy_tags = SQL("COPY {pt} (partner_id, tag_id) FROM STDIN").format(pt=self.tags)
        self._insert_tag = SQL("INSERT INTO {pt} (partner_id, tag_id) VALUES (%s, %s)").format(
            pt=self.tags
        )
        # Composed statements are rendered to text once here: psycopg would otherwise
        # render these large statements again for every event (a third of a rebuild).
        for name in (
            "_touch",
            "_set_archived",
            "_add_tags",
            "_remove_tags",
            "_clear_tags",
            "_resolve_one",
            "_resolve_children",
            "_resolve_commercial_among",
            "_resolve_contacts_among",
            "_resolve_children_of_any",
            "_copy_new",
            "_insert_new_row",
            "_copy_tags",
            "_insert_tag",
        ):
            setattr(self, name, getattr(self, name).as_string(None))
        self._own_updates: dict[tuple[str, ...], str] = {}
        # Erasure: the person's own personal values go; the name shows it was anonymized.
        personal = sorted(OWN_COLUMNS[f] for f in PERSONAL_FIELDS if f in OWN_COLUMNS)
        self._anonymize = (
            SQL("UPDATE {t} SET anonymized = true, {sets} WHERE id = %s")
            .format(
                t=t,
                sets=SQL(", ").join(
                    SQL("{} = {}").format(
                        Identifier(c), Literal(ANONYMIZED_NAME if c == "own_name" else None)
                    )
                    for c in personal
                ),
            )
            .as_string(None)
        )

    def create_statements(self) -> list[Composed]:
        t = self.table

        def column(field: str, col: str) -> Composable:
            if field in partner_fields.FLAG_FIELDS:
                kind = "boolean NOT NULL DEFAULT false"
            else:
                kind = "uuid" if field in UUID_FIELDS else "text"
            return SQL("{} {}").format(Identifier(col), SQL(kind))

        own = SQL(", ").join(column(f, c) for f, c in OWN_COLUMNS.items())
        effective = SQL(", ").join(
            SQL("{} text").format(Identifier(col))
            for col in (*ADDRESS_COLUMNS, "name", "display_name", "effective_vat")
        )
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                "id uuid PRIMARY KEY, kind text NOT NULL, {own}, {effective}, "
                "credit_limit_amount numeric, credit_limit_currency text, "
                "email_normalized text, commercial_partner_id uuid, address_from_id uuid, "
                "effective_industry_id uuid, effective_salesperson_id uuid, "
                "search_text text, phone_digits text, name_key text, display_name_key text, "
                "archived boolean NOT NULL DEFAULT false, "
                "anonymized boolean NOT NULL DEFAULT false, version integer NOT NULL, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "position bigint NOT NULL)"
            ).format(t=t, own=own, effective=effective),
            # Tables made before partners had an external id (issue 10) gain the column.
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS external_id text").format(t=t),
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS merged_into uuid").format(t=t),
            # Applying events looks children up by their parent (resolving them again).
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (parent_id)").format(
                Identifier(f"{self.names[0]}_parent"), t=t
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {pt} (partner_id uuid NOT NULL, tag_id uuid NOT NULL, "
                "PRIMARY KEY (partner_id, tag_id))"
            ).format(pt=self.tags),
        ]

    def query_index_statements(self) -> list[Composed]:
        t = self.table
        indexes = (
            ("commercial", "commercial_partner_id"),
            ("name", "name_key, id"),
            ("display_name", "display_name_key, id"),
            ("created", "created_at, id"),
            ("updated", "updated_at, id"),
            ("country", "country_code, id"),
            ("email", "email_normalized"),
            ("search", "search_text gin_trgm_ops"),
            ("phone", "phone_digits gin_trgm_ops"),
            ("external_id", "external_id"),
            ("industry", "effective_industry_id"),
            ("salesperson", "effective_salesperson_id"),
        )
        return [
            *(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {t} {using} ({})").format(
                    Identifier(f"{self.names[0]}_{name}"),
                    SQL(expr),
                    t=t,
                    using=SQL("USING gin" if "gin_trgm_ops" in expr else ""),
                )
                for name, expr in indexes
            ),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {pt} (tag_id, partner_id)").format(
                Identifier(f"{self.names[1]}_tag"), pt=self.tags
            ),
            *merge_indexes(t, self.names[0]),
        ]

    # -- applying events -------------------------------------------------------------

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        if isinstance(event, RUN_EVENTS):
            self.apply_run(curs, [(event, position)])
            return
        match event:
            case domain.Partner.Anonymized():
                curs.execute(self._anonymize, (event.originator_id,), prepare=True)
                curs.execute(self._resolve_one, (event.originator_id,), prepare=True)
                curs.execute(self._resolve_children, (event.originator_id,), prepare=True)
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
        inserted once, each changed one updated once (its last version, time and position
        included), then every partner of the run resolved in two statements, companies
        first, and the children of those whose changes they inherit."""
        folded = partner_runs.fold(run)
        if folded.new:
            self._insert_new(curs, folded.new, by_copy)
        with curs.connection.pipeline():
            self._apply_folded(curs, folded)

    def _apply_folded(self, curs: Cursor[DictRow], folded: partner_runs.Fold) -> None:
        archived = [(True, pid) for pid, partner in folded.new.items() if partner.archived]
        if archived:
            curs.executemany(self._set_archived, archived)
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
        # One partner (the usual API command) is resolved by id: a third of the time of
        # the statements over arrays, which pay off from a few partners on.
        ids = [*folded.new, *folded.changed]
        if len(ids) == 1:
            curs.execute(self._resolve_one, (ids[0],), prepare=True)
        else:
            curs.execute(self._resolve_commercial_among, (ids,), prepare=True)
            curs.execute(self._resolve_contacts_among, (ids,), prepare=True)
        cascading = list(folded.cascading)
        if len(cascading) == 1:
            curs.execute(self._resolve_children, (cascading[0],), prepare=True)
        elif cascading:
            curs.execute(self._resolve_children_of_any, (cascading,), prepare=True)

    def _insert_new(
        self, curs: Cursor[DictRow], new: dict[UUID, NewPartner], by_copy: bool
    ) -> None:
        fields = self._register_fields
        flags = self._flag_indexes
        rows = []
        tags = []
        for pid, partner in new.items():
            values = partner.values
            own_values = [values.get(f) for f in fields]
            for i in flags:  # flags are never NULL in the table
                if own_values[i] is None:
                    own_values[i] = False
            limit = values.get("credit_limit") or {}
            own_values += (limit.get("amount"), limit.get("currency"))
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
        curs.execute(self._resolve_one, (partner_id,), prepare=True)
        if CASCADING & set(values):
            curs.execute(self._resolve_children, (partner_id,), prepare=True)

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
                ("credit_limit_amount", limit.get("amount")),
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


def merge_indexes(t: Identifier, name: str) -> list[Composed]:
    """What merging and duplicate detection look up: `merged_into`, VAT, phone, mobile
    and the trigrams of the name."""
    return [
        SQL("CREATE INDEX IF NOT EXISTS {} ON {t} {}").format(
            Identifier(f"{name}_{suffix}"), SQL(expr), t=t
        )
        for suffix, expr in (
            ("vat", "(vat)"),
            ("phone_e164", "(phone)"),
            ("mobile_e164", "(mobile)"),
            ("name_trgm", "USING gin (name_key gin_trgm_ops)"),
            ("merged_into", "(merged_into)"),
        )
    ]
