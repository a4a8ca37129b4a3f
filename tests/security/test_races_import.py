"""Imports that give a company another parent, racing a move (updatePartner, or another
import) that would close a cycle with it: each checked the hierarchy as it was, before
the other saved. Now the import's move is saved with the hierarchy's guard (as
updatePartner's, app/domain/hierarchy.py): the loser is checked again and refused
(INVALID_HIERARCHY; for an import, that row only, the others imported).

Driven by progress, never by the clock: either both commands are held, once each has
read the ancestry it checks against, until the other has read its own; or the other
writer runs to its end just before the import saves the move it checked."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx2 as httpx
import pytest

from app.application import Partnerbook
from app.application.importing.known import ImportLookups, KnownPartner
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.schema.ids import from_global_id
from tests.security.conftest import Live, chain, company
from tests.security.test_races_hierarchy import (
    PARENTS,
    PARTNER,
    REPARENT,
    assert_a_rebuild_agrees,
    hold_after,
)

AUDIT = Audit(actor="test", request_id="r-races-import")
CYCLE = "this parent would make a cycle in the hierarchy"
IMPORT = """mutation($input: ImportPartnersInput!) { importPartners(input: $input) {
  created updated rejected { row field message } userErrors { code message } } }"""


def xid(partner_id: UUID | str) -> str:
    """The external id of a partner (a uuid, or a global id of the API)."""
    if isinstance(partner_id, str):
        partner_id = from_global_id(partner_id)[1]
    return oc.xid_of_partner(partner_id, None)


def at_once(live: Live, *requests: tuple[str, dict[str, Any]]) -> list[Any]:
    def send(request: tuple[str, dict[str, Any]]) -> Any:
        with httpx.Client(timeout=120) as client:
            return live.data(*request, client=client)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_an_import_and_an_update_putting_two_companies_under_each_other_make_no_cycle(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """importPartners puts A under B while updatePartner puts B under A."""
    a, b = (live.data(PARTNER, {"name": n})["createPartner"]["partner"] for n in ("A", "B"))
    rows = [
        {"name": "Bystander", "isCompany": True},
        {"externalId": xid(a["id"]), "isCompany": True, "parentExternalId": xid(b["id"])},
    ]
    calls = hold_after(monkeypatch, "_parent_and_ancestry")
    imported, updated = at_once(
        live,
        (IMPORT, {"input": {"rows": rows}}),
        (REPARENT, {"id": b["id"], "parent": a["id"]}),
    )
    assert len(calls) >= 2
    report = imported["importPartners"]
    assert report["userErrors"] == [] and report["created"] == 1, report  # the bystander
    refused_update = updated["updatePartner"]["userErrors"]
    if report["rejected"]:  # the import lost: its moving row only
        assert report["rejected"] == [{"row": 2, "field": "parentName", "message": CYCLE}]
        assert refused_update == [], updated
    else:
        assert report["updated"] == 1, report
        assert [e["code"] for e in refused_update] == ["INVALID_HIERARCHY"], updated
    parents = live.data(PARENTS, {"a": a["id"], "b": b["id"]})
    assert len([p for p in parents.values() if p["parent"]]) == 1, parents
    assert_a_rebuild_agrees(live, "partners")


def known(app: Partnerbook, *ids: UUID) -> ImportLookups:
    """The look-ups the read model would give for these partners (as they are now)."""
    partners = []
    for partner_id in ids:
        p: Partner = app.repository.get(partner_id)
        values = {k: v for k, v in p.values.items() if v is not None}
        values["tag_ids"] = list(values.get("tag_ids") or [])
        partners.append(KnownPartner(p.id, p.kind, p.archived, values))
    return ImportLookups(partners=partners)


def rows(*records: dict[str, Any]) -> list[oc.OdooRow]:
    return [oc.read_row(n, r) for n, r in enumerate(records, start=1)]


def move(child: UUID, parent: UUID | str) -> dict[str, Any]:
    """A row putting the company `child` under `parent` (an id, or an external id)."""
    under = xid(parent) if isinstance(parent, UUID) else parent
    return {"id": xid(child), "is_company": "1", "parent_id/id": under}


def before_saving(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch, moving: UUID, other: Callable[[], Any]
) -> list[Any]:
    """Runs `other` (to its end) just before the import saves the aggregates holding
    `moving`, once; returns what it answered."""
    save = app.save
    answered: list[Any] = []

    def other_first(*aggregates: Any, **kwargs: Any) -> Any:
        if not answered and any(a.id == moving for a in aggregates):
            monkeypatch.setattr(app, "save", save)
            answered.append(other())
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", other_first)
    return answered


def assert_no_cycle(app: Partnerbook, *ids: UUID) -> None:
    for partner_id in ids:
        path = chain(app, partner_id)
        assert len(path) == len(set(path)), path


def test_two_imports_putting_two_companies_under_each_other_make_no_cycle(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first import checked A under B; the second puts B under A and saves first."""
    a, b = company(app, "A"), company(app, "B")
    lookups = known(app, a, b)
    answered = before_saving(
        app, monkeypatch, a, lambda: app.import_partners(rows(move(b, a)), lookups, AUDIT)
    )
    first = app.import_partners(
        rows({"name": "Bystander", "is_company": "1"}, move(a, b)), lookups, AUDIT
    )
    (second,) = answered
    assert (second.updated, second.rejected) == (1, [])
    assert (first.created, first.updated) == (1, 0), first
    assert [(p.row, p.column, p.message) for p in first.rejected] == [(2, "parent_id", CYCLE)]
    assert app.repository.get(b).parent_id == a and app.repository.get(a).parent_id is None
    assert_no_cycle(app, a, b)


