"""`partnerbook demo`: a small registry that shows through GraphQL."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import gql
from tests.docs_examples import README, examples

COMPANIES = """{
  partners(filter: { kind: COMPANY }, first: 100) {
    totalCount
    nodes {
      displayName
      tags { name parent { name } }
      commercialTerms { pricelist { name } customerPaymentTerm { name } }
      children(first: 10) { totalCount nodes { type displayName } }
    }
  }
  all: partners { totalCount }
  overdue: partners(filter: { hasOverdueActivities: true }) { totalCount }
  lateInvoices: partners(filter: { hasOverdueInvoices: true }) { totalCount }
  documents(first: 100) {
    nodes { kind status amountResidual overdue dueDates { dueDate } terms { paymentTerm { name } } }
  }
  partnerFacets { tags { label count } }
}"""


def _demo(db: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["demo", *args], env={"PARTNERBOOK_DATABASE_URL": db.dsn}, catch_exceptions=False
    )
    return result.exit_code, result.output


def test_demo_data_shows_through_graphql(db: Database, settings: Settings, admin_key: str) -> None:
    code, output = _demo(db, "--partners", "200", "--seed", "3")
    assert code == 0, output
    assert "projected and browsable" in output

    with TestClient(create_app(settings), headers=_auth(admin_key)) as client:
        data = gql(client, COMPANIES)

    assert 200 <= data["all"]["totalCount"] < 260
    companies = data["partners"]["nodes"]
    assert data["partners"]["totalCount"] >= 20
    kinds = {child["type"] for c in companies for child in c["children"]["nodes"]}
    assert "CONTACT" in kinds and kinds & {"INVOICE", "DELIVERY"}
    assert any(c["commercialTerms"]["pricelist"] for c in companies)
    parents = {t["parent"]["name"] for c in companies for t in c["tags"] if t["parent"]}
    assert "Region" in parents
    assert data["overdue"]["totalCount"] > 0
    statuses = {(d["kind"], d["status"]) for d in data["documents"]["nodes"]}
    assert {kind for kind, _ in statuses} >= {"INVOICE", "QUOTATION"}
    # Documents take their partner's terms; invoices get due dates, some are overdue.
    invoices = [d for d in data["documents"]["nodes"] if d["kind"] == "INVOICE"]
    assert all(d["dueDates"] for d in invoices)
    assert any(d["terms"]["paymentTerm"] for d in invoices)
    assert any(d["overdue"] for d in invoices)
    assert data["lateInvoices"]["totalCount"] > 0
    assert "Region / EMEA" in {t["label"] for t in data["partnerFacets"]["tags"]}


def test_a_seed_loads_once(db: Database) -> None:
    assert _demo(db, "--partners", "20", "--seed", "5")[0] == 0
    code, output = _demo(db, "--partners", "20", "--seed", "5")
    assert code == 1
    assert "already in this registry" in output
    assert _demo(db, "--partners", "20", "--seed", "6")[0] == 0


@pytest.mark.parametrize("partners", ["0", "abc"])
def test_bad_counts_are_refused(db: Database, partners: str) -> None:
    code, _ = _demo(db, "--partners", partners)
    assert code == 2


def _readme_examples() -> list[str]:
    return [example.text for example in examples(README, "## Quickstart")]


def test_the_readme_examples_run_on_demo_data(
    db: Database, settings: Settings, admin_key: str
) -> None:
    examples = _readme_examples()
    assert len(examples) == 3
    assert _demo(db, "--partners", "150", "--seed", "9")[0] == 0
    with TestClient(create_app(settings), headers=_auth(admin_key)) as client:
        overdue, search, create = (gql(client, example) for example in examples)
        assert overdue["partners"]["totalCount"] > 0
        assert overdue["partners"]["nodes"][0]["stats"]["overdueActivityCount"] > 0
        assert search["partnerFacets"]["countries"]
        created = create["createPartner"]
        assert created["userErrors"] == []
        assert created["partner"]["phone"] == "+18709310505"
        again = gql(client, examples[2])["createPartner"]["partner"]
        assert again["id"] == created["partner"]["id"]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
