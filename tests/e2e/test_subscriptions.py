"""Subscriptions through a real uvicorn server and real WebSockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.infra.database import Database
from tests.e2e.test_server import post, serving
from tests.e2e.ws_client import until_subscribed, websocket

COMPANY = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } } }"""
PERSON = """mutation($name: String!, $parent: ID) {
  createPartner(input: {kind: PERSON, name: $name, parentId: $parent}) { partner { id } } }"""
SALESPERSON = """mutation($name: String!) { createSalesperson(input: {name: $name}) {
  salesperson { id } } }"""
SCHEDULE = """mutation($p: ID!, $d: Date!, $a: ID) { scheduleActivity(input: {partnerId: $p,
  dueDate: $d, assigneeId: $a}) { activity { id } userErrors { code } } }"""
RESCHEDULE = """mutation($id: ID!, $d: Date!) { updateActivity(input: {id: $id, dueDate: $d}) {
  userErrors { code } } }"""
COMPLETE = """mutation($id: ID!) { completeActivity(input: {id: $id, feedback: "ok"}) {
  userErrors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelActivity(input: {id: $id}) { userErrors { code } } }"""
RENAME = """mutation($id: ID!, $name: String!) { updatePartner(input: {id: $id, name: $name}) {
  userErrors { code } } }"""
ACTIVITIES = """subscription($p: ID, $a: ID, $after: String) {
  activityChanged(partnerId: $p, assigneeId: $a, after: $after) {
    cursor kind activity { id state dueDate } } }"""
PARTNERS = """subscription($ids: [ID!], $after: String) { partnerChanged(partnerIds: $ids,
  after: $after) { cursor eventType partner { id name } changes } }"""
TIMELINE = """subscription($p: ID!, $after: String) { timeline(partnerId: $p, after: $after) {
  cursor kind summary partner { name } } }"""

pytestmark = pytest.mark.timeout(900)  # servers start slowly on a loaded machine


async def next_update(client: Any) -> dict[str, Any]:
    """The next PARTNER_UPDATED event. A subscription without a cursor starts at what
    its own process has seen, which may be just before the partner's creation made
    through another process: that creation may come first, and is skipped here."""
    for _ in range(3):
        event: dict[str, Any] = (await client.receive())["partnerChanged"]
        if event["eventType"] == "PARTNER_UPDATED":
            return event
    raise AssertionError("no update event")


def new_id(base: str, query: str, field: str, record: str, **variables: Any) -> str:
    result: str = post(base, query, variables)[field][record]["id"]
    return result


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Any:
    with serving({"PARTNERBOOK_DATABASE_URL": db.dsn}, tmp_path) as base:
        yield base


def test_activity_events_reach_the_subscribers_of_that_partner_only(api: str) -> None:
    base = api
    azure = new_id(base, COMPANY, "createPartner", "partner", name="Azure")
    other = new_id(base, COMPANY, "createPartner", "partner", name="Other")

    async def scenario() -> None:
        async with websocket(base) as mine, websocket(base) as theirs:
            await mine.subscribe(ACTIVITIES, {"p": azure})
            await theirs.subscribe(ACTIVITIES, {"p": other})
            await until_subscribed(base, 2)
            first = new_id(base, SCHEDULE, "scheduleActivity", "activity", p=azure, d="2030-01-10")
            post(base, RESCHEDULE, {"id": first, "d": "2030-01-12"})
            post(base, COMPLETE, {"id": first})
            second = new_id(base, SCHEDULE, "scheduleActivity", "activity", p=azure, d="2030-02-01")
            post(base, CANCEL, {"id": second})
            events = [(await mine.receive())["activityChanged"] for _ in range(5)]
            assert [e["kind"] for e in events] == [
                "ACTIVITY_SCHEDULED",
                "ACTIVITY_RESCHEDULED",
                "ACTIVITY_DONE",
                "ACTIVITY_SCHEDULED",
                "ACTIVITY_CANCELLED",
            ]
            assert [e["activity"]["id"] for e in events] == [first] * 3 + [second] * 2
            assert events[-1]["activity"]["state"] == "CANCELLED"
            assert await theirs.nothing_within(1.0)

    asyncio.run(scenario())


