"""mergePartners and unmergePartner, seen through GraphQL and the read models.

The round trip compares full dumps of every read-model table except `timeline` (an
audit log: merge and unmerge append entries to it, by design), leaving out in the
other tables only the columns that record when and how often a row changed
(`version`, `updated_at`, and the partners' `position`, the event that last touched
the row): merge + unmerge are two more events on each record they touch."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from app.domain import merge as merge_rules
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import ADD_TAGS, create_tag
from tests.schema.partner_ops import ARCHIVE, RESTORE, create, update
from tests.schema.test_relationship import COMPLETE, OPPORTUNITY, RECORD, SCHEDULE, run

MERGE = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  partner { id name email phone archived mergedInto { id } tags { name } }
  moved { kind id fromId toId } dryRun
  userErrors { field code message } } }"""
UNMERGE = """mutation($input: UnmergePartnerInput!) { unmergePartner(input: $input) {
  partner { id archived mergedInto { id } }
  movedBack { kind id fromId toId } leftInPlace { kind id } fieldsKept
  userErrors { field code message } } }"""
VIEW = """query($id: ID!) { partner(id: $id) {
  id name email archived mergedInto { id name } tags { name }
  children { nodes { id name commercialPartner { id } } }
  activities { nodes { id state partner { id } } }
  documents { nodes { id partner { id } } }
  opportunities { id partner { id } }
  timeline(first: 50) { nodes { kind summary } } } }"""

EXCLUDED_COLUMNS = {"version", "updated_at", "position"}
DUMPED_TABLES = (
    "partners",
    "partner_tags",
    "tags",
    "catalog_entries",
    "activities",
    "documents",
    "opportunities",
    "segments",
)


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the read models (but timeline), without the audit-ish columns."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(db.conninfo()) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        for table in DUMPED_TABLES:
            assert table in tables, table
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(f"SELECT * FROM {table}")
            rows = [
                tuple(sorted((k, str(v)) for k, v in row.items() if k not in EXCLUDED_COLUMNS))
                for row in cur.fetchall()
            ]
            found[table] = sorted(rows)
    return found


