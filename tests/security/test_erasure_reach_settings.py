"""Erasure reaches the settings that name a person: a segment's or a webhook endpoint's
filter, search, name, description and reasons. After `anonymizePartner`, no event of the
log holds the person's values in the clear nor under a key that still exists, and the
settings answer with the values erased; a setting that does not name the person is left
as it was. Deleting a setting erases the key of its text."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.domain.erasure import ERASED_TEXT
from app.infra.database import Database
from app.main import open_application
from app.schema.ids import from_global_id
from app.schema.parsing import parse_operation
from app.settings import Settings
from tests.conftest import gql
from tests.security.test_erasure_reach_caches import holders
from tests.webhooks.receivers import Receiver, receiving

PERSON = {
    "name": "Orsolya Quennbright",
    "email": "orsolya.quenn@example.net",
    "phone": "+32 471 55 90 12",
}
OLD_EMAIL = "o.quenn.old@example.net"
MARKERS = ("Quennbright", "orsolya.quenn", "o.quenn.old", "471 55 90 12", "471559012")

CREATE_PERSON = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { code message } } }"""
RENAME = """mutation($id: ID!, $name: String!) {
  updatePartner(input: {id: $id, name: $name}) { partner { id } userErrors { code } } }"""
UPDATE_PERSON = """mutation($id: ID!, $email: String!) {
  updatePartner(input: {id: $id, email: $email}) { partner { id } userErrors { code } } }"""
ANONYMIZE = """mutation($id: ID!) { anonymizePartner(input: {id: $id, reason: "asked"}) {
  partner { anonymized } userErrors { code message } } }"""
CREATE_SEGMENT = """mutation($input: CreateSegmentInput!) { createSegment(input: $input) {
  segment { id version } userErrors { field code message } } }"""
UPDATE_SEGMENT = """mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) {
  segment { id version } userErrors { field code message } } }"""
DELETE_SEGMENT = """mutation($id: ID!) { deleteSegment(input: {id: $id}) {
  userErrors { code message } } }"""
SEGMENT = """query($id: ID!) { node(id: $id) { ... on Segment { name description filter search
  version memberCount members(first: 5) { totalCount } } } }"""
CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } userErrors { code message } } }"""
DISABLE_ENDPOINT = """mutation($id: ID!, $why: String!) {
  disableWebhookEndpoint(input: {id: $id, reason: $why}) { userErrors { code message } } }"""
ENDPOINTS = """{ webhookEndpoints { id description filter disabledReason } }"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that acknowledges every delivery: no endpoint is disabled for failing
    while a test runs, however slow the machine."""
    with receiving() as started:
        yield started


def ok(data: dict[str, Any], name: str) -> dict[str, Any]:
    payload: dict[str, Any] = data[name]
    assert payload["userErrors"] == [], payload
    return payload


def stored_text(db: Database) -> str:
    """Every stored event's bytes, as text (what a copy of the log or `audit export` of
    its sealed values would show while their keys exist)."""
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute("SELECT convert_from(state, 'UTF8') FROM partnerbook_events")
        return "\n".join(r[0] for r in rows)


def readable_event_text(db: Database, settings: Settings) -> str:
    """Every event as the application reads it (decrypted with the keys that exist)."""
    with psycopg.connect(db.conninfo()) as conn:
        ids = [r[0] for r in conn.execute("SELECT DISTINCT originator_id FROM partnerbook_events")]
    app = open_application(db, settings)
    try:
        return "\n".join(
            repr(vars(event)) for ident in ids for event in app.repository.event_store.get(ident)
        )
    finally:
        app.close()


def served_again_erased(dispatcher: Any, hook_id: uuid.UUID) -> None:
    """Waits (by progress) until the dispatcher read the endpoint again and serves it,
    its filter's email erased."""
    for _ in range(600):
        row = dispatcher.endpoints.get(hook_id)
        if row is not None and row.enabled:
            break
        time.sleep(0.05)
    assert row is not None and row.enabled and row.filter == {"email": ERASED_TEXT}


