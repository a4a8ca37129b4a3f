"""History and as-of, through GraphQL: every event with the fields it changed, and the
partner as it was at any instant or version."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql, gql_raw
from tests.schema.catalog_ops import create_pricelist, create_tag, partner_payload, set_terms
from tests.schema.partner_ops import ARCHIVE, RESTORE, create, update

HISTORY = """
query($id: ID!, $first: Int, $after: String) {
  partnerHistory(id: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { version occurredAt eventType actor requestId reason
            changes { field old new erased } }
  }
}"""

AS_OF_FIELDS = """
  id name displayName email isCustomer archived version
  address { city country { code } }
  tags { name }
  commercialTerms { pricelist { name } creditLimit { amount currency } }
"""
AS_OF = f"""
query($id: ID!, $at: DateTime, $version: Int) {{
  partnerAsOf(id: $id, at: $at, version: $version) {{ {AS_OF_FIELDS} }}
}}"""

ADD_TAGS = """
mutation($input: PartnerTagsInput!) {
  addPartnerTags(input: $input) { partner { id } userErrors { code message } }
}"""
REMOVE_TAGS = ADD_TAGS.replace("addPartnerTags", "removePartnerTags")


def history(client: TestClient, partner_id: str, first: int = 100) -> list[dict[str, Any]]:
    """Every change of the partner, following the pages."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql(client, HISTORY, {"id": partner_id, "first": first, "after": after})[
            "partnerHistory"
        ]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_history_lists_every_event_with_displayed_changes(client: TestClient) -> None:
    gold = create_tag(client, "Gold")
    partner = create(client, kind="COMPANY", name="Acme", countryCode="be", reason="new client")
    update(client, id=partner["id"], city="Ghent", countryCode="FR", reason="moved")
    gql(client, ADD_TAGS, {"input": {"id": partner["id"], "tagIds": [gold["id"]]}})
    partner_payload(client, ARCHIVE, "archivePartner", id=partner["id"])

    changes = history(client, partner["id"])
    assert [c["version"] for c in changes] == [1, 2, 3, 4]
    assert [c["eventType"] for c in changes] == ["Registered", "Updated", "TagsAdded", "Archived"]
    assert changes[0]["reason"] == "new client" and changes[1]["reason"] == "moved"
    assert all(c["actor"] and c["requestId"] for c in changes)
    registered = {f["field"]: f for f in changes[0]["changes"]}
    assert registered["name"] == {"field": "name", "old": None, "new": "Acme", "erased": False}
    assert registered["countryCode"]["new"] == "BE"
    assert registered["kind"]["new"] == "COMPANY"
    assert {(f["field"], f["old"], f["new"]) for f in changes[1]["changes"]} == {
        ("city", None, "Ghent"),
        ("countryCode", "BE", "FR"),
    }
    assert [(f["field"], f["old"], f["new"]) for f in changes[2]["changes"]] == [
        ("tags", None, "Gold")
    ]
    assert [(f["field"], f["old"], f["new"]) for f in changes[3]["changes"]] == [
        ("archived", "false", "true")
    ]
    # Partner.history is the same list
    data = gql(
        client,
        "query($id: ID!) { partner(id: $id) { history(first: 2) { totalCount nodes { version } } } }",
        {"id": partner["id"]},
    )
    assert data["partner"]["history"] == {
        "totalCount": 4,
        "nodes": [{"version": 1}, {"version": 2}],
    }