def merge(client: TestClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(client, MERGE, {"input": fields})["mergePartners"]
    return result


def unmerge(client: TestClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(client, UNMERGE, {"input": fields})["unmergePartner"]
    return result


def view(client: TestClient, partner: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = gql(client, VIEW, {"id": partner["id"]})["partner"]
    return found


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    """A destination and a duplicate of it with a contact, an activity, a document, an
    opportunity and tags of its own."""
    vip, eu = create_tag(client, "VIP"), create_tag(client, "EU")
    dest = create(client, kind="COMPANY", name="Azure Interior", email="old@azure.example")
    src = create(
        client, kind="COMPANY", name="Azure Interior SA", email="info@azure.example", vat="/"
    )
    for partner, tags in ((dest, [vip]), (src, [vip, eu])):
        gql(client, ADD_TAGS, {"input": {"id": partner["id"], "tagIds": [t["id"] for t in tags]}})
    contact = create(client, kind="PERSON", name="Brandon Freeman", parentId=src["id"])
    activity = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=src["id"],
        activityType="CALL",
        summary="Call back",
        dueDate="2030-01-10",
    )
    document = run(
        client,
        RECORD,
        "recordDocument",
        "document",
        partnerId=src["id"],
        module="SALES",
        kind="QUOTATION",
        reference="S00042",
        date="2026-11-20",
        amount="100",
        currency="EUR",
    )
    opportunity = run(
        client, OPPORTUNITY, "createOpportunity", "opportunity", partnerId=src["id"], name="Chairs"
    )
    own_activity = run(  # the contact's own activity stays the contact's
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=contact["id"],
        activityType="EMAIL",
        dueDate="2030-01-11",
    )
    return {
        "dest": dest,
        "src": src,
        "contact": contact,
        "activity": activity,
        "document": document,
        "opportunity": opportunity,
        "own_activity": own_activity,
        "eu": eu,
    }


def moved_kinds(moved: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["id"]) for m in moved)


def expected_moves(world: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        [
            ("CHILD", world["contact"]["id"]),
            ("ACTIVITY", world["activity"]["id"]),
            ("DOCUMENT", world["document"]["id"]),
            ("OPPORTUNITY", world["opportunity"]["id"]),
            ("TAG", world["eu"]["id"]),
        ]
    )


def test_a_dry_run_answers_the_result_and_records_nothing(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    before_events, before = event_count(db), dump(db)

    result = merge(
        client,
        destinationId=world["dest"]["id"],
        sourceIds=[world["src"]["id"]],
        dryRun=True,
        fieldChoices=[{"field": "email", "fromId": world["src"]["id"]}],
    )

    assert result["userErrors"] == []
    assert result["dryRun"] is True
    assert result["partner"]["email"] == "info@azure.example"
    assert result["partner"]["id"] == world["dest"]["id"]
    assert [t["name"] for t in result["partner"]["tags"]] == ["EU", "VIP"]
    assert moved_kinds(result["moved"]) == expected_moves(world)
    assert {m["fromId"] for m in result["moved"]} == {world["src"]["id"]}
    assert {m["toId"] for m in result["moved"]} == {world["dest"]["id"]}
    assert event_count(db) == before_events
    assert dump(db) == before


def test_a_merge_moves_everything_and_deletes_nothing(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    dest, src = world["dest"], world["src"]

    result = merge(
        client,
        destinationId=dest["id"],
        sourceIds=[src["id"]],
        reason="same company",
        fieldChoices=[{"field": "email", "fromId": src["id"]}],
    )

    assert result["userErrors"] == []
    assert moved_kinds(result["moved"]) == expected_moves(world)
    assert result["partner"]["email"] == "info@azure.example"
    assert sorted(t["name"] for t in result["partner"]["tags"]) == ["EU", "VIP"]
    survivor = view(client, dest)
    assert [c["id"] for c in survivor["children"]["nodes"]] == [world["contact"]["id"]]
    assert survivor["children"]["nodes"][0]["commercialPartner"]["id"] == dest["id"]
    assert {a["id"] for a in survivor["activities"]["nodes"]} == {
        world["activity"]["id"],
        world["own_activity"]["id"],  # a company lists its contacts' activities too
    }
    assert [d["id"] for d in survivor["documents"]["nodes"]] == [world["document"]["id"]]
    assert [o["id"] for o in survivor["opportunities"]] == [world["opportunity"]["id"]]
    kinds = [n["kind"] for n in survivor["timeline"]["nodes"]]
    assert {"PARTNER_ABSORBED", "ACTIVITY_MOVED", "DOCUMENT_MOVED", "OPPORTUNITY_MOVED"} <= set(
        kinds
    )
    restored = gql(client, RESTORE, {"input": {"id": src["id"]}})["restorePartner"]
    assert [e["code"] for e in restored["userErrors"]] == ["VALIDATION"]
    merged = view(client, src)  # still readable by id
    assert merged["archived"] is True
    assert merged["mergedInto"] == {"id": dest["id"], "name": "Azure Interior"}
    assert merged["timeline"]["nodes"][0]["kind"] == "PARTNER_MERGED"
    contact = view(client, world["contact"])
    assert contact["timeline"]["nodes"][0]["kind"] == "PARTNER_REPARENTED"
    own = contact["activities"]["nodes"]
    assert [a["id"] for a in own] == [world["own_activity"]["id"]]
    active = gql(client, "{ partners { nodes { id } } }")["partners"]["nodes"]
    assert src["id"] not in [p["id"] for p in active]
    with psycopg.connect(db.conninfo()) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()
            for t in ("partners", "activities", "documents", "opportunities")
        ]
    assert counts == [(3,), (2,), (1,), (1,)]


def test_merge_then_unmerge_leaves_every_read_model_as_before(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    dest, src = world["dest"], world["src"]
    before = dump(db)
    merge(
        client,
        destinationId=dest["id"],
        sourceIds=[src["id"]],
        fieldChoices=[{"field": "email", "fromId": src["id"]}],
    )
    assert dump(db) != before

    result = unmerge(client, sourceId=src["id"], reason="not the same")

    assert result["userErrors"] == []
    assert result["partner"] == {"id": src["id"], "archived": False, "mergedInto": None}
    assert moved_kinds(result["movedBack"]) == expected_moves(world)
    assert result["leftInPlace"] == [] and result["fieldsKept"] == []
    assert dump(db) == before
    kinds = [n["kind"] for n in view(client, src)["timeline"]["nodes"]]
    assert "PARTNER_UNMERGED" in kinds and "ACTIVITY_MOVED" in kinds
    assert "PARTNER_SEPARATED" in [n["kind"] for n in view(client, dest)["timeline"]["nodes"]]


def test_later_changes_survive_an_unmerge(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    dest, src = world["dest"], world["src"]
    other = create(client, kind="COMPANY", name="Elsewhere Inc")
    merge(
        client,
        destinationId=dest["id"],
        sourceIds=[src["id"]],
        fieldChoices=[{"field": "email", "fromId": src["id"]}],
    )
    run(client, COMPLETE, "completeActivity", "activity", id=world["activity"]["id"])
    assert update(client, id=dest["id"], email="new@azure.example")["userErrors"] == []
    moved_away = update(client, id=world["contact"]["id"], parentId=other["id"])
    assert moved_away["userErrors"] == []

    result = unmerge(client, sourceId=src["id"])

    assert result["userErrors"] == []
    assert result["fieldsKept"] == ["email"]
    assert result["leftInPlace"] == [{"kind": "CHILD", "id": world["contact"]["id"]}]
    restored = view(client, src)
    assert restored["activities"]["nodes"] == [
        {"id": world["activity"]["id"], "state": "DONE", "partner": {"id": src["id"]}}
    ]
    assert restored["children"]["nodes"] == []
    assert [t["name"] for t in restored["tags"]] == ["EU", "VIP"]
    survivor = view(client, dest)
    assert survivor["email"] == "new@azure.example"
    assert [t["name"] for t in survivor["tags"]] == ["VIP"]
    assert [c["id"] for c in view(client, other)["children"]["nodes"]] == [world["contact"]["id"]]


def test_field_choices_revert_on_unmerge_when_unchanged(
    client: TestClient, world: dict[str, Any]
) -> None:
    dest, src = world["dest"], world["src"]
    result = merge(
        client,
        destinationId=dest["id"],
        sourceIds=[src["id"]],
        fieldChoices=[
            {"field": "name", "fromId": src["id"]},
            {"field": "email", "fromId": dest["id"]},
        ],
    )
    assert result["partner"]["name"] == "Azure Interior SA"
    assert result["partner"]["email"] == "old@azure.example"

    unmerge(client, sourceId=src["id"])

    assert view(client, dest)["name"] == "Azure Interior"


def test_several_sources_and_idempotency(client: TestClient, db: Database) -> None:
    dest = create(client, kind="PERSON", name="Colleen Diaz")
    sources = [create(client, kind="PERSON", name=f"Colleen Diaz {i}") for i in range(5)]
    ids = [s["id"] for s in sources]

    first = merge(client, destinationId=dest["id"], sourceIds=ids, idempotencyKey="m-1")
    count = event_count(db)
    again = merge(client, destinationId=dest["id"], sourceIds=ids, idempotencyKey="m-1")

    assert first["userErrors"] == [] and again["userErrors"] == []
    assert again["partner"] == first["partner"]
    assert event_count(db) == count
    for source in sources:
        assert view(client, source)["mergedInto"]["id"] == dest["id"]
    other = create(client, kind="PERSON", name="Someone Else")
    reused = merge(client, destinationId=other["id"], sourceIds=[ids[0]], idempotencyKey="m-1")
    assert reused["userErrors"][0]["field"] == ["idempotencyKey"]


def test_a_merge_marker_stored_under_its_plain_key_still_answers_the_repeat(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merge markers were stored under the client's idempotency key as sent (which may be
    made of a person's values); they are now keyed with the installation's secret. A
    repeat of a merge marked the old way still gets the first answer, and nothing new."""
    from app.application import merging

    dest = create(client, kind="PERSON", name="Oriel Fanshawe")
    ids = [create(client, kind="PERSON", name="Oriel Fanshawe 2")["id"]]
    with monkeypatch.context() as old_code:
        old_code.setattr(merging, "stored_key", lambda key, secret: key)
        first = merge(client, destinationId=dest["id"], sourceIds=ids, idempotencyKey="m-old")
    assert first["userErrors"] == []
    count = event_count(db)
    again = merge(client, destinationId=dest["id"], sourceIds=ids, idempotencyKey="m-old")
    assert again["userErrors"] == [] and again["partner"] == first["partner"]
    assert event_count(db) == count
    other = create(client, kind="PERSON", name="Someone Else")
    reused = merge(client, destinationId=other["id"], sourceIds=ids, idempotencyKey="m-old")
    assert reused["userErrors"][0]["field"] == ["idempotencyKey"]


def refused(client: TestClient, db: Database, **fields: Any) -> list[tuple[Any, str]]:
    before = event_count(db)
    result = merge(client, **fields)
    assert result["partner"] is None and result["moved"] == []
    assert event_count(db) == before
    return [(e["field"], e["code"]) for e in result["userErrors"]]


def test_refusals_record_nothing(client: TestClient, db: Database) -> None:
    company = create(client, kind="COMPANY", name="Gemini Furniture")
    twin = create(client, kind="COMPANY", name="Gemini Furniture Ltd")
    person = create(client, kind="PERSON", name="Gemini Person")
    child = create(client, kind="COMPANY", name="Gemini Branch", parentId=company["id"])
    grandchild = create(client, kind="PERSON", name="Gemini Staff", parentId=child["id"])
    archived = create(client, kind="COMPANY", name="Gemini Archived")
    gql(client, ARCHIVE, {"input": {"id": archived["id"]}})
    merged = create(client, kind="COMPANY", name="Gemini Merged")
    assert merge(client, destinationId=twin["id"], sourceIds=[merged["id"]])["userErrors"] == []
    many = [create(client, kind="COMPANY", name=f"Gemini {i}")["id"] for i in range(6)]
    d = company["id"]

    assert refused(client, db, destinationId=d, sourceIds=[]) == [(["sourceIds"], "VALIDATION")]
    assert refused(client, db, destinationId=d, sourceIds=[d]) == [(["sourceIds"], "VALIDATION")]
    assert refused(client, db, destinationId=d, sourceIds=[twin["id"], twin["id"]]) == [
        (["sourceIds"], "VALIDATION")
    ]
    assert refused(client, db, destinationId=d, sourceIds=many) == [(["sourceIds"], "VALIDATION")]
    assert refused(client, db, destinationId=d, sourceIds=[person["id"]]) == [
        (["sourceIds"], "VALIDATION")
    ]
    assert refused(client, db, destinationId=d, sourceIds=[child["id"]]) == [
        (["sourceIds"], "INVALID_HIERARCHY")
    ]
    assert refused(client, db, destinationId=child["id"], sourceIds=[d]) == [
        (["sourceIds"], "INVALID_HIERARCHY")
    ]
    assert (["sourceIds"], "INVALID_HIERARCHY") in refused(
        client, db, destinationId=company["id"], sourceIds=[grandchild["id"]]
    )
    assert refused(client, db, destinationId=d, sourceIds=[archived["id"]]) == [
        (["sourceIds"], "ARCHIVED")
    ]
    assert refused(client, db, destinationId=d, sourceIds=[merged["id"]]) == [
        (["sourceIds"], "ARCHIVED")
    ]
    assert refused(client, db, destinationId=archived["id"], sourceIds=[d]) == [
        (["destinationId"], "ARCHIVED")
    ]
    assert refused(
        client,
        db,
        destinationId=d,
        sourceIds=[twin["id"]],
        fieldChoices=[{"field": "kind", "fromId": twin["id"]}],
    ) == [(["fieldChoices", "0", "field"], "VALIDATION")]
    assert refused(
        client,
        db,
        destinationId=d,
        sourceIds=[twin["id"]],
        fieldChoices=[{"field": "email", "fromId": person["id"]}],
    ) == [(["fieldChoices", "0", "fromId"], "VALIDATION")]
    assert refused(client, db, destinationId=d, sourceIds=[twin["id"]], expectedVersion=99) == [
        (["expectedVersion"], "CONFLICT")
    ]
    assert refused(client, db, destinationId="nope", sourceIds=[twin["id"]]) == [
        (["destinationId"], "NOT_FOUND")
    ]


def test_unmerging_a_partner_that_is_not_merged_is_refused(
    client: TestClient, db: Database
) -> None:
    partner = create(client, kind="COMPANY", name="Lonely Ltd")
    before = event_count(db)

    result = unmerge(client, sourceId=partner["id"])

    assert result["partner"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["sourceId"], "VALIDATION")]
    assert event_count(db) == before


def test_unmerging_one_of_several_sources(client: TestClient) -> None:
    eu = create_tag(client, "EU")
    dest = create(client, kind="COMPANY", name="Ready Mat")
    one = create(client, kind="COMPANY", name="Ready Mat 1", phone="+32 2 555 01 01")
    two = create(client, kind="COMPANY", name="Ready Mat 2")
    for partner in (one, two):
        gql(client, ADD_TAGS, {"input": {"id": partner["id"], "tagIds": [eu["id"]]}})
    result = merge(
        client,
        destinationId=dest["id"],
        sourceIds=[one["id"], two["id"]],
        fieldChoices=[{"field": "phone", "fromId": one["id"]}],
    )
    assert result["partner"]["phone"] == "+3225550101"
    assert [m["kind"] for m in result["moved"]] == ["TAG"]  # EU, brought by the first

    first = unmerge(client, sourceId=one["id"])

    assert first["userErrors"] == []
    assert first["movedBack"] == []  # EU stays: the second source, still merged, has it
    survivor = view(client, dest)
    assert [t["name"] for t in survivor["tags"]] == ["EU"]
    assert view(client, two)["mergedInto"]["id"] == dest["id"]
    assert view(client, one)["mergedInto"] is None
    phone = gql(client, "query($id: ID!) { partner(id: $id) { phone } }", {"id": dest["id"]})
    assert phone["partner"]["phone"] is None  # the first source's phone went back with it
    second = unmerge(client, sourceId=two["id"])
    assert second["userErrors"] == []
    assert view(client, dest)["tags"] == []


def test_a_merge_moving_too_many_records_is_refused(
    client: TestClient, db: Database, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merge_rules, "MAX_MOVED", 3)  # the world's source has 4 records

    errors = refused(client, db, destinationId=world["dest"]["id"], sourceIds=[world["src"]["id"]])

    assert errors == [(["sourceIds"], "VALIDATION")]


def test_two_contacts_of_one_company_merge_and_the_source_stays_a_node(
    client: TestClient,
) -> None:
    company = create(client, kind="COMPANY", name="Lumber Inc", countryCode="US")
    keep = create(client, kind="PERSON", name="Lorraine Douglas", parentId=company["id"])
    dup = create(
        client,
        kind="PERSON",
        name="Lorraine Douglas",
        parentId=company["id"],
        mobile="+1 202 555 0147",
    )
    candidates = gql(
        client,
        "query($id: ID!) { duplicateCandidates(partnerId: $id) { partner { id } reasons } }",
        {"id": keep["id"]},
    )["duplicateCandidates"]
    assert candidates == [{"partner": {"id": dup["id"]}, "reasons": ["SIMILAR_NAME"]}]

    result = merge(
        client,
        destinationId=keep["id"],
        sourceIds=[dup["id"]],
        fieldChoices=[{"field": "mobile", "fromId": dup["id"]}],
    )

    assert result["userErrors"] == []
    node = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Partner { archived mergedInto { id } } } }",
        {"id": dup["id"]},
    )["node"]
    assert node == {"archived": True, "mergedInto": {"id": keep["id"]}}
    children = view(client, company)["children"]["nodes"]
    assert [c["id"] for c in children] == [keep["id"]]  # lists show active partners only


def test_merge_and_unmerge_from_snapshots(settings: Settings, db: Database, admin_key: str) -> None:
    """Every event snapshotted: the merge records survive a snapshot's round trip."""
    with TestClient(
        create_app(settings.model_copy(update={"snapshot_interval": 1})),
        headers=_auth(admin_key),
    ) as client:
        dest = create(client, kind="COMPANY", name="Snap Ltd", email="a@snap.example")
        src = create(client, kind="COMPANY", name="Snap Limited", email="b@snap.example")
        activity = run(
            client,
            SCHEDULE,
            "scheduleActivity",
            "activity",
            partnerId=src["id"],
            dueDate="2030-01-01",
        )
        before = dump(db)
        merged = merge(
            client,
            destinationId=dest["id"],
            sourceIds=[src["id"]],
            fieldChoices=[{"field": "email", "fromId": src["id"]}],
        )
        assert [m["id"] for m in merged["moved"]] == [activity["id"]]

        assert unmerge(client, sourceId=src["id"])["userErrors"] == []
        assert dump(db) == before
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT count(*) FROM partnerbook_snapshots").fetchone()
    assert row is not None and row[0] > 0


def test_unmerging_after_the_destination_was_merged_on(client: TestClient) -> None:
    """A merged into B, then B into C: A's activity followed B to C. Unmerging A
    restores A and leaves the activity with C (reported); unmerging B then brings it
    back to B, where B's merge found it."""
    a, b, c = (create(client, kind="PERSON", name=f"Chain {n}") for n in "ABC")
    activity = run(
        client, SCHEDULE, "scheduleActivity", "activity", partnerId=a["id"], dueDate="2030-02-02"
    )
    merge(client, destinationId=b["id"], sourceIds=[a["id"]])
    merge(client, destinationId=c["id"], sourceIds=[b["id"]])

    left = unmerge(client, sourceId=a["id"])
    assert left["userErrors"] == []
    assert left["leftInPlace"] == [{"kind": "ACTIVITY", "id": activity["id"]}]
    assert view(client, c)["activities"]["nodes"][0]["id"] == activity["id"]

    again = merge(client, destinationId=b["id"], sourceIds=[a["id"]])
    assert [e["code"] for e in again["userErrors"]] == ["ARCHIVED"]  # B is merged
    assert unmerge(client, sourceId=b["id"])["userErrors"] == []
    assert [n["id"] for n in view(client, b)["activities"]["nodes"]] == [activity["id"]]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


PREVIEWED = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  partner { id version name displayName email commercialPartner { id }
    address { street inheritedFrom { id } } }
  userErrors { field code message } } }"""


def test_a_dry_run_answers_what_the_merge_then_shows(client: TestClient) -> None:
    """The preview is resolved by the same rule as the read model: a contact of a
    company that takes a source's street still shows its company's address."""
    company = create(client, kind="COMPANY", name="Deco Addict", street="1 Rue Haute")
    dest = create(client, kind="PERSON", name="Ann Lee", parentId=company["id"])
    src = create(client, kind="PERSON", name="Ann Lee.", email="ann@x.example", street="9 Lane")
    fields = {
        "destinationId": dest["id"],
        "sourceIds": [src["id"]],
        "fieldChoices": [
            {"field": "street", "fromId": src["id"]},
            {"field": "email", "fromId": src["id"]},
            {"field": "name", "fromId": src["id"]},
        ],
    }

    preview = gql(client, PREVIEWED, {"input": {**fields, "dryRun": True}})["mergePartners"]
    merged = gql(client, PREVIEWED, {"input": fields})["mergePartners"]

    assert preview["userErrors"] == merged["userErrors"] == []
    seen = preview["partner"]
    assert seen["address"] == {"street": "1 Rue Haute", "inheritedFrom": {"id": company["id"]}}
    assert seen["displayName"] == "Deco Addict, Ann Lee."
    assert seen["version"] == dest["version"]  # what expectedVersion takes now
    assert {k: v for k, v in seen.items() if k != "version"} == {
        k: v for k, v in merged["partner"].items() if k != "version"
    }