def test_erasing_a_person_erases_the_settings_that_name_them(
    hooks: TestClient, receiver: Receiver, db: Database, settings: Settings
) -> None:
    person = ok(gql(hooks, CREATE_PERSON, {"input": {"kind": "PERSON", **PERSON}}), "createPartner")
    pid = person["partner"]["id"]
    ok(gql(hooks, UPDATE_PERSON, {"id": pid, "email": OLD_EMAIL}), "updatePartner")
    ok(gql(hooks, UPDATE_PERSON, {"id": pid, "email": PERSON["email"]}), "updatePartner")
    named = ok(
        gql(
            hooks,
            CREATE_SEGMENT,
            {
                "input": {
                    "name": "Orsolya Quennbright and friends",
                    "description": f"asked by {PERSON['email']}",
                    "filter": {"or": [{"email": OLD_EMAIL}, {"countryCode": "BE"}]},
                    "reason": f"for orsolya QUENN  bright? no: {PERSON['name']}",
                }
            },
        ),
        "createSegment",
    )["segment"]
    ok(
        gql(
            hooks,
            UPDATE_SEGMENT,
            {"input": {"id": named["id"], "search": "+32 471 55 90 12", "reason": "narrower"}},
        ),
        "updateSegment",
    )
    other = ok(
        gql(
            hooks, CREATE_SEGMENT, {"input": {"name": "Belgians", "filter": {"countryCode": "BE"}}}
        ),
        "createSegment",
    )["segment"]
    hook = ok(
        gql(
            hooks,
            CREATE_ENDPOINT,
            {
                "input": {
                    "url": receiver.url,
                    "description": f"changes of {PERSON['name']}",
                    "filter": {"email": PERSON["email"]},
                }
            },
        ),
        "createWebhookEndpoint",
    )["endpoint"]
    ok(
        gql(hooks, DISABLE_ENDPOINT, {"id": hook["id"], "why": f"paused for {PERSON['phone']}"}),
        "disableWebhookEndpoint",
    )
    # The settings' text is sealed from the start: nothing in the clear in the log.
    assert not [m for m in MARKERS if m.lower() in stored_text(db).lower()]

    answer = ok(gql(hooks, ANONYMIZE, {"id": pid}), "anonymizePartner")
    assert answer["partner"]["anonymized"] is True

    log = readable_event_text(db, settings).lower()
    assert [m for m in MARKERS if m.lower() in log] == []
    assert not [m for m in MARKERS if m.lower() in stored_text(db).lower()]
    seg = gql(hooks, SEGMENT, {"id": named["id"]})["node"]
    assert seg["name"] == f"{ERASED_TEXT} and friends"
    assert seg["description"] == f"asked by {ERASED_TEXT}"
    assert seg["filter"] == {"or": [{"email": ERASED_TEXT}, {"countryCode": "BE"}]}
    assert seg["search"] == ERASED_TEXT
    assert seg["members"]["totalCount"] == 0 and seg["memberCount"] == 0
    untouched = gql(hooks, SEGMENT, {"id": other["id"]})["node"]
    assert untouched["version"] == other["version"] and untouched["name"] == "Belgians"
    (row,) = [n for n in gql(hooks, ENDPOINTS)["webhookEndpoints"] if n["id"] == hook["id"]]
    assert row["description"] == f"changes of {ERASED_TEXT}"
    assert row["filter"] == {"email": ERASED_TEXT}
    assert row["disabledReason"] == ERASED_TEXT  # a text naming a phone number goes whole

    # Asked again: nothing more changes, and the settings still read.
    ok(gql(hooks, ANONYMIZE, {"id": pid}), "anonymizePartner")
    assert gql(hooks, SEGMENT, {"id": named["id"]})["node"]["version"] == seg["version"]


def test_deleting_a_segment_erases_the_key_of_its_text(
    hooks: TestClient, db: Database, settings: Settings
) -> None:
    created = ok(
        gql(
            hooks,
            CREATE_SEGMENT,
            {"input": {"name": "Zorvath list", "filter": {"email": "zorvath.k@example.org"}}},
        ),
        "createSegment",
    )["segment"]
    assert "zorvath" in readable_event_text(db, settings).lower()
    ok(gql(hooks, DELETE_SEGMENT, {"id": created["id"]}), "deleteSegment")
    assert "zorvath" not in readable_event_text(db, settings).lower()
    assert "zorvath" not in stored_text(db).lower()
    with psycopg.connect(db.conninfo()) as conn:
        (erased,) = conn.execute(
            "SELECT erased_at IS NOT NULL FROM partner_keys WHERE partner_id = %s",
            (from_global_id(created["id"])[1],),
        ).fetchone() or (None,)
    assert erased is True


