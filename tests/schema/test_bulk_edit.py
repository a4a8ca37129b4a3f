"""bulkUpdatePartners over HTTP: counts, dry run, batches, idempotency, limits, roles."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
from starlette.testclient import TestClient

from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import as_key, event_count, gql, gql_raw, key_for

BULK = """mutation($input: BulkUpdatePartnersInput!) { bulkUpdatePartners(input: $input) {
  matched changed unchanged refusedCount refused { id userErrors { code message } } jobId
  userErrors { field code message } } }"""
IMPORT = """mutation($rows: [PartnerImportRow!]!) { importPartners(input: {rows: $rows}) {
  created userErrors { code message } } }"""
SEGMENT = """mutation { createSegment(input: {name: "Belgium", filter: {countryCode: "BE"}}) {
  segment { id memberCount } } }"""
TAG = """mutation($name: String!) { createTag(input: {name: $name}) { tag { id } } }"""
CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id version } } }"""
TAGGED = """query($tag: ID!) { partners(filter: {tagIds: [$tag]}) { totalCount } }"""


def topics_since(db: Database, position: int) -> Counter[str]:
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute(
            "SELECT topic FROM partnerbook_events WHERE notification_id > %s", (position,)
        ).fetchall()
    return Counter(str(r[0]).rpartition(":")[2] for r in rows)


def last_position(db: Database) -> int:
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT coalesce(max(notification_id), 0) FROM partnerbook_events")
        return int(row.fetchone()[0])  # type: ignore[index]


def bulk(client: TestClient, **input: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(client, BULK, {"input": input})["bulkUpdatePartners"]
    return result


def import_partners(client: TestClient, count: int, tagged: int) -> None:
    rows = [
        {
            "externalId": f"x.p{i}",
            "name": f"Partner {i:04}",
            "isCompany": True,
            "country": "base.be",
            **({"tags": ["VIP"]} if i < tagged else {}),
        }
        for i in range(count)
    ]
    for start in range(0, count, 100):
        done = gql(client, IMPORT, {"rows": rows[start : start + 100]})["importPartners"]
        assert done["userErrors"] == []


def tag_id(client: TestClient, name: str) -> str:
    found = gql(client, "{ tags(first: 100) { nodes { id name } } }")["tags"]["nodes"]
    return str(next(t["id"] for t in found if t["name"] == name))


def test_a_thousand_partner_segment_dry_run_then_real_then_repeated(
    client: TestClient, db: Database
) -> None:
    import_partners(client, 1000, tagged=400)
    segment = gql(client, SEGMENT)["createSegment"]["segment"]
    assert segment["memberCount"] == 1000
    vip = tag_id(client, "VIP")
    input = {
        "segmentId": segment["id"],
        "changes": {"addTagIds": [vip]},
        "idempotencyKey": "tag-belgium-vip",
        "reason": "campaign 12",
    }
    before = last_position(db)
    dry = bulk(client, **input, dryRun=True)
    assert (dry["matched"], dry["changed"], dry["unchanged"], dry["jobId"]) == (
        1000,
        600,
        400,
        None,
    )
    assert last_position(db) == before
    done = bulk(client, **input)
    assert (done["matched"], done["changed"], done["unchanged"]) == (1000, 600, 400)
    assert done["refused"] == [] and done["jobId"] is not None
    assert topics_since(db, before) == Counter(
        {"Partner.Updated": 600, "BulkEdit.Started": 1, "BulkEdit.Finished": 1}
    )
    assert gql(client, TAGGED, {"tag": vip})["partners"]["totalCount"] == 1000
    with psycopg.connect(db.conninfo()) as conn:
        audits = conn.execute(
            "SELECT count(DISTINCT (actor, request_id, reason)) FROM timeline "
            "WHERE kind = 'PARTNER_UPDATED' AND reason = 'campaign 12'"
        ).fetchone()
    assert audits == (1,)
    middle = last_position(db)
    again = bulk(client, **input)
    assert again == done
    assert last_position(db) == middle


def test_a_filtered_bulk_edit_sent_again_answers_its_outcome(
    client: TestClient, db: Database
) -> None:
    """The key's digest was taken over the partners the filter matched: once the edit had
    archived them, the same request matched none, and its retry was refused as another
    bulk edit. The digest is of the request as sent (its filter, search or segment)."""
    for name in ("Retry A", "Retry B", "Retry C"):
        gql(client, CREATE, {"name": name})
    input = {
        "filter": {"kind": "COMPANY"},
        "search": "Retry",
        "changes": {"archive": True},
        "idempotencyKey": "archive-retry",
    }
    done = bulk(client, **input)
    assert (done["matched"], done["changed"], done["userErrors"]) == (3, 3, [])
    middle = last_position(db)
    assert bulk(client, **input) == done
    assert last_position(db) == middle
    other = bulk(client, **{**input, "search": "Retry A"})
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ]


