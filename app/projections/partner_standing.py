"""What the partners filters `hasOverdueInvoices` and `creditExceeded` read, kept on each
partner's row by the registry projection in the transaction of the documents that change it
(issue 18), so that the filters cost a column test instead of summing documents.

- `invoices_overdue_from`: the instant from which the earliest unpaid instalment of the
  partner's own open invoices is overdue, i.e. the midnight after its due date where the
  partner is (its time zone, else its commercial partner's, else UTC). An instant, not a
  date, so that it stays right as days pass and the minimum over partners in different
  time zones means something.
- `overdue_from`: the same over the partner's view: for a commercial partner, the
  earliest of its own and its contacts'; for another partner, its own.
  `hasOverdueInvoices` ⇔ `overdue_from <= now`.
- `credit_exceeded`: a commercial partner with a credit limit whose exposure (in the
  limit's currency, `EXPOSURE`) is over it.

A batch notes the partners its events concern (`StandingChanges`); once the batch's rows
are written, two statements refresh those partners, their commercial partners and the
commercial partners they had before the batch. A rebuild fills its tables first and then
computes every partner at once (`refresh_all`), which must give the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.domain import partner as domain
from app.domain.document import Document
from app.projections.documents import EXPOSED

OPEN_INVOICE = SQL(
    "d.kind = 'INVOICE' AND d.status IN ('OPEN', 'PARTIALLY_PAID') AND d.due_date IS NOT NULL"
)
"""An invoice with an instalment left to pay (`due_date`: the earliest such instalment)."""

EXPOSURE = SQL(
    "(SELECT COALESCE(sum(CASE WHEN kind = 'SALE_ORDER' THEN amount "
    "WHEN kind = 'INVOICE' THEN amount - COALESCE(amount_paid, 0) "
    "ELSE COALESCE(amount_paid, 0) - amount END), 0.00) FROM {d} "
    "WHERE partner_id IN (SELECT id FROM {t} WHERE commercial_partner_id = {c}) "
    "AND currency = {currency} AND ({exposed}))"
)
"""The exposure of the commercial partner `c` in `currency`: open invoices' residual less
open credit notes', plus confirmed sale orders (app/domain/credit.py), read through the
partial index on the documents that count (`exposed`, the same condition)."""

ROOT_FIELDS = frozenset({"parent_id", "tz"})
"""A partner's fields whose change moves its documents to another commercial partner or
into another time zone: the partner and its contacts are computed again."""
CREDIT_FIELDS = frozenset({"credit_limit"})


@dataclass
class StandingChanges:
    """The partners a batch's events concern, noted before the batch is applied."""

    partners: set[str] = field(default_factory=set)
    """Their own invoices, or their credit limit, may have changed."""
    documents: set[str] = field(default_factory=set)
    """Documents whose status or amounts changed (their partner is read at refresh)."""
    families: set[str] = field(default_factory=set)
    """Partners whose commercial partner or time zone may have changed, with their contacts."""

    def note(self, event: Any) -> None:
        match event:
            case Document.Recorded():
                self.partners.add(str(event.partner_id))
            case Document.Moved():
                self.partners.update((str(event.partner_id), str(event.previous_partner_id)))
            case Document.StatusChanged() | Document.AmountsChanged():
                self.documents.add(str(event.originator_id))
            case domain.Partner.Reparented():
                self.families.add(str(event.originator_id))
            case domain.Partner.Registered():
                if event.values.get("credit_limit"):  # a limit below zero is exceeded at once
                    self.partners.add(str(event.originator_id))
            case (
                domain.Partner.Updated()
                | domain.Partner.CommercialTermsSet()
                | domain.Partner.Absorbed()
                | domain.Partner.Separated()
            ):
                changed = set(event.changes)
                if ROOT_FIELDS & changed:
                    self.families.add(str(event.originator_id))
                elif CREDIT_FIELDS & changed:
                    self.partners.add(str(event.originator_id))

    def __bool__(self) -> bool:
        return bool(self.partners or self.documents or self.families)


