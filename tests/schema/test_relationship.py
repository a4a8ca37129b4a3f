"""The 360° view: activities, documents, opportunities, figures and timeline."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.partner_ops import create, update

SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  activity { id activityType summary dueDate state feedback doneAt version
             partner { id } assignee { id name } }
  userErrors { field code message } } }"""
UPDATE_ACTIVITY = SCHEDULE.replace("ScheduleActivityInput", "UpdateActivityInput").replace(
    "scheduleActivity", "updateActivity"
)
COMPLETE = SCHEDULE.replace("ScheduleActivityInput", "CompleteActivityInput").replace(
    "scheduleActivity", "completeActivity"
)
CANCEL = SCHEDULE.replace("ScheduleActivityInput", "CancelActivityInput").replace(
    "scheduleActivity", "cancelActivity"
)
RECORD = """mutation($input: RecordDocumentInput!) { recordDocument(input: $input) {
  document { id module kind reference date amount currency status amountPaid amountResidual
             version partner { id } }
  userErrors { field code message } } }"""
UPDATE_DOCUMENT = RECORD.replace("RecordDocumentInput", "UpdateDocumentInput").replace(
    "recordDocument", "updateDocument"
)
OPPORTUNITY = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  opportunity { id name stage probability expectedRevenue { amount currency } lostReason }
  userErrors { field code message } } }"""
WON = """mutation($input: CloseOpportunityInput!) { markOpportunityWon(input: $input) {
  opportunity { id stage probability closedAt } userErrors { field code message } } }"""
LOST = WON.replace("markOpportunityWon", "markOpportunityLost").replace(
    "closedAt", "closedAt lostReason"
)
STATS = """query($id: ID!) { partner(id: $id) { stats {
  quotationCount saleOrderCount purchaseOrderCount invoiceCount creditNoteCount
  totalInvoiced { amount currency } totalPaid { amount currency } amountDue { amount currency }
  ticketCount openTicketCount opportunityCount subscriptionCount projectCount
  eventRegistrationCount openActivityCount overdueActivityCount lastInteractionAt } } }"""
TIMELINE = """query($id: ID!, $kinds: [TimelineKind!], $first: Int, $after: String) {
  partner(id: $id) { timeline(kinds: $kinds, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { kind summary actor subject { id } partner { name } } } } }"""


def run(client: TestClient, query: str, payload: str, record: str, **fields: Any) -> Any:
    result = gql(client, query, {"input": fields})[payload]
    assert result["userErrors"] == [], result["userErrors"]
    return result[record]


def set_clock(client: TestClient, when: datetime) -> None:
    client.app.state.runtime.services.clock = lambda: when  # type: ignore[attr-defined]


@pytest.fixture
def company(client: TestClient) -> dict[str, Any]:
    return create(client, kind="COMPANY", name="Azure Interior", tz="Europe/Brussels")


def test_the_360_view_of_a_company_and_of_its_contact(client: TestClient) -> None:
    set_clock(client, datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    azure = create(client, kind="COMPANY", name="Azure Interior")
    brandon = create(client, kind="PERSON", name="Brandon Freeman", parentId=azure["id"])
    colleen = create(client, kind="PERSON", name="Colleen Diaz", parentId=azure["id"])

    def doc(partner: dict[str, Any], kind: str, module: str, ref: str, **more: Any) -> Any:
        return run(
            client,
            RECORD,
            "recordDocument",
            "document",
            partnerId=partner["id"],
            module=module,
            kind=kind,
            reference=ref,
            date="2026-11-20",
            **more,
        )

    doc(azure, "QUOTATION", "SALES", "S00001", amount="1000", currency="EUR")
    doc(azure, "SALE_ORDER", "SALES", "S00002", amount="1000", currency="EUR", status="CONFIRMED")
    doc(azure, "INVOICE", "ACCOUNTING", "INV/1", amount="1000", currency="EUR", status="PAID")
    doc(brandon, "INVOICE", "ACCOUNTING", "INV/2", amount="500", currency="EUR", status="OPEN")
    doc(azure, "CREDIT_NOTE", "ACCOUNTING", "RINV/1", amount="100", currency="EUR", status="OPEN")
    doc(brandon, "TICKET", "HELPDESK", "T-1", status="OPEN")
    opportunity = run(
        client,
        OPPORTUNITY,
        "createOpportunity",
        "opportunity",
        partnerId=azure["id"],
        name="Office chairs",
        expectedRevenue={"amount": "2500", "currency": "EUR"},
        probability=40,
    )
    run(client, WON, "markOpportunityWon", "opportunity", id=opportunity["id"])
    run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=brandon["id"],
        activityType="CALL",
        summary="Overdue call",
        dueDate="2026-11-27",
    )
    run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=azure["id"],
        activityType="MEETING",
        summary="Today's meeting",
        dueDate="2026-11-28",
    )
    done = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=colleen["id"],
        activityType="EMAIL",
        summary="Send catalogue",
        dueDate="2026-12-02",
    )
    run(client, COMPLETE, "completeActivity", "activity", id=done["id"], feedback="sent")

    stats = gql(client, STATS, {"id": azure["id"]})["partner"]["stats"]
    last = stats.pop("lastInteractionAt")
    assert last is not None
    assert stats == {
        "quotationCount": 1,
        "saleOrderCount": 1,
        "purchaseOrderCount": 0,
        "invoiceCount": 2,
        "creditNoteCount": 1,
        "totalInvoiced": [{"amount": "1400.00", "currency": "EUR"}],
        "totalPaid": [{"amount": "1000.00", "currency": "EUR"}],
        "amountDue": [{"amount": "400.00", "currency": "EUR"}],
        "ticketCount": 1,
        "openTicketCount": 1,
        "opportunityCount": 1,
        "subscriptionCount": 0,
        "projectCount": 0,
        "eventRegistrationCount": 0,
        "openActivityCount": 2,
        "overdueActivityCount": 1,
    }
    own = gql(client, STATS, {"id": brandon["id"]})["partner"]["stats"]
    assert (own["invoiceCount"], own["ticketCount"], own["quotationCount"]) == (1, 1, 0)
    assert own["amountDue"] == [{"amount": "500.00", "currency": "EUR"}]
    assert (own["openActivityCount"], own["overdueActivityCount"]) == (1, 1)

    timeline = gql(client, TIMELINE, {"id": azure["id"]})["partner"]["timeline"]
    kinds = [entry["kind"] for entry in timeline["nodes"]]
    assert kinds == [
        "ACTIVITY_DONE",
        "ACTIVITY_SCHEDULED",
        "ACTIVITY_SCHEDULED",
        "ACTIVITY_SCHEDULED",
        "OPPORTUNITY_WON",
        "OPPORTUNITY_CREATED",
        "DOCUMENT_RECORDED",
        "DOCUMENT_RECORDED",
        "DOCUMENT_RECORDED",
        "DOCUMENT_RECORDED",
        "PARTNER_ROLE_GAINED",  # the sale order made Azure a customer
        "DOCUMENT_RECORDED",
        "DOCUMENT_RECORDED",
        "PARTNER_CREATED",
        "PARTNER_CREATED",
        "PARTNER_CREATED",
    ]
    assert timeline["nodes"][0]["partner"] == {"name": "Colleen Diaz"}
    assert timeline["nodes"][0]["subject"] == {"id": done["id"]}
    brandon_kinds = [
        e["kind"]
        for e in gql(client, TIMELINE, {"id": brandon["id"]})["partner"]["timeline"]["nodes"]
    ]
    assert brandon_kinds == [
        "ACTIVITY_SCHEDULED",
        "DOCUMENT_RECORDED",
        "DOCUMENT_RECORDED",
        "PARTNER_CREATED",
    ]
    only_docs = gql(
        client, TIMELINE, {"id": azure["id"], "kinds": ["DOCUMENT_RECORDED"], "first": 4}
    )["partner"]["timeline"]
    assert only_docs["totalCount"] == 6 and len(only_docs["nodes"]) == 4
    rest = gql(
        client,
        TIMELINE,
        {
            "id": azure["id"],
            "kinds": ["DOCUMENT_RECORDED"],
            "after": only_docs["pageInfo"]["endCursor"],
        },
    )
    assert len(rest["partner"]["timeline"]["nodes"]) == 2


def test_activity_state_follows_the_clock_in_the_assignees_time_zone(
    client: TestClient, company: dict[str, Any]
) -> None:
    tokyo = gql(
        client,
        """mutation { createSalesperson(input: {name: "Aiko", tz: "Asia/Tokyo"})
      { salesperson { id } userErrors { code } } }""",
    )["createSalesperson"]["salesperson"]
    set_clock(client, datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    activity = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=company["id"],
        dueDate="2026-12-01",
        assigneeId=tokyo["id"],
    )
    query = "query($id: ID!) { node(id: $id) { ... on Activity { state } } }"

    def state_at(when: datetime) -> str:
        set_clock(client, when)
        result: str = gql(client, query, {"id": activity["id"]})["node"]["state"]
        return result

    assert activity["state"] == "PLANNED"
    assert state_at(datetime(2026, 11, 30, 14, 59, tzinfo=UTC)) == "PLANNED"  # 23:59 in Tokyo
    assert state_at(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == "TODAY"  # midnight in Tokyo
    assert state_at(datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == "OVERDUE"
    overdue = gql(
        client,
        """query($s: [ActivityState!]) { activities(filter: {states: $s}) {
      totalCount } }""",
        {"s": ["OVERDUE"]},
    )
    assert overdue["activities"]["totalCount"] == 1
    late = gql(client, "{ partners(filter: {hasOverdueActivities: true}) { nodes { name } } }")
    assert late["partners"]["nodes"] == [{"name": "Azure Interior"}]


def test_without_assignee_the_partners_time_zone_decides(
    client: TestClient, company: dict[str, Any]
) -> None:
    set_clock(client, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # 00:30 on 1 Dec in Brussels
    activity = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=company["id"],
        dueDate="2026-12-01",
    )
    assert activity["state"] == "TODAY"


def test_activity_life_cycle(client: TestClient, company: dict[str, Any], db: Database) -> None:
    set_clock(client, datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    activity = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=company["id"],
        activityType="CALL",
        summary="Call back",
        dueDate="2026-12-01",
    )
    moved = run(
        client,
        UPDATE_ACTIVITY,
        "updateActivity",
        "activity",
        id=activity["id"],
        dueDate="2026-12-03",
        summary="Call back about chairs",
    )
    assert (moved["dueDate"], moved["summary"], moved["version"]) == (
        "2026-12-03",
        "Call back about chairs",
        3,
    )  # an edit and a reschedule: two events
    done = run(
        client,
        COMPLETE,
        "completeActivity",
        "activity",
        id=activity["id"],
        feedback="Ordered 20 chairs",
    )
    assert (done["state"], done["feedback"]) == ("DONE", "Ordered 20 chairs")
    assert done["doneAt"] is not None
    before = event_count(db)
    again = gql(client, COMPLETE, {"input": {"id": activity["id"]}})["completeActivity"]
    assert [e["code"] for e in again["userErrors"]] == ["VALIDATION"]
    assert event_count(db) == before


def test_cancelled_activities_are_not_open(client: TestClient, company: dict[str, Any]) -> None:
    activity = run(
        client,
        SCHEDULE,
        "scheduleActivity",
        "activity",
        partnerId=company["id"],
        dueDate="2026-12-01",
    )
    cancelled = run(client, CANCEL, "cancelActivity", "activity", id=activity["id"])
    assert cancelled["state"] == "CANCELLED"
    stats = gql(client, STATS, {"id": company["id"]})["partner"]["stats"]
    assert stats["openActivityCount"] == 0


def test_scheduling_on_an_archived_partner_is_refused(
    client: TestClient, company: dict[str, Any]
) -> None:
    gql(
        client,
        "mutation($id: ID!) { archivePartner(input: {id: $id}) { userErrors { code } } }",
        {"id": company["id"]},
    )
    result = gql(
        client, SCHEDULE, {"input": {"partnerId": company["id"], "dueDate": "2026-12-01"}}
    )["scheduleActivity"]
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["partnerId"], "ARCHIVED")]


def test_the_same_reference_twice_is_a_duplicate(
    client: TestClient, company: dict[str, Any], db: Database
) -> None:
    fields = {
        "partnerId": company["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "INV/2026/0001",
        "date": "2026-11-20",
        "amount": "100",
        "currency": "EUR",
    }
    run(client, RECORD, "recordDocument", "document", **fields)
    before = event_count(db)
    again = gql(client, RECORD, {"input": fields})["recordDocument"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["reference"], "DUPLICATE")]
    assert event_count(db) == before
    # The same reference in another kind is another document.
    run(client, RECORD, "recordDocument", "document", **{**fields, "kind": "CREDIT_NOTE"})


def test_an_invoice_gets_paid(client: TestClient, company: dict[str, Any]) -> None:
    invoice = run(
        client,
        RECORD,
        "recordDocument",
        "document",
        partnerId=company["id"],
        module="ACCOUNTING",
        kind="INVOICE",
        reference="INV/9",
        date="2026-11-01",
        amount="1200",
        currency="EUR",
        status="OPEN",
    )
    assert invoice["amountResidual"] == "1200.00"
    partial = run(
        client,
        UPDATE_DOCUMENT,
        "updateDocument",
        "document",
        id=invoice["id"],
        status="PARTIALLY_PAID",
        amountPaid="200",
    )
    assert (partial["status"], partial["amountResidual"], partial["version"]) == (
        "PARTIALLY_PAID",
        "1000.00",
        3,
    )
    paid = run(
        client, UPDATE_DOCUMENT, "updateDocument", "document", id=invoice["id"], status="PAID"
    )
    assert paid["amountResidual"] == "0.00"
    stats = gql(client, STATS, {"id": company["id"]})["partner"]["stats"]
    assert stats["amountDue"] == [{"amount": "0.00", "currency": "EUR"}]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"module": "SALES", "kind": "INVOICE"}, "kind"),
        ({"status": "PAID", "kind": "QUOTATION", "module": "SALES"}, "status"),
        ({"amount": "10"}, "currency"),
        ({"currency": "EURO", "amount": "10"}, "currency"),
        ({"amount": "-5", "currency": "EUR"}, "amount"),
        ({"amount": "10", "currency": "EUR", "amountPaid": "20"}, "amountPaid"),
    ],
)
def test_invalid_documents_are_refused(
    client: TestClient, company: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    base = {
        "partnerId": company["id"],
        "module": "ACCOUNTING",
        "kind": "INVOICE",
        "reference": "X/1",
        "date": "2026-11-01",
    }
    result = gql(client, RECORD, {"input": base | fields})["recordDocument"]
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [([field], "VALIDATION")]


def test_an_opportunity_is_lost_with_a_reason(client: TestClient, company: dict[str, Any]) -> None:
    opportunity = run(
        client,
        OPPORTUNITY,
        "createOpportunity",
        "opportunity",
        partnerId=company["id"],
        name="Desks",
    )
    assert (opportunity["stage"], opportunity["probability"]) == ("NEW", None)
    lost = run(
        client,
        LOST,
        "markOpportunityLost",
        "opportunity",
        id=opportunity["id"],
        reason="Too expensive",
    )
    assert (lost["stage"], lost["probability"], lost["lostReason"]) == (
        "LOST",
        "0",
        "Too expensive",
    )
    won = gql(client, WON, {"input": {"id": opportunity["id"]}})["markOpportunityWon"]
    assert [e["code"] for e in won["userErrors"]] == ["VALIDATION"]


def test_a_moved_contact_takes_its_records_to_its_new_company(client: TestClient) -> None:
    first = create(client, kind="COMPANY", name="First")
    second = create(client, kind="COMPANY", name="Second")
    person = create(client, kind="PERSON", name="Ann", parentId=first["id"])
    run(
        client,
        RECORD,
        "recordDocument",
        "document",
        partnerId=person["id"],
        module="HELPDESK",
        kind="TICKET",
        reference="T-1",
        date="2026-11-01",
    )
    assert gql(client, STATS, {"id": first["id"]})["partner"]["stats"]["ticketCount"] == 1
    update(client, id=person["id"], parentId=second["id"])
    assert gql(client, STATS, {"id": first["id"]})["partner"]["stats"]["ticketCount"] == 0
    assert gql(client, STATS, {"id": second["id"]})["partner"]["stats"]["ticketCount"] == 1


def test_ordering_partners_by_total_invoiced(client: TestClient) -> None:
    for name, amount in (("Small", "10"), ("Big", "900"), ("Medium", "100")):
        partner = create(client, kind="COMPANY", name=name)
        run(
            client,
            RECORD,
            "recordDocument",
            "document",
            partnerId=partner["id"],
            module="ACCOUNTING",
            kind="INVOICE",
            reference=f"INV/{name}",
            date="2026-11-01",
            amount=amount,
            currency="EUR",
            status="OPEN",
        )
    query = """query($after: String) { partners(orderBy: [{field: TOTAL_INVOICED,
      direction: DESC}], first: 2, after: $after) { nodes { name }
      pageInfo { endCursor } } }"""
    page = gql(client, query)["partners"]
    assert [n["name"] for n in page["nodes"]] == ["Big", "Medium"]
    rest = gql(client, query, {"after": page["pageInfo"]["endCursor"]})["partners"]
    assert [n["name"] for n in rest["nodes"]] == ["Small"]


@pytest.fixture
def query_counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts the SQL statements the read side runs."""
    seen: list[str] = []
    original = psycopg.AsyncCursor.execute

    async def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        # Not the pool's liveness check of an idle connection (""), nor what the webhook
        # dispatcher reads when the projector's NOTIFY wakes it (it runs beside requests).
        if query != "" and not _from_background_worker():
            seen.append(str(query)[:40])
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counting)
    yield seen


def _from_background_worker() -> bool:
    return any("/app/webhooks/" in frame.filename for frame in traceback.extract_stack())


def test_a_page_of_partners_with_figures_costs_a_constant_number_of_queries(
    client: TestClient, query_counter: list[str]
) -> None:
    query = """{ partners(first: 50) { totalCount nodes { name tags { name }
      industry { name } commercialTerms { pricelist { name } }
      stats { invoiceCount amountDue { amount } overdueActivityCount }
      opportunities { name } } } }"""
    counts = []
    for total in (3, 12):
        while (
            len(gql(client, "{ partners(first: 100) { nodes { id } } }")["partners"]["nodes"])
            < total
        ):
            create(client, kind="COMPANY", name=f"Company {total}")
        query_counter.clear()
        assert len(gql(client, query)["partners"]["nodes"]) == total
        counts.append(len(query_counter))
    assert counts[0] == counts[1], query_counter
