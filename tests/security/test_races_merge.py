"""Merges and unmerges against the no-cycle rule of the partner hierarchy, alone and
racing a move (driven by progress: each of two commands, once it has read the hierarchy,
waits until the other has read it too, so both check what was there before either saves).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.application import Partnerbook
from app.application.base import CommandBase
from app.application.merging import MergeCommands, MergeOutcome
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from tests.security.conftest import chain, company

AUDIT = Audit(actor="test", request_id="r-races-merge")


def test_an_unmerge_does_not_move_a_child_back_under_its_own_descendant(
    app: Partnerbook,
) -> None:
    top = company(app, "Top")
    source = company(app, "Source", parent=top)
    child = company(app, "Child", parent=source)
    destination = company(app, "Destination")
    app.merge_partners(destination, [source], {source: {"children": [str(child)]}}, AUDIT)
    assert app.repository.get(child).parent_id == destination
    app.update_partner(top, {"parent_id": str(child)}, AUDIT)  # Top under Child, now allowed
    outcome = app.unmerge_partner(source, AUDIT)
    path = chain(app, child)
    assert len(path) == len(set(path)), path  # no partner is its own ancestor
    assert [(m.kind, m.id) for m in outcome.left] == [("children", child)]
    assert app.repository.get(child).parent_id == destination  # left where it is
    assert app.repository.get(source).parent_id == top and not app.repository.get(source).archived


def hold_first_reads(monkeypatch: pytest.MonkeyPatch, *names: tuple[type, str]) -> None:
    """Each of two threads, at its first call of one of these methods (once answered),
    waits for the other to get there too: both read the hierarchy before either saves."""
    barrier = threading.Barrier(2, timeout=60)
    state = threading.local()
    for owner, name in names:
        original: Callable[..., Any] = getattr(owner, name)

        def held(self: Any, *args: Any, _original: Callable[..., Any] = original, **kw: Any) -> Any:
            result = _original(self, *args, **kw)
            if not getattr(state, "waited", False):
                state.waited = True
                barrier.wait()
            return result

        monkeypatch.setattr(owner, name, held)


def run_both(*calls: Callable[[], Any]) -> list[Any]:
    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except DomainError as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(outcome, calls))


def test_a_merge_and_a_move_at_once_close_no_cycle(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Destination under Top; Source's child Child moves under Destination with the merge,
    while Top is put under Child: both checked the hierarchy as it was."""
    top = company(app, "Top")
    destination = company(app, "Destination", parent=top)
    source = company(app, "Source")
    child = company(app, "Child", parent=source)
    hold_first_reads(
        monkeypatch, (MergeCommands, "_ancestors"), (CommandBase, "_parent_and_ancestry")
    )
    owned = {source: {"children": [str(child)]}}
    results = run_both(
        lambda: app.merge_partners(destination, [source], owned, AUDIT),
        lambda: app.update_partner(top, {"parent_id": str(child)}, AUDIT),
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1, results
    assert [e.code for e in refused[0].errors] == [ErrorCode.INVALID_HIERARCHY], refused
    for partner in (top, destination, child):
        path = chain(app, partner)
        assert len(path) == len(set(path)), path


def test_a_into_b_and_b_into_a_at_once_merge_once(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = company(app, "A"), company(app, "B")
    hold_first_reads(monkeypatch, (MergeCommands, "_ancestors"))
    results = run_both(
        lambda: app.merge_partners(b, [a], {}, AUDIT),
        lambda: app.merge_partners(a, [b], {}, AUDIT),
    )
    won = [r for r in results if isinstance(r, MergeOutcome)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(refused) == 1, results
    assert refused[0].errors[0].code is ErrorCode.ARCHIVED, refused
    partners: list[Partner] = [app.repository.get(a), app.repository.get(b)]
    assert len([p for p in partners if p.merged_into]) == 1
