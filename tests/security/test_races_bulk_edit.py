"""bulkUpdatePartners sent twice at once with the same idempotencyKey.

Driven by progress: each request, once it has found no earlier bulk edit under the key
(and checked its references), waits until the other one got there too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from app.application import Partnerbook, bulk_edit
from app.application.bulk_edit import BulkEditCommands, bulk_job_id
from app.domain.audited import Audit
from app.domain.bulk_edit import BulkChanges, BulkEdit
from app.domain.errors import DomainError, ErrorCode
from app.domain.idempotency import input_digest
from app.infra.database import Database
from tests.security.conftest import Live

BULK = """mutation($input: BulkUpdatePartnersInput!) { bulkUpdatePartners(input: $input) {
  matched changed unchanged refusedCount jobId userErrors { field code message } } }"""
TAG = """mutation($name: String!) { createTag(input: {name: $name}) { tag { id } } }"""
PARTNER = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } } }"""
AUDIT = Audit(actor="test", request_id="r-races-bulk")
TAGS = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Partner { id tags { name } } } }"""


def hold_after_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    original: Callable[..., Any] = BulkEditCommands._check_bulk_references
    barrier = threading.Barrier(2, timeout=60)
    calls: list[int] = []

    def held(self: BulkEditCommands, *args: Any) -> Any:
        result = original(self, *args)
        calls.append(1)
        if len(calls) <= 2:
            barrier.wait()
        return result

    monkeypatch.setattr(BulkEditCommands, "_check_bulk_references", held)
    return calls


def hold_the_key_until_the_other_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first to claim the key keeps it, unfinished, until the other has tried to
    claim it too: left to the machine, the first could finish before the other looked,
    and the other would (rightly) answer its outcome instead of CONFLICT."""
    original: Callable[..., Any] = BulkEditCommands._claim_bulk
    claimed, tried = threading.Event(), threading.Event()
    order: list[str] = []
    lock = threading.Lock()

    def in_turn(self: BulkEditCommands, *args: Any) -> Any:
        with lock:
            first = not order
            order.append("first" if first else "second")
        if first:
            try:
                result = original(self, *args)
            finally:
                claimed.set()
            assert tried.wait(60)
            return result
        assert claimed.wait(60)
        try:
            return original(self, *args)
        finally:
            tried.set()

    monkeypatch.setattr(BulkEditCommands, "_claim_bulk", in_turn)


