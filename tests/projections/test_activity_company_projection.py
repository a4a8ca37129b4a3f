"""Activities naming a company in the activities and timeline read models: a rebuild
equals the incrementally kept tables after merges and an unmerge of named companies, and
the rows say where each activity went."""

from __future__ import annotations

from uuid import UUID

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.database import Database
from tests.projections.rebuilt import live_and_rebuilt
from tests.projections.test_partners_projection import table_rows

AUDIT = Audit(actor="test", request_id="r-1", reason="zq reason")
DUE = {"summary": "zq call", "due_date": "2099-01-01"}


def _owned(app: Partnerbook, partner: UUID) -> dict[str, list[str]]:
    """The activities a merge of `partner` moves, from the event log: those with it or
    naming it (the read model would say the same)."""
    seen: dict[str, list[str]] = {"activities": []}
    for record in app.recorder.select_notifications(1, 10_000):
        if record.topic.endswith("Activity.Scheduled") and str(partner).encode() in record.state:
            seen["activities"].append(str(record.originator_id))
    return seen


def _history(app: Partnerbook) -> dict[str, UUID]:
    made = {
        name: app.create_partner("COMPANY", {"name": name}, AUDIT).id
        for name in ("home", "beta", "group", "other", "dest")
    }
    person = app.create_partner(
        "PERSON", {"name": "zq person", "parent_id": str(made["home"])}, AUDIT
    )
    made["person"] = person.id
    seats = [app.add_affiliation(person.id, made[c], {}, AUDIT).id for c in ("beta", "other")]
    for partner, company in (
        (person.id, made["beta"]),  # affiliated
        (person.id, made["home"]),  # its contact's company
        (made["beta"], made["beta"]),  # the company itself
        (person.id, made["other"]),
        (person.id, None),
    ):
        named = {"company_id": str(company)} if company else {}
        aid = app.schedule_activity(partner, {**DUE, **named}, AUDIT, affiliation_ids=seats).id
        app.update_activity(aid, {"due_date": "2099-02-01"}, AUDIT)
    app.merge_partners(
        made["group"], [made["beta"]], {made["beta"]: _owned(app, made["beta"])}, AUDIT
    )
    app.merge_partners(
        made["dest"], [made["other"]], {made["other"]: _owned(app, made["other"])}, AUDIT
    )
    app.unmerge_partner(made["other"], AUDIT)
    app.anonymize_partner(person.id, AUDIT)
    return made


def test_rebuild_equals_live_with_activities_naming_merged_companies(db: Database) -> None:
    made = live_and_rebuilt(db, _history)
    for table in ("activities", "timeline"):
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table
    where = sorted(
        (str(r["partner_id"]), str(r["company_id"])) for r in table_rows(db, "activities")
    )
    person, group, home, other = (str(made[k]) for k in ("person", "group", "home", "other"))
    assert where == sorted(
        [
            (person, group),  # the named company was merged: it follows
            (person, home),
            (group, group),  # the company itself: both sides follow
            (person, other),  # merged, then unmerged: back
            (person, "None"),
        ]
    )
    assert "zq" not in repr(
        [r for r in table_rows(db, "activities") if str(r["partner_id"]) == person]
    )
