"""An activity naming a company (`companyId`) over HTTP: it shows in that company's 360°
view (activities, stats, timeline) besides its partner's; an affiliation alone never
does; who may be named, and what a merge of the named company does."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import as_key, event_count, gql, gql_raw, key_for
from tests.schema.affiliation_ops import ADD_AFFILIATION, END_AFFILIATION, mutate, ok
from tests.schema.partner_ops import ARCHIVE, create

SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  activity { id company { id name } partner { id } } userErrors { field code message } } }"""
VIEW = """query($id: ID!) { partner(id: $id) {
  stats { openActivityCount overdueActivityCount lastInteractionAt }
  activities(first: 10) { totalCount nodes { id } }
  timeline(first: 20) { nodes { kind subject { id } changes } } } }"""
MERGE = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  moved { kind id fromId toId } userErrors { field code message } } }"""
UNMERGE = """mutation($input: UnmergePartnerInput!) { unmergePartner(input: $input) {
  movedBack { kind id } leftInPlace { kind id } userErrors { field code message } } }"""
TAG = 'mutation { createTag(input: {name: "Board"}) { tag { id } } }'
ACTIVITY = "query($id: ID!) { node(id: $id) { ... on Activity { company { id } partner { id } } } }"


def _world(client: TestClient) -> dict[str, str]:
    """Companies A and B (and H, the person's main company); a person under H,
    affiliated with A and with B."""
    made = {
        "h": create(client, kind="COMPANY", name="Home Holding")["id"],
        "a": create(client, kind="COMPANY", name="Alpha Board")["id"],
        "b": create(client, kind="COMPANY", name="Beta Board")["id"],
    }
    made["p"] = create(client, kind="PERSON", name="Rosa Seats", parentId=made["h"])["id"]
    for company in ("a", "b"):
        ok(client, ADD_AFFILIATION, "affiliation", personId=made["p"], companyId=made[company])
    return made


def _plan(client: TestClient, partner: str, **more: Any) -> dict[str, Any]:
    fields = {"partnerId": partner, "summary": "Board call", "dueDate": "2099-01-01", **more}
    return mutate(client, SCHEDULE, **fields)


def _view(client: TestClient, partner: str) -> dict[str, Any]:
    view: dict[str, Any] = gql(client, VIEW, {"id": partner})["partner"]
    return view


def _shows(view: dict[str, Any], activity: str) -> tuple[bool, bool, int]:
    """(in its activities, in its timeline, open activities counted)."""
    listed = activity in {n["id"] for n in view["activities"]["nodes"]}
    entries = activity in {(e["subject"] or {}).get("id") for e in view["timeline"]["nodes"]}
    return listed, entries, view["stats"]["openActivityCount"]


def test_an_activity_naming_a_company_shows_in_its_view_only(client: TestClient) -> None:
    w = _world(client)
    planned = _plan(client, w["p"], companyId=w["b"])
    assert planned["userErrors"] == []
    activity = planned["activity"]
    assert activity["company"] == {"id": w["b"], "name": "Beta Board"}
    assert activity["partner"] == {"id": w["p"]}

    beta = _view(client, w["b"])
    assert _shows(beta, activity["id"]) == (True, True, 1)
    assert beta["stats"]["lastInteractionAt"] is not None
    scheduled = [e for e in beta["timeline"]["nodes"] if e["kind"] == "ACTIVITY_SCHEDULED"]
    assert scheduled[0]["changes"]["company_id"]  # the history says which company
    assert _shows(_view(client, w["a"]), activity["id"]) == (False, False, 0)
    assert _view(client, w["a"])["stats"]["lastInteractionAt"] is None
    assert _shows(_view(client, w["p"]), activity["id"]) == (True, True, 1)  # its own, still
    assert _shows(_view(client, w["h"]), activity["id"]) == (True, True, 1)  # its contact's

    plain = _plan(client, w["p"])["activity"]
    assert plain["company"] is None
    for company in ("a", "b"):
        assert _shows(_view(client, w[company]), plain["id"])[:2] == (False, False)
    assert _view(client, w["b"])["activities"]["totalCount"] == 1


def test_the_company_itself_or_the_contacts_company_may_be_named(client: TestClient) -> None:
    w = _world(client)
    for partner, company in ((w["b"], w["b"]), (w["p"], w["h"])):
        planned = _plan(client, partner, companyId=company)
        assert planned["userErrors"] == [], planned
        assert planned["activity"]["company"]["id"] == company


def test_a_company_the_partner_is_not_tied_to_is_refused(client: TestClient, db: Database) -> None:
    w = _world(client)
    other = create(client, kind="COMPANY", name="Unrelated")["id"]
    w["tag"] = gql(client, TAG, {})["createTag"]["tag"]["id"]
    before = event_count(db)
    for company, code in (
        (other, "VALIDATION"),  # unrelated
        (w["p"], "VALIDATION"),  # a person
        ("UGFydG5lcjowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=", "NOT_FOUND"),
        ("not an id" * 500, "NOT_FOUND"),  # garbage, long: no such id
        (w["tag"], "NOT_FOUND"),  # an id of another type: no such partner
    ):
        refused = _plan(client, w["p"], companyId=company)
        assert refused["activity"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
            (["companyId"], code)
        ], company
    # Another company's contact may not name this one either.
    stranger = create(client, kind="PERSON", name="Stranger", parentId=other)["id"]
    assert _plan(client, stranger, companyId=w["b"])["userErrors"][0]["code"] == "VALIDATION"
    assert event_count(db) == before + 1  # the stranger only
    assert _view(client, w["b"])["activities"]["totalCount"] == 0


def test_an_affiliation_counts_only_while_in_force(client: TestClient) -> None:
    w = _world(client)
    later = ok(
        client,
        ADD_AFFILIATION,
        "affiliation",
        personId=w["p"],
        companyId=create(client, kind="COMPANY", name="Gamma")["id"],
        startDate="2099-06-01",
    )
    gamma = later["company"]["id"]
    assert _plan(client, w["p"], companyId=gamma)["userErrors"][0]["field"] == ["companyId"]
    assert _plan(client, w["p"], companyId=gamma, dueDate="2099-07-01")["userErrors"] == []
    ok(client, END_AFFILIATION, "affiliation", id=later["id"], endDate="2099-06-15")
    refused = _plan(client, w["p"], companyId=gamma, dueDate="2099-06-15")
    assert refused["userErrors"][0]["code"] == "VALIDATION"


def test_an_archived_company_is_refused(client: TestClient) -> None:
    w = _world(client)
    archived = gql(client, ARCHIVE, {"input": {"id": w["b"]}})["archivePartner"]
    assert archived["userErrors"] == []
    refused = _plan(client, w["p"], companyId=w["b"])
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["companyId"], "ARCHIVED")]


def test_a_wrong_role_cannot_plan_an_activity_naming_a_company(
    client: TestClient, db: Database
) -> None:
    w = _world(client)
    before = event_count(db)
    for role in ("viewer", "auditor"):
        as_key(client, key_for(db, role))
        fields = {"partnerId": w["p"], "companyId": w["b"], "dueDate": "2099-01-01"}
        body = gql_raw(client, SCHEDULE, {"input": fields})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert event_count(db) == before


def test_the_activity_follows_a_merge_of_the_named_company(client: TestClient) -> None:
    w = _world(client)
    activity = _plan(client, w["p"], companyId=w["b"])["activity"]["id"]
    dest = create(client, kind="COMPANY", name="Beta Group")["id"]
    merged = mutate(client, MERGE, destinationId=dest, sourceIds=[w["b"]])
    assert merged["userErrors"] == []
    assert {"kind": "ACTIVITY", "id": activity, "fromId": w["b"], "toId": dest} in merged["moved"]
    now = gql(client, ACTIVITY, {"id": activity})["node"]
    assert now == {"company": {"id": dest}, "partner": {"id": w["p"]}}  # the person stays
    assert _shows(_view(client, dest), activity)[::2] == (True, 1)
    assert _view(client, w["p"])["activities"]["totalCount"] == 1

    back = mutate(client, UNMERGE, sourceId=w["b"])
    assert back["userErrors"] == [] and {"kind": "ACTIVITY", "id": activity} in back["movedBack"]
    assert gql(client, ACTIVITY, {"id": activity})["node"]["company"] == {"id": w["b"]}
    assert _view(client, dest)["activities"]["totalCount"] == 0
