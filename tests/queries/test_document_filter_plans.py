"""The partners filters on documents (issue 18) read no document at query time: the
projection keeps on each partner's row when its view first has an overdue invoice and
whether its credit is exceeded (app/projections/partner_standing.py), and the partners
that have them are found through partial indexes. Checked on the plans (sequential scans
disabled, as on a large table the planner would rather not do them), so that 100k
partners cost what their few overdue invoices or exceeded credits cost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.sql import SQL
from starlette.testclient import TestClient

from app.infra.database import Database
from app.queries.partners.filters import PartnerFilter, where_clause
from tests.conftest import gql
from tests.schema.catalog_ops import set_terms
from tests.schema.partner_ops import create

RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  userErrors { code } } }"""


def reads(db: Database, f: PartnerFilter) -> set[str]:
    """How the filter's plan reads its tables: index names, and "Seq Scan <table>"."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    query = SQL("EXPLAIN (FORMAT JSON) SELECT p.id FROM partners p WHERE {}").format(
        where_clause(f, now)
    )
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(query).fetchone()
    assert plan is not None
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.add(node["Index Name"])
        if node["Node Type"] == "Seq Scan":
            found.add(f"Seq Scan {node['Relation Name']}")
        for child in node.get("Plans", ()):
            walk(child)

    walk((plan[0] if isinstance(plan[0], list) else json.loads(plan[0]))[0]["Plan"])
    return found


def test_the_filters_on_documents_read_the_partners_rows_only(
    client: TestClient, db: Database
) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    limit = {"amount": "10", "currency": "EUR"}
    assert set_terms(client, id=azure["id"], creditLimit=limit)["userErrors"] == []
    values = {
        "partnerId": azure["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "INV/1",
        "date": "2026-11-01",
        "amount": "100",
        "currency": "EUR",
        "status": "OPEN",
    }
    assert gql(client, RECORD, {"input": values})["recordDocument"]["userErrors"] == []

    for f in (
        PartnerFilter(has_overdue_invoices=True),
        PartnerFilter(has_overdue_invoices=False),
        PartnerFilter(credit_exceeded=True),
        PartnerFilter(credit_exceeded=False),
    ):
        found = reads(db, f)
        assert not any("documents" in name for name in found), (f, found)
        wanted = f.has_overdue_invoices or f.credit_exceeded
        # The complement (false) is most partners: their table is read whole, as when
        # listing everyone; the partners that have them, through their partial index.
        if wanted:
            assert "Seq Scan partners" not in found, (f, found)
            index = "overdue_from" if f.has_overdue_invoices else "credit_exceeded"
            assert f"partners_{index}" in found, (f, found)
