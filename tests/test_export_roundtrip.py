"""Export -> import keeps what the Odoo layout could blur: a state whose name another
subdivision of its country shares (Dhaka the district, BD-13, and Dhaka the division,
BD-C), and tag names holding a comma or a backslash, which a `category_id` cell joins
with commas. `importPartners` reads each element of `tags` as one tag."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql
from tests.schema.catalog_ops import CREATE_TAG
from tests.schema.partner_ops import create
from tests.test_export import env, other_db, picture  # noqa: F401  (fixtures)
from tests.test_import import query, run, summary

STATES = [("BD", "13"), ("BD", "C"), ("EE", "714"), ("EE", "74"), ("ES", "S"), ("US", "CA")]
TAGS = ["Smith, Jones & Co", "C:\\Temp", "Ends in \\", "A\\,B", "=Evil, Inc"]


def tag(client: TestClient, name: str, parent: str | None = None) -> str:
    made = gql(client, CREATE_TAG, {"input": {"name": name, "parentId": parent}})["createTag"]
    assert made["userErrors"] == [], made
    tag_id: str = made["tag"]["id"]
    return tag_id


def test_states_and_tag_names_survive_export_and_import(
    env: Database,  # noqa: F811
    other_db: Database,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for country, state in STATES:
        create(
            client,
            kind="COMPANY",
            name=f"State {country}-{state}",
            countryCode=country,
            stateCode=state,
        )
    tags = [tag(client, name) for name in TAGS]
    region = tag(client, "Region, West")
    tags.append(tag(client, "Sub, Part", region))
    create(client, kind="COMPANY", name="Comma Tag Co", tagIds=tags)
    out = tmp_path / "export.csv"
    run("export", "partners", "--output", str(out))
    with out.open(newline="", encoding="utf-8") as handle:
        cells = {r["name"]: r for r in csv.DictReader(handle)}
    assert cells["State BD-13"]["state_id"] == "Dhaka (BD-13)"
    assert cells["State BD-C"]["state_id"] == "Dhaka (BD)"
    assert cells["State US-CA"]["state_id"] == "California (US)"

    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", other_db.dsn)
    counts = summary(run("import", "partners", str(out)).output)
    assert (counts["created"], counts["rejected"], counts["warnings"]) == (7, 0, 0)
    assert picture(other_db) == picture(env)
    states = set(query(other_db, "SELECT country_code, state_code FROM partners"))
    assert states >= set(STATES)
    again = summary(run("import", "partners", str(out)).output)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 7)


IMPORT = """
mutation($rows: [PartnerImportRow!]!) {
  importPartners(input: {rows: $rows}) {
    created rejected { row field message } partners { tags { name fullName } }
  }
}"""


def test_import_partners_reads_each_element_of_tags_as_one_tag(
    env: Database,  # noqa: F811
    client: TestClient,
) -> None:
    rows = [{"externalId": "api.tag1", "name": "Tag One", "tags": ["Alpha,Beta", "Region / EMEA"]}]
    answer = gql(client, IMPORT, {"rows": rows})["importPartners"]
    assert (answer["created"], answer["rejected"]) == (1, [])
    full_names = sorted(t["fullName"] for t in answer["partners"][0]["tags"])
    assert full_names == ["Alpha,Beta", "Region / EMEA"]
