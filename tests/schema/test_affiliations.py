"""Affiliations over HTTP: a person in several companies, ended ones kept (history and
as-of), the `affiliatedWith` filter, limits, merges and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from app.domain.affiliation import MAX_TEXT
from tests.conftest import gql, gql_raw
from tests.schema.affiliation_ops import (
    ADD_ACCOUNT,
    ADD_AFFILIATION,
    AFFILIATIONS,
    END_AFFILIATION,
    UPDATE_AFFILIATION,
    mutate,
    ok,
)
from tests.schema.partner_ops import create

AFFILIATED = """query($id: ID!) { partners(filter: {affiliatedWith: $id}, orderBy: [{field: NAME,
  direction: ASC}]) { totalCount nodes { name } } }"""
AS_OF = """query($id: ID!, $at: DateTime) { partnerAsOf(id: $id, at: $at) {
  affiliations { role company { name } } } }"""
TIMELINE = """query($id: ID!) { partner(id: $id) { timeline(first: 20) {
  nodes { kind summary changes subject { id } } } } }"""


def _people(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    alpha = create(client, kind="COMPANY", name="Alpha Holding")
    beta = create(client, kind="COMPANY", name="Beta Works")
    person = create(client, kind="PERSON", name="Rosa Board", parentId=alpha["id"])
    return alpha, beta, person


def _affiliate(client: TestClient, person: str, company: str, **more: Any) -> dict[str, Any]:
    return ok(client, ADD_AFFILIATION, "affiliation", personId=person, companyId=company, **more)


def _listed(client: TestClient, partner_id: str, ended: bool = False) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = gql(client, AFFILIATIONS, {"id": partner_id, "ended": ended})[
        "partner"
    ]["affiliations"]
    return found


def test_a_person_affiliated_with_two_companies_shows_in_both(client: TestClient) -> None:
    alpha, beta, person = _people(client)
    first = _affiliate(client, person["id"], alpha["id"], role="Board member")
    second = _affiliate(client, person["id"], beta["id"], role="Consultant", function="Advisor")
    assert (first["role"], first["company"]["id"]) == ("Board member", alpha["id"])
    assert second["function"] == "Advisor" and second["person"]["id"] == person["id"]

    for company, affiliation in ((alpha, first), (beta, second)):
        shown = _listed(client, company["id"])
        assert [(a["id"], a["person"]["id"]) for a in shown] == [(affiliation["id"], person["id"])]
        people = gql(client, AFFILIATED, {"id": company["id"]})["partners"]
        assert people == {"totalCount": 1, "nodes": [{"name": "Rosa Board"}]}
    assert {a["company"]["id"] for a in _listed(client, person["id"])} == {
        alpha["id"],
        beta["id"],
    }
    companies = gql(client, AFFILIATED, {"id": person["id"]})["partners"]["nodes"]
    assert companies == [{"name": "Alpha Holding"}, {"name": "Beta Works"}]
    node = gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": first["id"]})
    assert node["node"] == {"id": first["id"]}


def test_ending_an_affiliation_keeps_it_in_history_and_as_of(client: TestClient) -> None:
    alpha, _, person = _people(client)
    affiliation = _affiliate(client, person["id"], alpha["id"], role="Treasurer")
    while_current = datetime.now(UTC).isoformat()

    ended = ok(client, END_AFFILIATION, "affiliation", id=affiliation["id"], reason="left")

    assert ended["endDate"] == datetime.now(UTC).date().isoformat()
    assert _listed(client, person["id"]) == []
    assert _listed(client, alpha["id"]) == []
    assert gql(client, AFFILIATED, {"id": alpha["id"]})["partners"]["totalCount"] == 0
    kept = _listed(client, person["id"], ended=True)
    assert [(a["id"], a["role"], a["endDate"]) for a in kept] == [
        (affiliation["id"], "Treasurer", ended["endDate"])
    ]
    then = gql(client, AS_OF, {"id": person["id"], "at": while_current})["partnerAsOf"]
    assert then["affiliations"] == [{"role": "Treasurer", "company": {"name": "Alpha Holding"}}]
    now = gql(client, AS_OF, {"id": person["id"], "at": datetime.now(UTC).isoformat()})
    assert now["partnerAsOf"]["affiliations"] == []
    entries = gql(client, TIMELINE, {"id": person["id"]})["partner"]["timeline"]["nodes"]
    mine = [e for e in entries if e["kind"].startswith("AFFILIATION")]
    assert [e["kind"] for e in mine] == ["AFFILIATION_ENDED", "AFFILIATION_ADDED"]
    assert mine[1]["changes"]["role"] == "Treasurer"
    assert {e["subject"]["id"] for e in mine} == {affiliation["id"]}
    again = mutate(client, END_AFFILIATION, id=affiliation["id"])
    assert [e["code"] for e in again["userErrors"]] == ["VALIDATION"]


def test_an_affiliation_is_refused_between_wrong_kinds_and_bad_values(
    client: TestClient,
) -> None:
    alpha, beta, person = _people(client)
    wrong = mutate(client, ADD_AFFILIATION, personId=alpha["id"], companyId=beta["id"])
    assert [(e["field"], e["code"]) for e in wrong["userErrors"]] == [(["personId"], "VALIDATION")]
    too_long = mutate(
        client,
        ADD_AFFILIATION,
        personId=person["id"],
        companyId=alpha["id"],
        role="x" * (MAX_TEXT + 1),
        startDate="2026-05-01",
        endDate="2026-01-01",
    )
    assert {e["field"][0] for e in too_long["userErrors"]} == {"role"}
    backwards = mutate(
        client,
        ADD_AFFILIATION,
        personId=person["id"],
        companyId=alpha["id"],
        startDate="2026-05-01",
        endDate="2026-01-01",
    )
    assert [e["field"] for e in backwards["userErrors"]] == [["endDate"]]
    assert _listed(client, person["id"], ended=True) == []


def test_updating_an_affiliation_changes_only_what_is_sent(client: TestClient) -> None:
    alpha, _, person = _people(client)
    affiliation = _affiliate(client, person["id"], alpha["id"], role="Member", function="CFO")
    changed = ok(client, UPDATE_AFFILIATION, "affiliation", id=affiliation["id"], role=None)
    assert (changed["role"], changed["function"]) == (None, "CFO")


PAGE = """query { partners(filter: {kind: COMPANY}, orderBy: [{field: NAME, direction: ASC}]) {
  nodes { name affiliations { role person { name } } ended: affiliations(includeEnded: true) {
  role } bankAccounts { iban } } } }"""
SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  activity { id } userErrors { field code message } } }"""
VIEW = """query($id: ID!) { partner(id: $id) { stats { openActivityCount }
  activities(first: 10) { totalCount } timeline(first: 20) { nodes { kind } } } }"""


