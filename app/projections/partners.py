"""The `partners` read model: one row per partner with its effective values resolved
(display name, commercial partner, the company's address on its contacts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from app.domain import partner as domain

OWN_COLUMNS = {field: field for field in domain.FIELDS} | {
    "name": "own_name",
    **{f: f"own_{f}" for f in domain.ADDRESS_FIELDS},
}
"""Domain field -> column holding the partner's own value."""

ADDRESS_COLUMNS = domain.ADDRESS_FIELDS
_Change = domain.Partner.Updated | domain.Partner.Archived | domain.Partner.Restored

_LABEL = SQL("CASE c.type {} END").format(
    SQL(" ").join(
        SQL("WHEN {} THEN {}").format(Literal(k), Literal(v))
        for k, v in domain.TYPE_LABELS.items()
        if k != "CONTACT"
    )
)
_INHERITS = SQL("(c.kind = 'PERSON' AND c.type = 'CONTACT' AND p.id IS NOT NULL)")


class PartnersView(PostgresTrackingRecorder):
    """The table and its tracking record, written in one transaction per batch."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "partners_tracking",
        table_name: str | None = None,
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name)
        self.table_name = table_name or tracking_table_name.removesuffix("_tracking")
        self.table = Identifier(datastore.schema, self.table_name)
        t = self.table
        own = SQL(", ").join(
            SQL("{} {}").format(Identifier(col), SQL("boolean NOT NULL DEFAULT false"))
            if field in domain.FLAG_FIELDS
            else SQL("{} {}").format(
                Identifier(col), SQL("uuid" if field == "parent_id" else "text")
            )
            for field, col in OWN_COLUMNS.items()
        )
        effective = SQL(", ").join(
            SQL("{} text").format(Identifier(col))
            for col in (*ADDRESS_COLUMNS, "name", "display_name")
        )
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                "id uuid PRIMARY KEY, kind text NOT NULL, {own}, {effective}, "
                "email_normalized text, commercial_partner_id uuid, address_from_id uuid, "
                "archived boolean NOT NULL DEFAULT false, version integer NOT NULL, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "position bigint NOT NULL)"
            ).format(t=t, own=own, effective=effective),
            *(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {t} ({})").format(
                    Identifier(f"{self.table_name}_{name}"), SQL(expr), t=t
                )
                for name, expr in (
                    ("parent", "parent_id"),
                    ("commercial", "commercial_partner_id"),
                    ("name", "lower(name), id"),
                    ("display_name", "lower(display_name), id"),
                    ("created", "created_at, id"),
                    ("updated", "updated_at, id"),
                    ("country", "country_code, id"),
                    ("email", "email_normalized"),
                )
            ),
        ]
        self._insert = SQL(
            "INSERT INTO {t} (id, kind, version, created_at, updated_at, position) "
            "VALUES (%s, %s, %s, %s, %s, %s)"
        ).format(t=t)
        self._touch = SQL(
            "UPDATE {t} SET version = %s, updated_at = %s, position = %s WHERE id = %s"
        ).format(t=t)
        self._set_archived = SQL("UPDATE {t} SET archived = %s WHERE id = %s").format(t=t)
        resolved = SQL(", ").join(
            [
                SQL("name = COALESCE(c.own_name, {label})").format(label=_LABEL),
                SQL(
                    "display_name = CASE WHEN c.kind = 'PERSON' AND p.id IS NOT NULL "
                    "THEN p.name || ', ' || COALESCE(c.own_name, {label}) "
                    "ELSE COALESCE(c.own_name, {label}) END"
                ).format(label=_LABEL),
                SQL(
                    "commercial_partner_id = CASE WHEN c.kind = 'COMPANY' OR p.id IS NULL "
                    "THEN c.id ELSE p.commercial_partner_id END"
                ),
                SQL("address_from_id = CASE WHEN {i} THEN p.address_from_id ELSE c.id END").format(
                    i=_INHERITS
                ),
                SQL("email_normalized = lower(c.email)"),
                *(
                    SQL("{col} = CASE WHEN {i} THEN p.{col} ELSE c.{own} END").format(
                        col=Identifier(col), own=Identifier(f"own_{col}"), i=_INHERITS
                    )
                    for col in ADDRESS_COLUMNS
                ),
            ]
        )
        resolve_from = SQL(
            "UPDATE {t} AS target SET {resolved} FROM {t} AS c LEFT JOIN {t} AS p "
            "ON p.id = c.parent_id WHERE target.id = c.id AND "
        ).format(t=t, resolved=resolved)
        # The SET list reads the row's own values as `c` and its parent's as `p`: the
        # target joins itself, so one statement resolves a row from what is stored.
        self._resolve_one = resolve_from + SQL("c.id = %s")
        self._resolve_children = resolve_from + SQL("c.parent_id = %s")

    # -- applying events -------------------------------------------------------------

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        if isinstance(event, domain.Partner.Registered):
            self._registered(curs, event, position)
        elif isinstance(event, domain.Partner.Updated):
            self._updated(curs, event, position)
        elif isinstance(event, domain.Partner.Archived | domain.Partner.Restored):
            curs.execute(
                self._set_archived,
                (isinstance(event, domain.Partner.Archived), event.originator_id),
                prepare=True,
            )
            self._touched(curs, event, position)

    def _registered(
        self, curs: Cursor[DictRow], event: domain.Partner.Registered, position: int
    ) -> None:
        curs.execute(
            self._insert,
            (
                event.originator_id,
                event.kind,
                event.originator_version,
                event.timestamp,
                event.timestamp,
                position,
            ),
            prepare=True,
        )
        self._write_own(curs, event.originator_id, event.values)
        curs.execute(self._resolve_one, (event.originator_id,), prepare=True)

    def _updated(self, curs: Cursor[DictRow], event: domain.Partner.Updated, position: int) -> None:
        self._write_own(curs, event.originator_id, event.changes)
        self._touched(curs, event, position)
        curs.execute(self._resolve_one, (event.originator_id,), prepare=True)
        if _concerns_children(event.changes):
            curs.execute(self._resolve_children, (event.originator_id,), prepare=True)

    def _touched(self, curs: Cursor[DictRow], event: _Change, position: int) -> None:
        curs.execute(
            self._touch,
            (event.originator_version, event.timestamp, position, event.originator_id),
            prepare=True,
        )

    def _write_own(self, curs: Cursor[DictRow], partner_id: UUID, values: dict[str, Any]) -> None:
        columns = [(OWN_COLUMNS[f], v) for f, v in sorted(values.items()) if f in OWN_COLUMNS]
        if not columns:
            return
        statement: Composed = SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
            t=self.table,
            sets=SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c, _ in columns),
        )
        curs.execute(statement, [*(v for _, v in columns), partner_id])

    def truncate(self, curs: Cursor[DictRow]) -> None:
        curs.execute(SQL("TRUNCATE {t}").format(t=self.table))


def _concerns_children(changes: Iterable[str]) -> bool:
    return bool({"name", "type", "parent_id", *ADDRESS_COLUMNS} & set(changes))
