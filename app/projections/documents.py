"""The `documents` and `opportunities` read models: what other modules report about a
partner, and its opportunities; the 360° figures are summed from them when asked.

A document's `due_date` is what overdue and the filters on it are asked of, indexed: the
due date of its earliest instalment not yet paid (payments settle instalments in the
order they fall due), null once nothing is left to pay, or when it is paid or cancelled."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from app.domain.document import Document, direction_of
from app.domain.erasure import ERASED_TEXT
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner
from app.projections.erasing import carried
from app.projections.storable_text import storable_amount

EXPOSED = SQL(
    "(kind IN ('INVOICE', 'CREDIT_NOTE') AND status IN ('OPEN', 'PARTIALLY_PAID')) "
    "OR (kind = 'SALE_ORDER' AND status = 'CONFIRMED')"
)
"""The documents that count in a partner's credit exposure (app/domain/credit.py)."""


def _update(table: Identifier, values: dict[str, Any]) -> Composed:
    return SQL("UPDATE {t} SET {sets} WHERE id = %s").format(
        t=table,
        sets=SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in values),
    )


def _text(value: str | None) -> str:
    """A required text; None only when it was erased (its key is gone)."""
    return ERASED_TEXT if value is None else value


class DocumentsTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}documents", f"{prefix}opportunities")
        self.documents = Identifier(schema, self.names[0])
        self.opportunities = Identifier(schema, self.names[1])
        self._insert_document = SQL(
            "INSERT INTO {t} (id, partner_id, module, kind, reference, date, amount, "
            "currency, status, amount_paid, version, created_at, updated_at, direction, terms, "
            "due_dates) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(t=self.documents)
        self._refresh_due_date = SQL(
            "UPDATE {t} d SET due_date = CASE WHEN d.status IN ('PAID', 'CANCELLED') THEN NULL "
            "ELSE (SELECT min(x.due) FROM (SELECT (e.i->>'due_date')::date AS due, "
            "sum((e.i->>'amount')::numeric) OVER (ORDER BY e.n) AS settled_by "
            "FROM jsonb_array_elements(d.due_dates) WITH ORDINALITY AS e(i, n)) x "
            "WHERE x.settled_by > COALESCE(d.amount_paid, 0)) END "
            "WHERE d.id = %s AND d.due_dates IS NOT NULL"
        ).format(t=self.documents)
        self._insert_opportunity = SQL(
            "INSERT INTO {t} (id, partner_id, name, expected_revenue_amount, "
            "expected_revenue_currency, probability, stage, salesperson_id, "
            "version, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(t=self.opportunities)
        # Erasure: what was written about the person goes; texts that cannot be null
        # show ERASED_TEXT (as a rebuild reads them: null, see `_text`).
        self._erase_documents = SQL("UPDATE {t} SET reference = %s WHERE partner_id = %s").format(
            t=self.documents
        )
        self._erase_opportunities = SQL(
            "UPDATE {t} SET name = %s, lost_reason = NULL WHERE partner_id = %s"
        ).format(t=self.opportunities)

    def create_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "module text NOT NULL, kind text NOT NULL, reference text NOT NULL, "
                "date date NOT NULL, amount numeric, currency text, status text NOT NULL, "
                "amount_paid numeric, version integer NOT NULL, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "direction text, terms jsonb, due_dates jsonb, due_date date)"
            ).format(t=self.documents),
            # Tables made before documents had them (issue 18) gain the columns: their
            # payments read as inbound (`direction_of`), their documents show no terms.
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS direction text").format(t=self.documents),
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS terms jsonb").format(t=self.documents),
            *(
                SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c}").format(
                    t=self.documents, c=SQL(column)
                )
                for column in ("due_dates jsonb", "due_date date")
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "name text NOT NULL, expected_revenue_amount numeric, "
                "expected_revenue_currency text, probability numeric, stage text NOT NULL, "
                "salesperson_id uuid, lost_reason text, version integer NOT NULL, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "closed_at timestamptz)"
            ).format(t=self.opportunities),
        ]

    def query_index_statements(self) -> list[Composed]:
        return [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, date, id)").format(
                Identifier(f"{self.names[0]}_partner"), t=self.documents
            ),
            # (hasOverdueInvoices reads the partners' rows: app/projections/partner_standing.py,
            # which finds a partner's open invoices through the index above.)
            # Credit: the documents that make a partner's exposure (EXPOSED in
            # app/queries/credit_queries.py, word for word).
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id, currency) WHERE {e}").format(
                Identifier(f"{self.names[0]}_exposure"), t=self.documents, e=EXPOSED
            ),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (partner_id)").format(
                Identifier(f"{self.names[1]}_partner"), t=self.opportunities
            ),
        ]

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None:
        """An erased person's documents lose their reference, its opportunities their
        name and lost reason."""
        for statement in (self._erase_documents, self._erase_opportunities):
            curs.execute(statement, (ERASED_TEXT, partner_id), prepare=True)

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        match event:
            case Partner.Anonymized():
                self.erase(curs, event.originator_id)
            case Document.Recorded():
                curs.execute(self._insert_document, _recorded_row(event), prepare=True)
                if event.due_dates:
                    curs.execute(self._refresh_due_date, (event.originator_id,), prepare=True)
            case Opportunity.Created():
                curs.execute(self._insert_opportunity, _created_row(event), prepare=True)
            case _:
                change = self._change_of(event)
                if change is not None:
                    self._touch(curs, *change, event)
                if isinstance(event, Document.StatusChanged | Document.AmountsChanged):
                    curs.execute(self._refresh_due_date, (event.originator_id,), prepare=True)

    def _change_of(self, event: Any) -> tuple[Identifier, dict[str, Any]] | None:
        """The table and the columns an event changes in a row already there."""
        match event:
            case Document.StatusChanged():
                return self.documents, {"status": event.status}
            case Document.AmountsChanged():
                changes = dict(event.changes)
                for name in ("amount", "amount_paid"):
                    if name in changes:
                        changes[name] = storable_amount(changes[name])
                if "due_dates" in changes:
                    changes["due_dates"] = _jsonb(changes["due_dates"])
                return self.documents, changes
            case Document.Moved():
                return self.documents, {"partner_id": event.partner_id} | carried(
                    event, ("reference",), required=("reference",)
                )
            case Opportunity.Updated():
                return self.opportunities, _opportunity_changes(event.changes)
            case Opportunity.Won():
                won = {"stage": "WON", "probability": 100, "closed_at": event.timestamp}
                return self.opportunities, won
            case Opportunity.Lost():
                lost = {
                    "stage": "LOST",
                    "probability": 0,
                    "lost_reason": event.lost_reason,
                    "closed_at": event.timestamp,
                }
                return self.opportunities, lost
            case Opportunity.Moved():
                return self.opportunities, {"partner_id": event.partner_id} | carried(
                    event, ("name", "lost_reason"), required=("name",)
                )
        return None

    def _touch(
        self, curs: Cursor[DictRow], table: Identifier, values: dict[str, Any], event: Any
    ) -> None:
        values = {**values, "version": event.originator_version, "updated_at": event.timestamp}
        curs.execute(_update(table, values), [*values.values(), event.originator_id])


