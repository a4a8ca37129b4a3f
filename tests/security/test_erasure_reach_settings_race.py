"""Erasure reaches the settings saved while it runs. `anonymizePartner` lists the
segments and webhook endpoints from the read models, reseals those that name the person,
then records `Anonymized`: a setting another editor saves between the listing and the
`Anonymized` (not yet listed, or listed before it existed) was saved before the person
was erased, and must be reached like the others. The tests let the other editor in at
each of those two points, by progress (a wrapped step), not by timing."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.domain.audited import Audit
from app.domain.erasure import ERASED_TEXT
from app.infra.database import Database
from app.schema.ids import from_global_id, to_global_id
from app.settings import Settings
from tests.conftest import gql
from tests.security.test_erasure_reach_caches import holders
from tests.security.test_erasure_reach_settings import (
    ANONYMIZE,
    CREATE_ENDPOINT,
    CREATE_PERSON,
    SEGMENT,
    ok,
    readable_event_text,
    receiver,
    served_again_erased,
    stored_text,
)
from tests.webhooks.receivers import Receiver

__all__ = ["receiver"]  # the fixture, shared


def _segment_values(n: int, name: str, email: str) -> dict[str, Any]:
    return {"name": f"Watch {n}: {name}", "description": None, "filter": {"email": email}}


def _ann(hooks: TestClient, token: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A person whose email holds `token`; the email in a dict the test's closures hold
    (emptied before a scan of the process's memory) and the person."""
    email = f"{token}@example.org"
    created = gql(
        hooks, CREATE_PERSON, {"input": {"kind": "PERSON", "name": "Ann", "email": email}}
    )
    return {"email": email}, ok(created, "createPartner")["partner"]