class PartnerStanding:
    """The statements over one partners table and its documents table."""

    def __init__(self, schema: str, partners: Identifier, documents: Identifier) -> None:
        self.function = Identifier(schema, "partnerbook_overdue_from")
        parts = {"t": partners, "d": documents, "f": self.function}
        touched = SQL(
            "SELECT unnest(%(partners)s::uuid[]) "
            "UNION SELECT partner_id FROM {d} WHERE id = ANY(%(documents)s::uuid[]) "
            "UNION SELECT id FROM {t} WHERE commercial_partner_id = ANY(%(families)s::uuid[]) "
            "UNION SELECT id FROM {t} WHERE parent_id = ANY(%(families)s::uuid[]) "
            "UNION SELECT unnest(%(families)s::uuid[])"
        ).format(**parts)
        self._own = (
            SQL(
                "WITH touched(id) AS ({touched}) "
                "UPDATE {t} m SET invoices_overdue_from = x.v FROM (SELECT p.id, {own} AS v "
                "FROM {t} p WHERE p.id IN (SELECT id FROM touched)) x "
                "WHERE m.id = x.id AND m.invoices_overdue_from IS DISTINCT FROM x.v"
            )
            .format(touched=touched, own=self._own_value(partners, documents), **parts)
            .as_string(None)
        )
        self._view = (
            SQL(
                "WITH touched(id) AS ({touched}), targets(id) AS (SELECT id FROM touched "
                "UNION SELECT commercial_partner_id FROM {t} WHERE id IN (SELECT id FROM touched) "
                "UNION SELECT unnest(%(roots)s::uuid[])) "
                "UPDATE {t} c SET overdue_from = x.o, credit_exceeded = x.e FROM (SELECT p.id, "
                "{view} AS o, {exceeded} AS e FROM {t} p WHERE p.id IN (SELECT id FROM targets)) x "
                "WHERE c.id = x.id AND (c.overdue_from, c.credit_exceeded) "
                "IS DISTINCT FROM (x.o, x.e)"
            )
            .format(
                touched=touched,
                view=self._view_value(partners),
                exceeded=self._exceeded(partners, documents),
                **parts,
            )
            .as_string(None)
        )
        self._roots = SQL(
            "SELECT DISTINCT commercial_partner_id FROM {t} WHERE id = ANY(%s::uuid[]) "
            "AND commercial_partner_id IS NOT NULL"
        ).format(t=partners)
        self._all = self._full_statements(partners, documents)

    def _full_statements(self, partners: Identifier, documents: Identifier) -> list[Composed]:
        """`refresh_all`: every partner's standing from the tables as they are."""
        parts = {"t": partners, "d": documents, "f": self.function}
        return [
            SQL(
                "UPDATE {t} SET invoices_overdue_from = NULL, overdue_from = NULL, "
                "credit_exceeded = false WHERE invoices_overdue_from IS NOT NULL "
                "OR overdue_from IS NOT NULL OR credit_exceeded"
            ).format(**parts),
            SQL(
                "UPDATE {t} m SET invoices_overdue_from = {f}(x.due, "
                "COALESCE(m.tz, (SELECT tz FROM {t} WHERE id = m.commercial_partner_id), 'UTC')) "
                "FROM (SELECT d.partner_id, min(d.due_date) AS due FROM {d} d "
                "WHERE {open} GROUP BY d.partner_id) x WHERE m.id = x.partner_id"
            ).format(open=OPEN_INVOICE, **parts),
            SQL(
                "UPDATE {t} c SET overdue_from = x.o FROM (SELECT commercial_partner_id AS id, "
                "min(invoices_overdue_from) AS o FROM {t} WHERE invoices_overdue_from IS NOT NULL "
                "GROUP BY commercial_partner_id) x WHERE c.id = x.id AND c.commercial_partner_id = c.id"
            ).format(**parts),
            SQL(
                "UPDATE {t} SET overdue_from = invoices_overdue_from "
                "WHERE invoices_overdue_from IS NOT NULL "
                "AND commercial_partner_id IS DISTINCT FROM id"
            ).format(**parts),
            SQL(
                "UPDATE {t} p SET credit_exceeded = true WHERE p.credit_limit_amount IS NOT NULL "
                "AND p.commercial_partner_id = p.id AND {exceeded}"
            ).format(exceeded=self._exceeded(partners, documents), **parts),
        ]

    def _own_value(self, t: Identifier, d: Identifier) -> Composed:
        return SQL(
            "(SELECT {f}(min(d.due_date), COALESCE(p.tz, "
            "(SELECT tz FROM {t} WHERE id = p.commercial_partner_id), 'UTC')) "
            "FROM {d} d WHERE d.partner_id = p.id AND {open})"
        ).format(f=self.function, t=t, d=d, open=OPEN_INVOICE)

    @staticmethod
    def _view_value(t: Identifier) -> Composed:
        return SQL(
            "CASE WHEN p.commercial_partner_id = p.id THEN (SELECT min(m.invoices_overdue_from) "
            "FROM {t} m WHERE m.commercial_partner_id = p.id "
            "AND m.invoices_overdue_from IS NOT NULL) ELSE p.invoices_overdue_from END"
        ).format(t=t)

    @staticmethod
    def _exceeded(t: Identifier, d: Identifier) -> Composed:
        exposure = EXPOSURE.format(
            d=d, t=t, c=SQL("p.id"), currency=SQL("p.credit_limit_currency"), exposed=EXPOSED
        )
        return SQL(
            "COALESCE(p.credit_limit_amount IS NOT NULL AND p.commercial_partner_id = p.id "
            "AND {e} > p.credit_limit_amount, false)"
        ).format(e=exposure)

    def create_statements(self) -> list[Composed]:
        """The function giving the midnight after a due date in a time zone: a zone name
        PostgreSQL does not know (its zone data can be older than Python's) counts as UTC
        rather than stopping the projection."""
        return [
            SQL(
                "CREATE OR REPLACE FUNCTION {f}(due date, zone text) RETURNS timestamptz "
                "LANGUAGE plpgsql STABLE AS $$ BEGIN "
                "RETURN (due + 1)::timestamp AT TIME ZONE zone; "
                "EXCEPTION WHEN invalid_parameter_value THEN "
                "RETURN (due + 1)::timestamp AT TIME ZONE 'UTC'; END $$"
            ).format(f=self.function)
        ]

    def roots_before(self, curs: Cursor[DictRow], changes: StandingChanges) -> list[Any]:
        """The commercial partners of `changes.families` before the batch: a partner that
        leaves one must leave nothing of its documents on it."""
        if not changes.families:
            return []
        curs.execute(self._roots, (list(changes.families),))
        return [row["commercial_partner_id"] for row in curs.fetchall()]

    def refresh(self, curs: Cursor[DictRow], changes: StandingChanges, roots: list[Any]) -> None:
        """After the batch's rows: the partners noted, their contacts where their family
        changed, their commercial partners now and `roots`."""
        if not changes:
            return
        params = {
            "partners": list(changes.partners),
            "documents": list(changes.documents),
            "families": list(changes.families),
        }
        curs.execute(self._own, params, prepare=True)
        curs.execute(self._view, {**params, "roots": roots}, prepare=True)

    def refresh_all(self, curs: Cursor[DictRow]) -> None:
        """Every partner at once, from the tables as they are (after a rebuild's replay)."""
        for statement in self._all:
            curs.execute(statement, prepare=False)