def test_no_cache_of_the_process_keeps_a_setting_text_naming_an_erased_person(
    hooks: TestClient, receiver: Receiver
) -> None:
    """A segment's filter compiled for its members, an endpoint's row and filter held by
    the webhook dispatcher (and by a worker sending a batch): none keeps the person's
    value once the erasure answered. The person's own timeline rows that carried the
    value are left behind by the dispatcher's last wake (test_erasure_reach_webhooks.py
    covers those rows)."""
    token = "Zq" + uuid.uuid4().hex[:12]
    email = f"{token.lower()}@example.org"
    person = ok(
        gql(hooks, CREATE_PERSON, {"input": {"kind": "PERSON", "name": "Ann", "email": email}}),
        "createPartner",
    )["partner"]
    segment = ok(
        gql(hooks, CREATE_SEGMENT, {"input": {"name": "One", "filter": {"email": email}}}),
        "createSegment",
    )["segment"]
    assert gql(hooks, SEGMENT, {"id": segment["id"]})["node"]["memberCount"] == 1
    hook = ok(
        gql(
            hooks,
            CREATE_ENDPOINT,
            {"input": {"url": receiver.url, "filter": {"email": email}}},
        ),
        "createWebhookEndpoint",
    )["endpoint"]
    ok(gql(hooks, UPDATE_PERSON, {"id": person["id"], "email": "ann@example.org"}), "updatePartner")
    filler = ok(
        gql(hooks, CREATE_PERSON, {"input": {"kind": "COMPANY", "name": "Filler"}}), "createPartner"
    )["partner"]
    dispatcher = hooks.app.state.runtime.webhooks  # type: ignore[attr-defined]
    hook_id, person_id = from_global_id(hook["id"])[1], from_global_id(person["id"])[1]
    for n in range(600):  # by progress: the endpoint read, the person's rows out of the feed
        feed = dispatcher.feed
        if (
            hook_id in dispatcher.endpoints
            and feed is not None
            and feed.rows
            and all(r.partner_id != person_id for r in feed.rows)
        ):
            break
        ok(gql(hooks, RENAME, {"id": filler["id"], "name": f"Filler {n}"}), "updatePartner")
        time.sleep(0.05)
    assert dispatcher.endpoints[hook_id].filter == {"email": email}
    # The dispatcher reads the endpoints again only when the test lets it: what it holds
    # when the erasure answers is what the erasure's notice left.
    store = dispatcher.deps.store
    read_endpoints, let_read = store.endpoints, threading.Event()

    async def endpoints_when_let() -> Any:
        await asyncio.to_thread(let_read.wait)
        return await read_endpoints()

    store.endpoints = endpoints_when_let
    try:
        assert holders(token.lower()), "the text is held before the erasure (the check sees it)"
        ok(gql(hooks, ANONYMIZE, {"id": person["id"]}), "anonymizePartner")
        left = holders(token.lower())
        assert left == [], sorted(set(left))
    finally:
        let_read.set()
    served_again_erased(dispatcher, hook_id)


def test_deleting_settings_does_not_stop_the_webhook_deliveries_of_others(
    hooks: TestClient, receiver: Receiver
) -> None:
    """Each deleted segment erases a key, and every process is told so it drops the key.
    That notice must not be an erasure's: an editor deleting segments in a loop must not
    stop every endpoint's worker (a receiver slower than the loop would never get its
    events) nor empty every process's caches, as a person's erasure does."""
    hook = ok(
        gql(hooks, CREATE_ENDPOINT, {"input": {"url": receiver.url}}),
        "createWebhookEndpoint",
    )["endpoint"]
    filler = ok(
        gql(hooks, CREATE_PERSON, {"input": {"kind": "COMPANY", "name": "Filler"}}),
        "createPartner",
    )["partner"]
    dispatcher = hooks.app.state.runtime.webhooks  # type: ignore[attr-defined]
    hook_id = from_global_id(hook["id"])[1]
    for n in range(600):  # by progress: until a worker serves the endpoint
        if hook_id in dispatcher.serving:
            break
        ok(gql(hooks, RENAME, {"id": filler["id"], "name": f"Filler {n}"}), "updatePartner")
        time.sleep(0.05)
    worker, _ = dispatcher.serving[hook_id]
    parsed = parse_operation.cache_info().currsize
    for n in range(3):
        created = ok(
            gql(hooks, CREATE_SEGMENT, {"input": {"name": f"Short-lived {n}"}}), "createSegment"
        )["segment"]
        ok(gql(hooks, DELETE_SEGMENT, {"id": created["id"]}), "deleteSegment")
    assert dispatcher.serving[hook_id][0] is worker and not worker.done()
    assert parse_operation.cache_info().currsize >= parsed
