"""`hasOverdueActivities` selects exactly the partners whose 360° view counts an overdue
activity (`stats.overdueActivityCount`): a company's view takes in its contacts' and
those that name it (`companyId`, here of a person affiliated with it), a subsidiary
company keeps its own; and `false` selects every other partner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.schema.partner_ops import create
from tests.schema.test_relationship import SCHEDULE, run, set_clock

ALL = """query($f: PartnerFilter) { partners(filter: $f, first: 100) { totalCount
  nodes { name stats { overdueActivityCount } } } }"""


def test_the_filter_agrees_with_each_partners_view(client: TestClient) -> None:
    set_clock(client, datetime(2026, 12, 10, 12, 0, tzinfo=UTC))
    acme = create(client, kind="COMPANY", name="Acme")
    ann = create(client, kind="PERSON", name="Ann", parentId=acme["id"])
    create(client, kind="PERSON", name="Bob", parentId=acme["id"])
    sub = create(client, kind="COMPANY", name="Acme Sub", parentId=acme["id"])
    sue = create(client, kind="PERSON", name="Sue", parentId=sub["id"])
    globex = create(client, kind="COMPANY", name="Globex")
    free = create(client, kind="PERSON", name="Free")
    create(client, kind="PERSON", name="Idle")
    create(client, kind="COMPANY", name="Initech")

    def activity(partner: dict[str, Any], due: str, **more: Any) -> None:
        run(client, SCHEDULE, "scheduleActivity", "activity", partnerId=partner["id"],
            dueDate=due, **more)  # fmt: skip

    affiliated = gql(
        client,
        """mutation($p: ID!, $c: ID!) { addAffiliation(input: {personId: $p, companyId: $c})
        { userErrors { code } } }""",
        {"p": free["id"], "c": globex["id"]},
    )
    assert affiliated["addAffiliation"]["userErrors"] == []
    activity(ann, "2026-12-01")  # overdue: Ann, Acme
    activity(sue, "2026-12-31")  # not due yet
    activity(free, "2026-12-02", companyId=globex["id"])  # overdue: Free, Globex
    activity(sub, "2026-11-01")  # overdue: Acme Sub (its own commercial partner)

    every = gql(client, ALL)["partners"]
    assert every["totalCount"] == 9
    expected = sorted(n["name"] for n in every["nodes"] if n["stats"]["overdueActivityCount"])
    assert expected == ["Acme", "Acme Sub", "Ann", "Free", "Globex"]
    late = gql(client, ALL, {"f": {"hasOverdueActivities": True}})["partners"]
    assert sorted(n["name"] for n in late["nodes"]) == expected
    assert late["totalCount"] == len(expected)
    others = gql(client, ALL, {"f": {"hasOverdueActivities": False}})["partners"]
    assert sorted(n["name"] for n in others["nodes"]) == sorted(
        n["name"] for n in every["nodes"] if n["name"] not in expected
    )
