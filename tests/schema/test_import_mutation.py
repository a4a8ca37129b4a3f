"""importPartners: rows of the Odoo contacts layout through GraphQL."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql, gql_raw

IMPORT = """
mutation($input: ImportPartnersInput!) {
  importPartners(input: $input) {
    created updated unchanged
    rejected { row field message }
    warnings { row field message }
    partners { name externalId parent { name } tags { name } address { country { code } } }
    userErrors { field code message }
  }
}"""

ROWS = [
    {
        "externalId": "x.ann",
        "name": "Ann",
        "isCompany": False,
        "parentExternalId": "x.acme",
        "phone": "extension 12",
    },
    {
        "externalId": "x.acme",
        "name": "Acme",
        "isCompany": True,
        "country": "base.uk",
        "tags": ["Region / EMEA"],
        "isCustomer": True,
    },
    {"externalId": "x.bad", "name": "Bad", "email": "nope"},
]


def test_import_rows_then_again_changes_nothing(client: TestClient, db: Database) -> None:
    result = gql(client, IMPORT, {"input": {"rows": ROWS}})["importPartners"]
    assert (result["created"], result["updated"], result["unchanged"]) == (2, 0, 0)
    assert result["rejected"] == [
        {"row": 3, "field": "email", "message": result["rejected"][0]["message"]}
    ]
    assert [(w["row"], w["field"]) for w in result["warnings"]] == [(1, "phone")]
    by_name = {p["name"]: p for p in result["partners"]}
    assert by_name["Ann"]["parent"] == {"name": "Acme"}
    assert by_name["Acme"]["tags"] == [{"name": "EMEA"}]
    assert by_name["Acme"]["address"]["country"] == {"code": "GB"}
    assert by_name["Acme"]["externalId"] == "x.acme"
    found = gql(client, '{ partners(filter: {externalId: "x.ann"}) { edges { node { name } } } }')
    assert found["partners"]["edges"] == [{"node": {"name": "Ann"}}]
    events = event_count(db)
    again = gql(client, IMPORT, {"input": {"rows": ROWS[:2]}})["importPartners"]
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert event_count(db) == events


def test_a_dry_run_writes_nothing(client: TestClient, db: Database) -> None:
    before = event_count(db)
    result = gql(client, IMPORT, {"input": {"rows": ROWS, "dryRun": True}})["importPartners"]
    assert (result["created"], result["partners"]) == (2, None)
    assert event_count(db) == before


def test_more_than_1000_rows_are_refused(client: TestClient, db: Database) -> None:
    rows = [{"name": f"P{i}"} for i in range(1001)]
    result = gql(client, IMPORT, {"input": {"rows": rows}})["importPartners"]
    assert result["userErrors"][0]["code"] == "VALIDATION"
    assert result["userErrors"][0]["field"] == ["rows"]
    assert result["created"] == 0
    assert event_count(db) == 0


def test_more_rows_than_the_general_list_limit_import(client: TestClient, db: Database) -> None:
    """importPartners takes up to 1,000 rows, past the 100-item limit of other lists; the
    lists inside a row keep that limit."""
    rows = [{"name": f"Bulk {i}", "isCompany": True} for i in range(150)]
    result = gql(client, IMPORT, {"input": {"rows": rows}})["importPartners"]
    assert (result["created"], result["userErrors"]) == (150, [])
    tags = [f"t{i}" for i in range(101)]
    body = gql_raw(client, IMPORT, {"input": {"rows": [{"name": "Tagged", "tags": tags}]}})
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