def both_at_once(live: Live, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def send(input: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(timeout=120) as client:
            response = live.post(BULK, {"input": input}, client=client)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        payload: dict[str, Any] = body["data"]["bulkUpdatePartners"]
        return payload

    with ThreadPoolExecutor(len(inputs)) as pool:
        return list(pool.map(send, inputs))


def setup(live: Live) -> tuple[list[str], str, str]:
    ids = [live.data(PARTNER, {"name": f"P{i}"})["createPartner"]["partner"]["id"] for i in (1, 2)]
    gold, silver = (
        live.data(TAG, {"name": n})["createTag"]["tag"]["id"] for n in ("Gold", "Silver")
    )
    return ids, gold, silver


def tags_of(live: Live, ids: list[str]) -> list[list[str]]:
    nodes = live.data(TAGS, {"ids": ids})["nodes"]
    return [sorted(t["name"] for t in n["tags"]) for n in nodes]


def test_the_same_key_with_another_input_at_once_applies_one_and_refuses_the_other(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, gold, silver = setup(live)
    calls = hold_after_checks(monkeypatch)
    answers = both_at_once(
        live,
        [
            {"ids": ids, "changes": {"addTagIds": [gold]}, "idempotencyKey": "k-1"},
            {"ids": ids, "changes": {"addTagIds": [silver]}, "idempotencyKey": "k-1"},
        ],
    )
    assert len(calls) == 2
    accepted = [a for a in answers if not a["userErrors"]]
    refused = [a for a in answers if a["userErrors"]]
    assert len(accepted) == 1 and len(refused) == 1, answers
    assert [(e["field"], e["code"]) for e in refused[0]["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ], refused
    assert accepted[0]["changed"] == 2
    winner = "Gold" if answers[0] is accepted[0] else "Silver"
    assert tags_of(live, ids) == [[winner], [winner]]  # the refused one changed nothing


def test_the_same_request_twice_at_once_runs_once_and_the_other_is_told_to_retry(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ran, and the outcome recorded was the first to finish: under load the one
    that found every partner changed already (changed 0) finished first, and the key
    answered "changed 0" for good. Now, as a payment API answers a key in use, the one
    that did not take the key is CONFLICT on `idempotencyKey` and changes nothing; sent
    again, it gets the outcome."""
    ids, gold, _ = setup(live)
    hold_after_checks(monkeypatch)
    hold_the_key_until_the_other_tried(monkeypatch)
    same = {"ids": ids, "changes": {"addTagIds": [gold]}, "idempotencyKey": "k-2"}
    answers = both_at_once(live, [same, same])
    accepted = [a for a in answers if not a["userErrors"]]
    refused = [a for a in answers if a["userErrors"]]
    assert len(accepted) == 1 and len(refused) == 1, answers
    assert [(e["field"], e["code"]) for e in refused[0]["userErrors"]] == [
        (["idempotencyKey"], "CONFLICT")
    ], refused
    assert accepted[0]["changed"] == 2 and accepted[0]["jobId"]
    assert tags_of(live, ids) == [["Gold"], ["Gold"]]
    again = live.data(BULK, {"input": same})["bulkUpdatePartners"]
    assert again == accepted[0]


def test_another_input_after_the_key_was_taken_is_refused(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order the first test leaves to the machine, forced: both found no bulk edit
    under the key, then the first took it before the second looked again. The second
    went on without comparing its input (it applied Silver beside Gold)."""
    ids, gold, silver = setup(live)
    hold_after_checks(monkeypatch)
    hold_the_key_until_the_other_tried(monkeypatch)
    answers = both_at_once(
        live,
        [
            {"ids": ids, "changes": {"addTagIds": [gold]}, "idempotencyKey": "k-4"},
            {"ids": ids, "changes": {"addTagIds": [silver]}, "idempotencyKey": "k-4"},
        ],
    )
    refused = [a for a in answers if a["userErrors"]]
    assert len(refused) == 1, answers
    assert [(e["field"], e["code"]) for e in refused[0]["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ], refused
    assert tags_of(live, ids) in ([["Gold"], ["Gold"]], [["Silver"], ["Silver"]])


def test_a_started_bulk_edit_that_never_finished_is_run_by_its_repeat(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that died between taking the key and recording the outcome: once the
    key is older than a run may take (STALE_AFTER, set to nothing here), the same input
    runs it (and records the outcome); another input is still refused."""
    monkeypatch.setattr(bulk_edit, "STALE_AFTER", timedelta(0))
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        partner = app.create_partner("COMPANY", {"name": "P"}, AUDIT).id
        changes = BulkChanges(is_customer=True)
        request = {"ids": [str(partner)], "changes": changes.as_request()}
        digest = input_digest(request, app.idempotency_secret)
        app.save(BulkEdit.start(bulk_job_id("k-3"), digest, AUDIT))
        other = BulkChanges(is_supplier=True)
        with pytest.raises(DomainError) as refused:
            app.bulk_update_partners([partner], other, AUDIT, limit=10, idempotency_key="k-3")
        assert [e.code for e in refused.value.errors] == [ErrorCode.VALIDATION]
        done = app.bulk_update_partners([partner], changes, AUDIT, limit=10, idempotency_key="k-3")
        assert done.outcome.changed == 1 and done.position is not None
        head = app.recorder.max_notification_id()
        again = app.bulk_update_partners([partner], changes, AUDIT, limit=10, idempotency_key="k-3")
        # Answered from the outcome, nothing recorded; the answer waits for the head.
        assert again.outcome == done.outcome
        assert again.position == head == app.recorder.max_notification_id()
        assert app.repository.get(partner).values.get("is_supplier") is not True
    finally:
        app.close()


def test_a_bulk_edit_recorded_in_one_event_before_still_answers(db: Database) -> None:
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        partner = app.create_partner("COMPANY", {"name": "P"}, AUDIT).id
        changes = BulkChanges(is_customer=True)
        request = {"ids": [str(partner)], "changes": changes.as_request()}
        old = BulkEdit._create(
            BulkEdit.Recorded,
            id=bulk_job_id("k-4"),
            digest=input_digest(request, app.idempotency_secret),
            matched=1,
            changed=1,
            unchanged=0,
            refused=[],
            refused_count=0,
            **AUDIT.as_event_fields(),
        )
        app.save(old)
        head = app.recorder.max_notification_id()
        again = app.bulk_update_partners([partner], changes, AUDIT, limit=10, idempotency_key="k-4")
        assert (again.outcome.changed, again.position) == (1, head)  # recorded nothing
        assert app.recorder.max_notification_id() == head
        assert app.repository.get(partner).values.get("is_customer") is not True  # answered
        with pytest.raises(DomainError):
            app.bulk_update_partners(
                [partner], BulkChanges(is_supplier=True), AUDIT, limit=10, idempotency_key="k-4"
            )
    finally:
        app.close()