def _recorded_row(event: Any) -> tuple[Any, ...]:
    return (
        event.originator_id,
        event.partner_id,
        event.module,
        event.kind,
        _text(event.reference),
        event.date,
        storable_amount(event.amount),
        event.currency,
        event.status,
        storable_amount(event.amount_paid),
        event.originator_version,
        event.timestamp,
        event.timestamp,
        direction_of(event.kind, event.direction),
        _jsonb(event.terms),
        _jsonb(event.due_dates),
    )


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _created_row(event: Any) -> tuple[Any, ...]:
    values = event.values
    revenue = values.get("expected_revenue") or {}
    return (
        event.originator_id,
        event.partner_id,
        _text(values.get("name")),
        storable_amount(revenue.get("amount")),
        revenue.get("currency"),
        values.get("probability"),
        values.get("stage", "NEW"),
        values.get("salesperson_id"),
        event.originator_version,
        event.timestamp,
        event.timestamp,
    )


def _opportunity_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The columns an `Opportunity.Updated` writes."""
    changes = dict(changes)
    if "name" in changes:  # never cleared: None is an erased name
        changes["name"] = _text(changes["name"])
    if "expected_revenue" in changes:
        revenue = changes.pop("expected_revenue") or {}
        changes["expected_revenue_amount"] = storable_amount(revenue.get("amount"))
        changes["expected_revenue_currency"] = revenue.get("currency")
    return changes