def test_the_same_key_for_another_bulk_edit_is_refused(client: TestClient, db: Database) -> None:
    a = gql(client, CREATE, {"name": "A"})["createPartner"]["partner"]
    bulk(client, ids=[a["id"]], changes={"isCustomer": True}, idempotencyKey="k1")
    before = event_count(db)
    other = bulk(client, ids=[a["id"]], changes={"isSupplier": True}, idempotencyKey="k1")
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ]
    assert event_count(db) == before


def test_archived_and_unknown_partners_are_refused_one_by_one(
    client: TestClient, db: Database
) -> None:
    a = gql(client, CREATE, {"name": "A"})["createPartner"]["partner"]
    b = gql(client, CREATE, {"name": "B"})["createPartner"]["partner"]
    gql(
        client,
        "mutation($id: ID!) { archivePartner(input: {id: $id}) { userErrors { code } } }",
        {"id": b["id"]},
    )
    done = bulk(client, ids=[a["id"], b["id"]], changes={"isCustomer": True})
    assert (done["matched"], done["changed"], done["unchanged"], done["refusedCount"]) == (
        2,
        1,
        0,
        1,
    )
    assert done["refused"][0]["id"] == b["id"]
    assert [e["code"] for e in done["refused"][0]["userErrors"]] == ["ARCHIVED"]
    archived = bulk(client, ids=[a["id"], b["id"]], changes={"archive": True})
    assert (archived["changed"], archived["unchanged"]) == (1, 1)


def test_bad_requests_change_nothing(client: TestClient, db: Database) -> None:
    a = gql(client, CREATE, {"name": "A"})["createPartner"]["partner"]
    before = event_count(db)
    for input, field in (
        ({"changes": {"isCustomer": True}}, None),
        ({"ids": [a["id"]], "filter": {}, "changes": {"isCustomer": True}}, None),
        ({"ids": [a["id"]], "changes": {}}, ["changes"]),
        (
            {"ids": [a["id"]], "changes": {"archive": True, "isCustomer": True}},
            ["changes", "archive"],
        ),
        ({"ids": [a["id"]], "changes": {"addTagIds": [a["id"]]}}, ["addTagIds"]),
        ({"ids": ["nonsense"], "changes": {"isCustomer": True}}, ["ids"]),
    ):
        refused = bulk(client, **input)
        assert refused["userErrors"] and refused["userErrors"][0]["field"] == field, input
        assert refused["changed"] == 0
    assert event_count(db) == before


def test_an_archived_tag_cannot_be_added_in_bulk(client: TestClient, db: Database) -> None:
    a = gql(client, CREATE, {"name": "A"})["createPartner"]["partner"]
    tag = gql(client, TAG, {"name": "Old"})["createTag"]["tag"]["id"]
    archive = "mutation($id: ID!) { archiveTag(input: {id: $id}) { userErrors { code } } }"
    assert gql(client, archive, {"id": tag})["archiveTag"]["userErrors"] == []
    before = event_count(db)
    refused = bulk(client, ids=[a["id"]], changes={"addTagIds": [tag]})
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["addTagIds"], "ARCHIVED")]
    assert event_count(db) == before


def test_more_partners_than_the_limit_are_refused_before_any_is_loaded(
    settings: Settings, admin_key: str, db: Database
) -> None:
    small = settings.model_copy(update={"bulk_edit_limit": 2})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(small), headers=headers) as client:
        for name in "ABC":
            gql(client, CREATE, {"name": name})
        before = event_count(db)
        refused = bulk(client, filter={}, changes={"isCustomer": True})
        assert [e["code"] for e in refused["userErrors"]] == ["VALIDATION"]
        assert "at most 2" in refused["userErrors"][0]["message"]
        assert event_count(db) == before


def test_a_huge_ids_list_is_refused_before_any_work(client: TestClient, db: Database) -> None:
    """Over the list limit (100) or the body limit: refused before the ids are read."""
    before = event_count(db)
    for size in (101, 100_000):
        ids = ["UGFydG5lcjowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"] * size
        variables = {"input": {"ids": ids, "changes": {"isCustomer": True}}}
        response = client.post("/graphql", json={"query": BULK, "variables": variables})
        body = response.json()
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert event_count(db) == before


def test_roles_that_may_not_change_partners_may_not_bulk_edit(
    client: TestClient, db: Database
) -> None:
    a = gql(client, CREATE, {"name": "A"})["createPartner"]["partner"]
    before = event_count(db)
    for role in ("viewer", "auditor"):
        as_key(client, key_for(db, role))
        body = gql_raw(client, BULK, {"input": {"ids": [a["id"]], "changes": {"archive": True}}})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert event_count(db) == before
    as_key(client, key_for(db, "editor"))
    assert bulk(client, ids=[a["id"]], changes={"archive": True})["changed"] == 1