def test_a_page_of_partners_shows_each_its_own_affiliations(client: TestClient) -> None:
    alpha, beta, person = _people(client)
    other = create(client, kind="PERSON", name="Otto Other")
    _affiliate(client, person["id"], alpha["id"], role="Chair")
    ended = _affiliate(client, other["id"], alpha["id"], role="Former")
    ok(client, END_AFFILIATION, "affiliation", id=ended["id"])
    _affiliate(client, other["id"], beta["id"], role="Member")
    ok(client, ADD_ACCOUNT, "bankAccount", partnerId=beta["id"], iban="BE71096123456769")

    nodes = gql(client, PAGE)["partners"]["nodes"]

    assert nodes == [
        {
            "name": "Alpha Holding",
            "affiliations": [{"role": "Chair", "person": {"name": "Rosa Board"}}],
            "ended": [{"role": "Chair"}, {"role": "Former"}],
            "bankAccounts": [],
        },
        {
            "name": "Beta Works",
            "affiliations": [{"role": "Member", "person": {"name": "Otto Other"}}],
            "ended": [{"role": "Member"}],
            "bankAccounts": [{"iban": "BE71 0961 2345 6769"}],
        },
    ]


def test_an_affiliation_alone_adds_nothing_to_the_companys_360_view(client: TestClient) -> None:
    alpha, beta, person = _people(client)  # the person's parent is Alpha
    _affiliate(client, person["id"], beta["id"], role="Advisor")
    activity = {"partnerId": person["id"], "summary": "Call", "dueDate": "2099-01-01"}
    assert mutate(client, SCHEDULE, **activity)["userErrors"] == []

    beta_view = gql(client, VIEW, {"id": beta["id"]})["partner"]
    alpha_view = gql(client, VIEW, {"id": alpha["id"]})["partner"]

    assert beta_view["stats"]["openActivityCount"] == 0
    assert beta_view["activities"]["totalCount"] == 0
    assert {e["kind"] for e in beta_view["timeline"]["nodes"]} == {"PARTNER_CREATED"}
    assert alpha_view["activities"]["totalCount"] == 1  # its contact's, as before


def test_a_list_of_affiliations_is_bounded(client: TestClient) -> None:
    _, _, person = _people(client)
    query = "query($id: ID!, $n: Int!) { partner(id: $id) { affiliations(first: $n) { id } } }"
    for n in (101, -1):
        body = gql_raw(client, query, {"id": person["id"], "n": n})
        assert body["errors"][0]["extensions"]["code"] in ("LIMIT_EXCEEDED", "BAD_REQUEST"), n