@pytest.mark.parametrize("step", ["reseal_for_erasure", "anonymize_partner"])
def test_a_segment_saved_while_the_erasure_runs_is_reached(
    hooks: TestClient, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """`reseal_for_erasure`: the segment is saved after the erasure listed the settings
    (the read models may not show it yet). `anonymize_partner`: after the first step
    resealed what it found, before `Anonymized` is recorded."""
    token = "mw" + uuid.uuid4().hex[:12]  # made here: no module constant holds it
    name, email = f"Yselde {token.title()}", f"yselde.{token}@example.org"
    who = {"name": name, "email": email}  # what the closures hold: emptied before the scan
    person = ok(
        gql(hooks, CREATE_PERSON, {"input": {"kind": "PERSON", "name": name, "email": email}}),
        "createPartner",
    )["partner"]
    app = hooks.app.state.runtime.services.app  # type: ignore[attr-defined]
    saved: list[Any] = []
    original: Callable[..., Any] = getattr(app, step)

    def another_editor_first(*args: Any, **kwargs: Any) -> Any:
        editor = Audit("another-editor", f"race-{len(saved)}")
        values = _segment_values(len(saved), who["name"], who["email"])
        saved.append(app.create_segment(values, editor).id)
        return original(*args, **kwargs)

    monkeypatch.setattr(app, step, another_editor_first)
    answer = ok(gql(hooks, ANONYMIZE, {"id": person["id"]}), "anonymizePartner")
    monkeypatch.undo()
    assert answer["partner"]["anonymized"] is True and len(saved) == 1
    who.clear()
    assert holders(token) == []  # nor does the process keep what the erasure read
    assert token not in readable_event_text(db, settings).lower()
    assert token not in stored_text(db).lower()
    node = gql(hooks, SEGMENT, {"id": to_global_id("Segment", saved[0])})["node"]
    assert node["name"] == f"Watch 0: {ERASED_TEXT}"
    assert node["filter"] == {"email": ERASED_TEXT}


def test_no_process_keeps_an_endpoint_changed_while_the_erasure_runs(
    hooks: TestClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint another editor points at the person between the two steps is read by
    the webhook dispatcher after the erasure's notice (its row still names the person
    until the late step reseals it). Once the erasure answered, no process holds it: the
    dispatcher, kept from reading the endpoints again, must have dropped what it read."""
    token = "kq" + uuid.uuid4().hex[:12]
    who, person = _ann(hooks, token)
    hook = ok(
        gql(hooks, CREATE_ENDPOINT, {"input": {"url": receiver.url}}), "createWebhookEndpoint"
    )["endpoint"]
    hook_id = from_global_id(hook["id"])[1]
    runtime = hooks.app.state.runtime  # type: ignore[attr-defined]
    app, dispatcher = runtime.services.app, runtime.webhooks
    store, let_read = dispatcher.deps.store, threading.Event()
    read_endpoints = store.endpoints
    anonymize, reseal_late = app.anonymize_partner, app.reseal_late

    def pointed_at_the_person_first(*args: Any, **kwargs: Any) -> Any:
        changes = {"filter": dict(who), "description": f"follows {who['email']}"}
        app.update_webhook_endpoint(
            hook_id, changes, Audit("another-editor", "race"), None, allow_http=True
        )
        return anonymize(*args, **kwargs)

    async def endpoints_when_let() -> Any:
        await asyncio.to_thread(let_read.wait)
        return await read_endpoints()

    def once_the_dispatcher_read_it(*args: Any, **kwargs: Any) -> Any:
        for _ in range(600):  # by progress: read again after the erasure's notice
            row = dispatcher.endpoints.get(hook_id)
            if row is not None and row.filter == who:
                break
            time.sleep(0.05)
        assert row is not None and row.filter == who
        store.endpoints = endpoints_when_let
        return reseal_late(*args, **kwargs)

    monkeypatch.setattr(app, "anonymize_partner", pointed_at_the_person_first)
    monkeypatch.setattr(app, "reseal_late", once_the_dispatcher_read_it)
    try:
        ok(gql(hooks, ANONYMIZE, {"id": person["id"]}), "anonymizePartner")
        who.clear()
        left = holders(token)
        assert left == [], sorted(set(left))
    finally:
        let_read.set()
        monkeypatch.undo()
    served_again_erased(dispatcher, hook_id)


def test_endpoints_read_across_the_erasure_notice_are_not_kept(
    hooks: TestClient, receiver: Receiver
) -> None:
    """The webhook dispatcher reads the endpoints, the erasure's notice comes while it
    waits for the answer, and the answer (read before the erasure resealed them) names
    the person. The notice dropped what the dispatcher held; what arrives after it must
    not bring the person's value back."""
    token = "rv" + uuid.uuid4().hex[:12]
    who, person = _ann(hooks, token)
    dispatcher = hooks.app.state.runtime.webhooks  # type: ignore[attr-defined]
    store = dispatcher.deps.store
    read_endpoints = store.endpoints
    held, answer, again, let_again = (threading.Event() for _ in range(4))

    async def held_across_the_erasure(*args: Any) -> Any:
        task = asyncio.current_task()
        if args or task is None or task.get_name() != "webhook-dispatcher":
            return await read_endpoints(*args)  # another reader's (a mutation's, a worker's)
        if again.is_set() or held.is_set():  # the read after the one held
            again.set()
            await asyncio.to_thread(let_again.wait)
            return await read_endpoints()
        found = await read_endpoints()
        if any(e.filter == who for e in found):
            held.set()
            await asyncio.to_thread(answer.wait)
        return found

    store.endpoints = held_across_the_erasure
    try:
        ok(
            gql(hooks, CREATE_ENDPOINT, {"input": {"url": receiver.url, "filter": dict(who)}}),
            "createWebhookEndpoint",
        )
        assert held.wait(30), "the dispatcher read the endpoint"
        ok(gql(hooks, ANONYMIZE, {"id": person["id"]}), "anonymizePartner")
        answer.set()  # the answer read before the erasure arrives after it
        assert again.wait(30), "the dispatcher went on to its next read"
        who.clear()
        left = holders(token)
        assert left == [], sorted(set(left))
    finally:
        answer.set()
        let_again.set()
        store.endpoints = read_endpoints