def test_the_assignee_filter(api: str) -> None:
    base = api
    azure = new_id(base, COMPANY, "createPartner", "partner", name="Azure")
    ann = new_id(base, SALESPERSON, "createSalesperson", "salesperson", name="Ann")
    bob = new_id(base, SALESPERSON, "createSalesperson", "salesperson", name="Bob")

    async def scenario() -> None:
        async with websocket(base) as client:
            await client.subscribe(ACTIVITIES, {"a": ann})
            await until_subscribed(base, 1)
            post(base, SCHEDULE, {"p": azure, "d": "2030-01-10", "a": bob})
            mine = new_id(
                base, SCHEDULE, "scheduleActivity", "activity", p=azure, d="2030-01-11", a=ann
            )
            event = (await client.receive())["activityChanged"]
            assert event["activity"]["id"] == mine
            assert await client.nothing_within(0.5)

    asyncio.run(scenario())


def test_resuming_from_a_cursor_misses_nothing_and_repeats_nothing(api: str) -> None:
    base = api
    azure = new_id(base, COMPANY, "createPartner", "partner", name="Azure")

    async def scenario() -> None:
        async with websocket(base) as client:
            await client.subscribe(PARTNERS, {"ids": [azure]})
            await until_subscribed(base, 1)
            for i in range(3):
                post(base, RENAME, {"id": azure, "name": f"Azure {i}"})
            seen = [(await client.receive())["partnerChanged"] for _ in range(3)]
            assert [e["changes"]["name"] for e in seen] == ["Azure 0", "Azure 1", "Azure 2"]
        for i in range(3, 8):  # while disconnected
            post(base, RENAME, {"id": azure, "name": f"Azure {i}"})
        async with websocket(base) as client:
            await client.subscribe(PARTNERS, {"ids": [azure], "after": seen[-1]["cursor"]})
            missed = [(await client.receive())["partnerChanged"] for _ in range(5)]
            assert [e["changes"]["name"] for e in missed] == [f"Azure {i}" for i in range(3, 8)]
            post(base, RENAME, {"id": azure, "name": "Azure live"})
            live = (await client.receive())["partnerChanged"]
            assert live["changes"]["name"] == "Azure live"
            assert live["partner"]["name"] == "Azure live"
            assert await client.nothing_within(0.5)

    asyncio.run(scenario())


def test_a_companys_timeline_includes_its_contacts_over_the_legacy_protocol(api: str) -> None:
    base = api
    azure = new_id(base, COMPANY, "createPartner", "partner", name="Azure")

    async def scenario() -> None:
        async with websocket(base, legacy=True) as client:
            await client.subscribe(TIMELINE, {"p": azure})
            await until_subscribed(base, 1)
            post(base, PERSON, {"name": "Brandon", "parent": azure})
            entry = (await client.receive())["timeline"]
            assert (entry["kind"], entry["partner"]["name"]) == ("PARTNER_CREATED", "Brandon")

    asyncio.run(scenario())


def test_a_change_through_one_process_reaches_a_subscriber_of_another(
    db: Database, tmp_path: Path
) -> None:
    env = {"PARTNERBOOK_DATABASE_URL": db.dsn}
    with serving(env, tmp_path) as first, serving(env, tmp_path) as second:
        azure = new_id(first, COMPANY, "createPartner", "partner", name="Azure")

        async def scenario() -> None:
            async with websocket(second) as client:
                await client.subscribe(PARTNERS, {"ids": [azure]})
                await until_subscribed(second, 1)
                post(first, RENAME, {"id": azure, "name": "Azure Interior"})
                event = await next_update(client)
                assert event["partner"]["name"] == "Azure Interior"

        asyncio.run(scenario())


def test_two_processes_on_one_embedded_data_directory(tmp_path: Path, embedded_home: Path) -> None:
    env = {"PARTNERBOOK_DATABASE_URL": "", "PARTNERBOOK_DATA_DIR": str(embedded_home / "data")}
    with serving(env, tmp_path) as first, serving(env, tmp_path) as second:
        azure = new_id(first, COMPANY, "createPartner", "partner", name="Azure")

        async def scenario() -> None:
            async with websocket(second) as client:
                await client.subscribe(PARTNERS, {"ids": [azure]})
                await until_subscribed(second, 1)
                post(first, RENAME, {"id": azure, "name": "Azure Interior"})
                event = await next_update(client)
                assert event["partner"]["name"] == "Azure Interior"

        asyncio.run(scenario())