def test_an_import_that_loses_to_an_update_refuses_its_row_only(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import checked A under B; updatePartner puts B under A and saves first."""
    a, b = company(app, "A"), company(app, "B")
    lookups = known(app, a, b)
    before_saving(app, monkeypatch, a, lambda: app.update_partner(b, {"parent_id": str(a)}, AUDIT))
    report = app.import_partners(
        rows(move(a, b), {"name": "After", "is_company": "1"}), lookups, AUDIT
    )
    assert (report.created, report.updated) == (1, 0), report
    assert [(p.row, p.column, p.message) for p in report.rejected] == [(1, "parent_id", CYCLE)]
    assert_no_cycle(app, a, b)


def test_a_move_under_a_company_the_import_creates_is_checked_against_its_ancestry(
    app: Partnerbook,
) -> None:
    """C is on top, A under C. The file creates N under A, then puts C under N: C, N, A
    would be a cycle (the new N's ancestry was not read: N is not registered yet)."""
    c = company(app, "C")
    a = company(app, "A", parent=c)
    report = app.import_partners(
        rows(
            {"id": "new.n", "name": "N", "is_company": "1", "parent_id/id": xid(a)},
            move(c, "new.n"),
        ),
        known(app, a, c),
        AUDIT,
    )
    assert report.created == 1, report
    assert [(p.row, p.column, p.message) for p in report.rejected] == [(2, "parent_id", CYCLE)]
    assert app.repository.get(c).parent_id is None
    dry = app.import_partners(
        rows(
            {"id": "new.m", "name": "M", "is_company": "1", "parent_id/id": xid(a)},
            move(c, "new.m"),
        ),
        known(app, a, c),
        AUDIT,
        dry_run=True,
    )
    assert [(p.row, p.message) for p in dry.rejected] == [(2, CYCLE)]


def test_a_move_under_a_new_company_racing_an_update_makes_no_cycle(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file creates N under A and puts C under N; updatePartner puts A under C just
    before the import saves C's move: C, N, A would be a cycle."""
    a, c = company(app, "A"), company(app, "C")
    answered = before_saving(
        app, monkeypatch, c, lambda: app.update_partner(a, {"parent_id": str(c)}, AUDIT)
    )
    report = app.import_partners(
        rows(
            {"id": "new.n", "name": "N", "is_company": "1", "parent_id/id": xid(a)},
            move(c, "new.n"),
        ),
        known(app, a, c),
        AUDIT,
    )
    assert answered and report.created == 1, report
    assert [(p.row, p.message) for p in report.rejected] == [(2, CYCLE)]
    assert_no_cycle(app, a, c)


def test_an_import_moving_no_company_loads_no_guard(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contacts put under a company, companies created under one, other values changed:
    no move can close a cycle, and the import reads nothing more than before."""
    top = company(app, "Top")
    other = company(app, "Other")
    under = company(app, "Under", parent=top)
    person = app.create_partner("PERSON", {"name": "Pat"}, AUDIT).id
    loads: list[Any] = []
    monkeypatch.setattr(Partnerbook, "_hierarchy_guard", lambda *a: loads.append(a))
    report = app.import_partners(
        rows(
            {"id": xid(person), "parent_id/id": xid(top)},
            {"name": "Sub", "is_company": "1", "parent_id/id": xid(top)},
            {"id": xid(other), "is_company": "1", "city": "Lyon"},
            {"id": xid(under), "is_company": "1", "parent_id/id": xid(top), "city": "Nice"},
        ),
        known(app, top, other, under, person),
        AUDIT,
    )
    assert (report.created, report.updated, report.rejected) == (1, 3, []), report
    assert loads == []
