"""A partner an import creates from an inactive row (`active` false) is saved active with
its batch, and archived by a last save once every row is in (its contacts may be
active). Someone may change it in between: its id is known beforehand (made of the
external id, or of the idempotency key and the row). That last save then conflicted,
and holding no row it re-raised: the import failed (INTERNAL through the API) after its
rows were saved, the partner left active. Now it is archived again from its latest
version, as bulk edits retry.

Driven by progress: the other writer runs to its end just before the import's last save."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import pytest

from app.application import Partnerbook
from app.application.importing.known import EXTERNAL_ID_NAMESPACE, ImportLookups, keyed_id
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.partner import Partner

AUDIT = Audit(actor="test", request_id="r-races-import-archive")


def before_archiving(app: Partnerbook, monkeypatch: pytest.MonkeyPatch, other: Any) -> list[Any]:
    """Runs `other` just before the save that archives (the import's last), once."""
    save = app.save
    done: list[Any] = []

    def other_first(*aggregates: Any, **kwargs: Any) -> Any:
        archiving = any(
            type(e).__name__ == "Archived" for a in aggregates for e in a.pending_events
        )
        if archiving and not done:
            done.append(other())
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", other_first)
    return done


def test_an_inactive_row_updated_before_the_last_save_is_still_archived(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = uuid5(EXTERNAL_ID_NAMESPACE, "crm.gone")
    done = before_archiving(
        app, monkeypatch, lambda: app.update_partner(gone, {"city": "Lyon"}, AUDIT)
    )
    rows = [
        oc.read_row(1, {"id": "crm.gone", "name": "Gone Ltd", "is_company": "1", "active": "0"}),
        oc.read_row(2, {"name": "Kept Ltd", "is_company": "1"}),
    ]
    report = app.import_partners(rows, ImportLookups(), AUDIT)
    assert done and (report.created, report.rejected) == (2, []), report
    partner: Partner = app.repository.get(gone)
    assert partner.archived and partner.values["city"] == "Lyon"  # both kept
    head = app.recorder.max_notification_id()
    assert report.position is not None and head is not None
    assert report.position >= head  # answered once the archiving is visible


def test_an_inactive_keyed_row_archived_meanwhile_is_left_as_it_is(
    app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer archived it (and restored, and archived it again) meanwhile:
    nothing more to archive."""
    bob = keyed_id("k", 1)

    def archive_restore_archive() -> None:
        for step in (app.archive_partner, app.restore_partner, app.archive_partner):
            step(bob, AUDIT)

    done = before_archiving(app, monkeypatch, archive_restore_archive)
    rows = [oc.read_row(1, {"name": "Bob", "active": "0"})]
    report = app.import_partners(rows, ImportLookups(), AUDIT, idempotency_key="k")
    assert done and (report.created, report.rejected) == (1, []), report
    partner: Partner = app.repository.get(bob)
    assert partner.archived and partner.version == 4


def test_an_inactive_row_is_archived_as_before_when_no_one_interferes(app: Partnerbook) -> None:
    rows = [oc.read_row(1, {"id": "crm.calm", "name": "Calm", "active": "0"})]
    report = app.import_partners(rows, ImportLookups(), AUDIT)
    partner: Partner = app.repository.get(uuid5(EXTERNAL_ID_NAMESPACE, "crm.calm"))
    assert report.created == 1 and partner.archived and partner.version == 2
    assert isinstance(partner.id, UUID)
