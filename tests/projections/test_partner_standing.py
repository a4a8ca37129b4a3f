"""The per-partner values the registry projection keeps for the filters `hasOverdueInvoices`
and `creditExceeded` (app/projections/partner_standing.py), through HTTP: they follow the
documents, the credit limit, the time zone and the company of a contact, and a rebuild
gives the same rows as the live projection."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql
from tests.schema.catalog_ops import set_terms
from tests.schema.partner_ops import create, update
from tests.schema.test_due_dates import at, recorded
from tests.schema.test_due_dates import update as update_document
from tests.schema.test_merge import merge, unmerge
from tests.schema.test_relationship import set_clock
from tests.test_cli_projections import run_cli

NAMES = """query($f: PartnerFilter) { partners(filter: $f, orderBy: [{field: NAME}]) {
  nodes { name } } }"""
OPEN = {"date": "2026-11-01", "amount": "100", "status": "OPEN"}


def names(client: TestClient, **f: Any) -> list[str]:
    return [node["name"] for node in gql(client, NAMES, {"f": f})["partners"]["nodes"]]


def standing(db: Database) -> list[dict[str, Any]]:
    with psycopg.connect(db.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT id, invoices_overdue_from, overdue_from, credit_exceeded FROM partners "
            "ORDER BY id"
        ).fetchall()


def test_an_invoice_paid_or_cancelled_is_no_longer_overdue(client: TestClient) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    paid = recorded(client, azure, "INVOICE", reference="I1", **OPEN)
    cancelled = recorded(client, azure, "INVOICE", reference="I2", **OPEN)
    set_clock(client, at("2026-11-05"))
    assert names(client, hasOverdueInvoices=True) == ["Azure Interior"]
    update_document(client, paid, status="PAID")
    assert names(client, hasOverdueInvoices=True) == ["Azure Interior"]  # one is left
    update_document(client, cancelled, status="CANCELLED")
    assert names(client, hasOverdueInvoices=True) == []
    assert names(client, hasOverdueInvoices=False) == ["Azure Interior"]


def test_a_partly_paid_invoice_is_overdue_from_its_next_instalment(client: TestClient) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    invoice = recorded(client, azure, "INVOICE", reference="I1", **OPEN)
    set_clock(client, at("2026-11-05"))
    update_document(client, invoice, status="PARTIALLY_PAID", amountPaid="40")
    assert names(client, hasOverdueInvoices=True) == ["Azure Interior"]
    update_document(client, invoice, amount="40")  # nothing left to pay
    assert names(client, hasOverdueInvoices=True) == []


def test_changing_the_credit_limit_flips_credit_exceeded(client: TestClient) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    recorded(client, azure, "INVOICE", reference="I1", **OPEN)
    assert names(client, creditExceeded=True) == []  # no limit
    limit = {"amount": "99.99", "currency": "EUR"}
    assert set_terms(client, id=azure["id"], creditLimit=limit)["userErrors"] == []
    assert names(client, creditExceeded=True) == ["Azure Interior"]
    limit = {"amount": "100", "currency": "EUR"}  # equal is fine
    assert set_terms(client, id=azure["id"], creditLimit=limit)["userErrors"] == []
    assert names(client, creditExceeded=True) == []
    limit = {"amount": "1", "currency": "USD"}  # no exposure in dollars
    assert set_terms(client, id=azure["id"], creditLimit=limit)["userErrors"] == []
    assert names(client, creditExceeded=True) == []


def test_a_contacts_invoices_follow_it_to_another_company(client: TestClient) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    wood = create(client, kind="COMPANY", name="Wood Corner")
    for company in (azure, wood):
        limit = {"amount": "50", "currency": "EUR"}
        assert set_terms(client, id=company["id"], creditLimit=limit)["userErrors"] == []
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    recorded(client, brandon, "INVOICE", reference="I1", **OPEN)
    set_clock(client, at("2026-11-05"))
    assert names(client, hasOverdueInvoices=True) == ["Azure Interior", "Brandon Freeman"]
    assert names(client, creditExceeded=True) == ["Azure Interior"]
    assert update(client, id=brandon["id"], parentId=wood["id"])["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == ["Brandon Freeman", "Wood Corner"]
    assert names(client, creditExceeded=True) == ["Wood Corner"]
    assert update(client, id=brandon["id"], parentId=None)["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == ["Brandon Freeman"]
    assert names(client, creditExceeded=True) == []


def test_a_contact_takes_its_companys_time_zone_until_it_has_its_own(client: TestClient) -> None:
    kiwi = create(client, kind="COMPANY", name="Kiwi Ltd")
    ann = create(client, kind="PERSON", name="Ann", parentId=kiwi["id"])
    recorded(client, ann, "INVOICE", reference="I1", **OPEN)
    set_clock(client, at("2026-11-01", hour=12))  # 01:00 on 2 November in Auckland
    assert names(client, hasOverdueInvoices=True) == []
    assert update(client, id=kiwi["id"], tz="Pacific/Auckland")["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == ["Ann", "Kiwi Ltd"]
    assert update(client, id=ann["id"], tz="Europe/Brussels")["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == []


def test_a_rebuild_gives_the_rows_the_live_projection_kept(
    client: TestClient, db: Database
) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior", tz="Europe/Brussels")
    wood = create(client, kind="COMPANY", name="Wood Corner", tz="Pacific/Auckland")
    limit = {"amount": "120", "currency": "EUR"}
    assert set_terms(client, id=azure["id"], creditLimit=limit)["userErrors"] == []
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    colleen = create(client, kind="PERSON", name="Colleen", parentId=wood["id"], tz="UTC")
    recorded(client, brandon, "INVOICE", reference="I1", **OPEN)
    recorded(client, colleen, "INVOICE", reference="I2", **{**OPEN, "date": "2026-10-01"})
    paid = recorded(client, wood, "INVOICE", reference="I3", **OPEN)
    update_document(client, paid, status="PAID")
    recorded(client, azure, "SALE_ORDER", reference="S1", module="SALES", amount="30",
             date="2026-11-02", status="CONFIRMED")  # fmt: skip
    assert update(client, id=brandon["id"], parentId=wood["id"])["userErrors"] == []
    assert update(client, id=brandon["id"], parentId=azure["id"])["userErrors"] == []
    live = standing(db)
    assert sum(row["credit_exceeded"] for row in live) == 1
    assert sum(row["overdue_from"] is not None for row in live) == 4
    assert run_cli(db, "projections", "rebuild").exit_code == 0
    assert standing(db) == live


def test_a_merge_moves_the_overdue_invoice_and_an_unmerge_brings_it_back(
    client: TestClient,
) -> None:
    azure = create(client, kind="COMPANY", name="Azure Interior")
    wood = create(client, kind="COMPANY", name="Wood Corner")
    brandon = create(client, kind="PERSON", name="Brandon", parentId=azure["id"])
    brandon_too = create(client, kind="PERSON", name="Brandon too", parentId=wood["id"])
    recorded(client, brandon_too, "INVOICE", reference="I1", **OPEN)
    set_clock(client, at("2026-11-05"))
    assert names(client, hasOverdueInvoices=True) == ["Brandon too", "Wood Corner"]
    merged = merge(client, destinationId=brandon["id"], sourceIds=[brandon_too["id"]])
    assert merged["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == ["Azure Interior", "Brandon"]
    assert unmerge(client, sourceId=brandon_too["id"])["userErrors"] == []
    assert names(client, hasOverdueInvoices=True) == ["Brandon too", "Wood Corner"]
