"""Two re-parentings sent at once that would close a cycle between them (A under B and B
under A, companies or tags): each checked the hierarchy as it was, before the other
saved, and each saves only its own record, so both were accepted and the hierarchy got
a cycle (which the domain refuses for any one request). Now exactly one is accepted,
the other is refused with INVALID_HIERARCHY (also with `expectedVersion`: its own record
did not change), and a
rebuild of the read models agrees.

Driven by progress, not by the clock: both requests are held, once each has read the
ancestry it checks against, until the other one has read its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import pytest

from app.application import Partnerbook
from app.application.base import CommandBase
from app.projections.projector import construct_view
from tests.projections.test_partners_projection import projector_for, table_rows
from tests.security.conftest import Live

PARTNER = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id version } userErrors { code message } } }"""
REPARENT = """mutation($id: ID!, $parent: ID!, $version: Int) {
  updatePartner(input: {id: $id, parentId: $parent, expectedVersion: $version}) {
    partner { id parent { id } } userErrors { field code message } } }"""
TAG = """mutation($name: String!) { createTag(input: {name: $name}) {
  tag { id } userErrors { code message } } }"""
RETAG = """mutation($id: ID!, $parent: ID!) { updateTag(input: {id: $id, parentId: $parent}) {
  tag { id fullName } userErrors { field code message } } }"""
PARENTS = """query($a: ID!, $b: ID!) { a: partner(id: $a) { parent { id } }
  b: partner(id: $b) { parent { id } } }"""


def hold_after(monkeypatch: pytest.MonkeyPatch, name: str, parties: int = 2) -> list[int]:
    """Holds the first `parties` calls of `CommandBase.<name>` (once each has its answer)
    until all of them have theirs; returns a list that counts the calls."""
    original: Callable[..., Any] = getattr(CommandBase, name)
    barrier = threading.Barrier(parties, timeout=60)
    calls: list[int] = []
    lock = threading.Lock()

    def held(self: CommandBase, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        with lock:
            calls.append(1)
            wait = len(calls) <= parties
        if wait:
            barrier.wait()
        return result

    monkeypatch.setattr(CommandBase, name, held)
    return calls


def both_at_once(live: Live, query: str, variables: list[dict[str, Any]]) -> list[Any]:
    def send(v: dict[str, Any]) -> Any:
        with httpx.Client(timeout=120) as client:
            response = live.post(query, v, client=client)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    with ThreadPoolExecutor(len(variables)) as pool:
        return list(pool.map(send, variables))


def assert_a_rebuild_agrees(live: Live, *tables: str) -> None:
    """The read models a projection of the whole log builds equal the live ones."""
    app = Partnerbook(env=live.db.eventsourcing_env(2, 5))
    try:
        env = live.db.eventsourcing_env(2, 5)
        rebuilt = construct_view(env, prefix="rebuild_")
        projector_for(app, live.db, rebuilt).catch_up()
        for table in tables:
            assert table_rows(live.db, table) == table_rows(live.db, f"rebuild_{table}"), table
    finally:
        app.close()


def test_two_companies_put_under_each_other_at_once_make_no_cycle(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = (live.data(PARTNER, {"name": n})["createPartner"]["partner"] for n in ("A", "B"))
    calls = hold_after(monkeypatch, "_parent_and_ancestry")
    answers = both_at_once(
        live,
        REPARENT,
        [{"id": a["id"], "parent": b["id"]}, {"id": b["id"], "parent": a["id"]}],
    )
    assert len(calls) >= 2
    payloads = [x["updatePartner"] for x in answers]
    accepted = [p for p in payloads if not p["userErrors"]]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(accepted) == 1 and len(refused) == 1, payloads
    assert [e["code"] for e in refused[0]["userErrors"]] == ["INVALID_HIERARCHY"], refused
    parents = live.data(PARENTS, {"a": a["id"], "b": b["id"]})
    set_parents = [p["parent"] for p in parents.values() if p["parent"]]
    assert len(set_parents) == 1, parents  # one of them has the other as parent, not both
    assert_a_rebuild_agrees(live, "partners")


def test_with_expected_versions_the_loser_is_refused_not_a_cycle(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = (live.data(PARTNER, {"name": n})["createPartner"]["partner"] for n in ("C", "D"))
    hold_after(monkeypatch, "_parent_and_ancestry")
    answers = both_at_once(
        live,
        REPARENT,
        [
            {"id": a["id"], "parent": b["id"], "version": a["version"]},
            {"id": b["id"], "parent": a["id"], "version": b["version"]},
        ],
    )
    payloads = [x["updatePartner"] for x in answers]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(refused) == 1, payloads
    # Its own record did not change: checked again, the cycle is what refuses it.
    assert [e["code"] for e in refused[0]["userErrors"]] == ["INVALID_HIERARCHY"], refused
    parents = live.data(PARENTS, {"a": a["id"], "b": b["id"]})
    assert len([p for p in parents.values() if p["parent"]]) == 1, parents


def test_two_tags_put_under_each_other_at_once_make_no_cycle(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = (live.data(TAG, {"name": n})["createTag"]["tag"] for n in ("Region", "EMEA"))
    calls = hold_after(monkeypatch, "_tag_ancestry")
    answers = both_at_once(
        live, RETAG, [{"id": a["id"], "parent": b["id"]}, {"id": b["id"], "parent": a["id"]}]
    )
    assert len(calls) >= 2
    payloads = [x["updateTag"] for x in answers]
    accepted = [p for p in payloads if not p["userErrors"]]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(accepted) == 1 and len(refused) == 1, payloads
    assert [e["code"] for e in refused[0]["userErrors"]] == ["INVALID_HIERARCHY"], refused
    # A cycle read as "Region / EMEA / Region / EMEA / ..." 64 levels deep.
    assert accepted[0]["tag"]["fullName"] in ("Region / EMEA", "EMEA / Region"), accepted
    assert_a_rebuild_agrees(live, "tags")
