"""`document_totals`: how many documents and how much money each month, module, kind,
currency and status has, kept in the same transaction as the `documents` rows by
statement-level triggers (the rows before -1, after +1, grouped, added with one upsert;
cells that fall to zero deleted), as app/projections/partner_counts.py keeps the partner
cube. `documentTotals` answers from it when no partner is named."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from app.projections.tables import statement_triggers

CELL = ("month", "module", "kind", "currency", "status")
_VALUES = (
    "(date_trunc('month', r.date))::date AS month, r.module, r.kind, r.currency, r.status, "
    "{sign}::bigint AS d, {sign} * coalesce(r.amount, 0) AS amount"
)


class DocumentTotals:
    """The totals of the documents table named with `prefix`; `apply` does nothing:
    the triggers keep them."""

    def __init__(self, schema: str, prefix: str = "") -> None:
        self.schema = schema
        self.prefix = prefix
        self.names: tuple[str, ...] = (f"{prefix}document_totals",)
        self.table = Identifier(schema, self.names[0])

    def create_statements(self) -> list[Composed]:
        t = self.table
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (month date NOT NULL, module text NOT NULL, "
                "kind text NOT NULL, currency text, status text NOT NULL, n bigint NOT NULL, "
                "amount numeric NOT NULL)"
            ).format(t=t),
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {t} ({c}) NULLS NOT DISTINCT").format(
                Identifier(f"{self.names[0]}_cell"), t=t, c=_cell()
            ),
            *(
                SQL(
                    "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS "
                    "$totals$ DECLARE emptied tid[]; BEGIN {body} RETURN NULL; END $totals$"
                ).format(f=self._function(event), body=self._dispatch(event))
                for event in ("INSERT", "UPDATE", "DELETE")
            ),
        ]

    def query_index_statements(self) -> list[Composed]:
        """The triggers, then the totals counted from the rows when there are none yet
        (a rebuild's replay, or tables made before them)."""
        documents = Identifier(self.schema, f"{self.prefix}documents")
        return [
            *statement_triggers("totals", documents, self._function),
            SQL(
                "INSERT INTO {t} ({c}, n, amount) SELECT {c}, sum(d), sum(amount) FROM "
                "(SELECT {values} FROM {documents} r) g WHERE NOT EXISTS (SELECT 1 FROM {t}) "
                "GROUP BY {c}"
            ).format(
                t=self.table,
                c=_cell(),
                values=SQL(_VALUES.format(sign="1")),
                documents=documents,
            ),
        ]

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        return None  # the triggers keep the totals

    def _function(self, event: str) -> Identifier:
        return Identifier(self.schema, f"{self.prefix}totals_documents_{event.lower()}")

    def _dispatch(self, event: str) -> Composed:
        """This prefix's tables, or the live ones once a rebuild's swap renamed them."""
        body = self._body(event, self.prefix)
        if not self.prefix:
            return body
        return SQL("IF TG_TABLE_NAME = {} THEN {} ELSE {} END IF;").format(
            Literal(f"{self.prefix}documents"), body, self._body(event, "")
        )

    def _body(self, event: str, prefix: str) -> Composed:
        t = Identifier(self.schema, f"{prefix}document_totals")
        sides = []
        if event != "INSERT":
            sides.append(SQL("SELECT {} FROM old_rows r").format(SQL(_VALUES.format(sign="-1"))))
        if event != "DELETE":
            sides.append(SQL("SELECT {} FROM new_rows r").format(SQL(_VALUES.format(sign="1"))))
        # The cells that fall to zero, found by the upsert itself, deleted by their ctid.
        return SQL(
            "WITH up AS (INSERT INTO {t} AS c ({c}, n, amount) SELECT {c}, sum(d), sum(amount) "
            "FROM ({sides}) g GROUP BY {c} HAVING sum(d) <> 0 OR sum(amount) <> 0 "
            "ON CONFLICT ({c}) DO UPDATE SET n = c.n + excluded.n, "
            "amount = c.amount + excluded.amount RETURNING c.ctid AS at, c.n) "
            "SELECT array_agg(at) INTO emptied FROM up WHERE n = 0; "
            "IF emptied IS NOT NULL THEN DELETE FROM {t} WHERE ctid = ANY(emptied); END IF;"
        ).format(t=t, c=_cell(), sides=SQL(" UNION ALL ").join(sides))


def _cell() -> Composed:
    return SQL(", ").join(Identifier(c) for c in CELL)