def test_history_pages_by_version_and_refuses_bad_cursors(client: TestClient) -> None:
    partner = create(client, kind="PERSON", name="Ann")
    for i in range(6):
        update(client, id=partner["id"], city=f"City {i}")
    versions = [c["version"] for c in history(client, partner["id"], first=4)]
    assert versions == list(range(1, 8))
    body = gql_raw(client, HISTORY, {"id": partner["id"], "after": "nonsense"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    body = gql_raw(client, HISTORY, {"id": "not-an-id"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_as_of_needs_exactly_one_of_at_and_version(client: TestClient) -> None:
    partner = create(client, kind="PERSON", name="Ann")
    for variables in ({}, {"version": 1, "at": "2026-01-01T00:00:00Z"}):
        body = gql_raw(client, AS_OF, {"id": partner["id"], **variables})
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    body = gql_raw(client, AS_OF, {"id": partner["id"], "version": 5})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    before = gql(client, AS_OF, {"id": partner["id"], "at": "2000-01-01T00:00:00Z"})
    assert before["partnerAsOf"] is None


def test_as_of_a_contact_shows_its_company_as_it_was(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Acme", city="Ghent", countryCode="BE")
    person = create(client, kind="PERSON", name="Ann", parentId=company["id"])
    update(client, id=company["id"], name="Acme Group", city="Lyon", countryCode="FR")
    query = (
        "query($id: ID!, $v: Int) { partnerAsOf(id: $id, version: $v) { displayName "
        "address { city } parent { name } commercialPartner { name } } }"
    )
    then = gql(client, query, {"id": person["id"], "v": 1})["partnerAsOf"]
    assert then == {
        "displayName": "Acme, Ann",
        "address": {"city": "Ghent"},
        "parent": {"name": "Acme"},
        "commercialPartner": {"name": "Acme"},
    }
    now = gql(client, AS_OF, {"id": person["id"], "at": datetime.now().astimezone().isoformat()})
    assert now["partnerAsOf"]["displayName"] == "Acme Group, Ann"
    assert now["partnerAsOf"]["address"]["city"] == "Lyon"


def _state_from_history(changes: list[dict[str, Any]], at: datetime) -> dict[str, Any] | None:
    """The partner at `at`, rebuilt from its history alone (independently of as-of)."""
    state: dict[str, Any] = {}
    version = 0
    for change in changes:
        if datetime.fromisoformat(change["occurredAt"]) > at:
            break
        version = change["version"]
        for field in change["changes"]:
            state[field["field"]] = field["new"]
    if not version:
        return None
    limit = state.get("creditLimit")
    return {
        "name": state.get("name"),
        "email": state.get("email"),
        "isCustomer": state.get("isCustomer") == "true",
        "archived": state.get("archived") == "true",
        "version": version,
        "city": state.get("city"),
        "country": state.get("countryCode"),
        "tags": sorted(t for t in (state.get("tags") or "").split(", ") if t),
        "pricelist": state.get("pricelist"),
        "creditLimit": limit.split(" ") if limit else None,
    }


def _as_of_state(partner: dict[str, Any] | None) -> dict[str, Any] | None:
    if partner is None:
        return None
    terms = partner["commercialTerms"]
    limit = terms["creditLimit"]
    return {
        "name": partner["name"],
        "email": partner["email"],
        "isCustomer": partner["isCustomer"],
        "archived": partner["archived"],
        "version": partner["version"],
        "city": partner["address"]["city"],
        "country": (partner["address"]["country"] or {}).get("code"),
        "tags": sorted(t["name"] for t in partner["tags"]),
        "pricelist": (terms["pricelist"] or {}).get("name"),
        "creditLimit": [limit["amount"], limit["currency"]] if limit else None,
    }


def test_as_of_equals_the_state_rebuilt_from_history(client: TestClient) -> None:
    """200 random (partner, instant) pairs over a random history of several partners."""
    rng = random.Random(11)
    tags = [create_tag(client, f"T{i}")["id"] for i in range(4)]
    pricelists = [create_pricelist(client, f"PL{i}")["id"] for i in range(2)]
    partners = [
        create(client, kind=rng.choice(["COMPANY", "PERSON"]), name=f"P{i}")["id"] for i in range(4)
    ]
    archived: set[str] = set()
    for n in range(90):
        pid = rng.choice(partners)
        action = rng.choice(["rename", "email", "address", "tag", "untag", "archive", "terms"])
        if pid in archived:
            partner_payload(client, RESTORE, "restorePartner", id=pid)
            archived.discard(pid)
        elif action == "rename":
            update(client, id=pid, name=f"Name {n}", isCustomer=rng.random() < 0.5)
        elif action == "email":
            update(client, id=pid, email=rng.choice([f"p{n}@example.com", None]))
        elif action == "address":
            city, country = rng.choice([("Ghent", "BE"), ("Lyon", "FR"), (None, None)])
            update(client, id=pid, city=city, countryCode=country)
        elif action == "tag":
            gql(client, ADD_TAGS, {"input": {"id": pid, "tagIds": rng.sample(tags, 2)}})
        elif action == "untag":
            gql(client, REMOVE_TAGS, {"input": {"id": pid, "tagIds": [rng.choice(tags)]}})
        elif action == "archive":
            partner_payload(client, ARCHIVE, "archivePartner", id=pid)
            archived.add(pid)
        else:
            set_terms(
                client,
                id=pid,
                pricelistId=rng.choice([*pricelists, None]),
                creditLimit={"amount": str(n * 10), "currency": "EUR"},
            )
    histories = {pid: history(client, pid) for pid in partners}
    everything = sorted(
        datetime.fromisoformat(c["occurredAt"]) for h in histories.values() for c in h
    )
    start, end = everything[0] - timedelta(seconds=1), everything[-1] + timedelta(seconds=1)
    for _ in range(200):
        pid = rng.choice(partners)
        times = [datetime.fromisoformat(c["occurredAt"]) for c in histories[pid]]
        if rng.random() < 0.8:  # just after one of its events, before the next
            i = rng.randrange(len(times))
            upper = times[i + 1] if i + 1 < len(times) else end
            at = times[i] + (upper - times[i]) * rng.random()
            if at >= upper:
                at = times[i]
        else:
            at = start + (end - start) * rng.random()
        got = gql(client, AS_OF, {"id": pid, "at": at.isoformat()})["partnerAsOf"]
        assert _as_of_state(got) == _state_from_history(histories[pid], at), (pid, at)


def test_history_of_an_anonymized_person_shows_personal_fields_as_erased(
    client: TestClient,
) -> None:
    """After anonymizePartner, history still lists every event; the personal fields
    (PERSONAL_FIELDS) show as erased (null), the others as before."""
    person = create(client, kind="PERSON", name="Ann", email="ann@example.com", countryCode="BE")
    update(client, id=person["id"], city="Ghent", lang="fr_BE")
    result = gql(
        client,
        'mutation($id: ID!) { anonymizePartner(input: {id: $id, reason: "request"}) '
        "{ userErrors { code message } } }",
        {"id": person["id"]},
    )
    assert result["anonymizePartner"]["userErrors"] == []
    changes = history(client, person["id"])
    assert [c["version"] for c in changes] == [1, 2, 3]
    fields = {(c["version"], f["field"]): f for c in changes for f in c["changes"]}
    for key in [(1, "name"), (1, "email"), (2, "city")]:
        assert fields[key] == {"field": key[1], "old": None, "new": None, "erased": True}
    assert fields[(1, "countryCode")]["new"] == "BE" and not fields[(1, "countryCode")]["erased"]
    assert fields[(2, "lang")]["erased"] is False


def test_history_of_an_unknown_partner_is_empty(client: TestClient) -> None:
    from uuid import uuid4

    from app.schema.ids import to_global_id

    page = gql(client, HISTORY, {"id": to_global_id("Partner", uuid4())})["partnerHistory"]
    assert page == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": [],
    }
    assert gql(client, AS_OF, {"id": to_global_id("Partner", uuid4()), "version": 1}) == {
        "partnerAsOf": None
    }
