"""The affiliations and bank_accounts read models: a rebuild (reading an erased person's
values as null) equals the incrementally kept tables, merges and erasure included."""

from __future__ import annotations

from uuid import UUID

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra.database import Database
from tests.projections.rebuilt import live_and_rebuilt
from tests.projections.test_partners_projection import table_rows

AUDIT = Audit(actor="test", request_id="r-1", reason="zq reason")
IBAN = "BE71096123456769"


def _history(app: Partnerbook) -> tuple[UUID, UUID]:
    """Every affiliation and bank account event; one person erased at the end."""
    alpha = app.create_partner("COMPANY", {"name": "Alpha"}, AUDIT).id
    beta = app.create_partner("COMPANY", {"name": "Beta"}, AUDIT).id
    erased = app.create_partner("PERSON", {"name": "zq person"}, AUDIT).id
    kept = app.create_partner("PERSON", {"name": "Kept"}, AUDIT).id
    for person in (erased, kept):
        aid = app.add_affiliation(person, beta, {"role": "zq role"}, AUDIT).id
        app.update_affiliation(aid, {"function": "zq function"}, AUDIT)
        app.end_affiliation(aid, None, AUDIT)
        app.add_affiliation(person, beta, {"start_date": "2026-01-01"}, AUDIT)
        account = app.add_bank_account(person, {"iban": IBAN, "holder_name": "zq holder"}, AUDIT)
        app.update_bank_account(account.id, {"bic": "GKCCBEBB"}, AUDIT)
        other = app.add_bank_account(person, {"iban": IBAN}, AUDIT).id
        app.remove_bank_account(other, AUDIT)
    app.add_bank_account(beta, {"iban": IBAN}, AUDIT)
    app.merge_partners(alpha, [beta], {beta: _owned(app, beta)}, AUDIT)
    app.anonymize_partner(erased, AUDIT)
    return erased, kept


def _owned(app: Partnerbook, partner: UUID) -> dict[str, list[str]]:
    """What the merge moves, from the event log (the read model would say the same)."""
    records = app.recorder.select_notifications(1, 10_000)
    seen: dict[str, list[str]] = {"affiliations": [], "bank_accounts": []}
    for record in records:
        state = record.state
        if record.topic.endswith("Affiliation.Created") and str(partner).encode() in state:
            seen["affiliations"].append(str(record.originator_id))
        if record.topic.endswith("BankAccount.Added") and str(partner).encode() in state:
            seen["bank_accounts"].append(str(record.originator_id))
    return seen


def test_rebuild_equals_the_live_tables_after_merge_and_erasure(db: Database) -> None:
    erased, kept = live_and_rebuilt(db, _history)
    for table in ("affiliations", "bank_accounts", "timeline"):
        assert table_rows(db, table) == table_rows(db, f"rebuild_{table}"), table
    affiliations = table_rows(db, "affiliations")
    assert len(affiliations) == 4
    assert {r["partner_id"] for r in affiliations} == {erased, kept}
    assert len({r["company_id"] for r in affiliations}) == 1  # all moved to Alpha
    erased_rows = [r for r in affiliations if r["partner_id"] == erased]
    assert "zq" not in repr(erased_rows)
    assert "zq role" in repr([r for r in affiliations if r["partner_id"] == kept])
    accounts = [r for r in table_rows(db, "bank_accounts") if r["partner_id"] == erased]
    assert len(accounts) == 2 and {r["iban"] for r in accounts} == {None}
    timeline = [r for r in table_rows(db, "timeline") if r["partner_id"] == erased]
    assert len(timeline) >= 8 and "zq" not in repr(timeline) and IBAN not in repr(timeline)
