"""What the timeline says about affiliations and bank accounts (filed under the person,
or the account's partner, through their read-model rows). Summaries quote no personal
value; the changes do, and an erasure scrubs them (timeline.ERASED_IN_TIMELINE)."""

from __future__ import annotations

from typing import Any

from app.domain.affiliation import Affiliation
from app.domain.bank_account import BankAccount
from app.domain.partner_fields import input_name
from app.projections.timeline_entries import Entry, describes

AFFILIATION_KINDS = (
    "AFFILIATION_ADDED",
    "AFFILIATION_UPDATED",
    "AFFILIATION_ENDED",
    "AFFILIATION_MOVED",
    "BANK_ACCOUNT_ADDED",
    "BANK_ACCOUNT_UPDATED",
    "BANK_ACCOUNT_REMOVED",
    "BANK_ACCOUNT_MOVED",
)


def _changed(noun: str, changes: dict[str, Any]) -> str:
    return f"{noun} changed: " + ", ".join(input_name(f) for f in sorted(changes))


@describes(Affiliation.Created)
def _affiliation_added(event: Any) -> Entry:
    changes = {"company_id": event.company_id, **event.values}
    return Entry("AFFILIATION_ADDED", "Affiliation", "Affiliation added", changes, event.partner_id)


@describes(Affiliation.Updated)
def _affiliation_updated(event: Any) -> Entry:
    changes = dict(event.changes)
    summary = _changed("Affiliation", changes)
    return Entry("AFFILIATION_UPDATED", "Affiliation", summary, changes, None)


@describes(Affiliation.Ended)
def _affiliation_ended(event: Any) -> Entry:
    summary = f"Affiliation ended on {event.end_date}"
    return Entry("AFFILIATION_ENDED", "Affiliation", summary, {"end_date": event.end_date}, None)


@describes(BankAccount.Added)
def _account_added(event: Any) -> Entry:
    changes = dict(event.values)
    summary = "Bank account added"
    return Entry("BANK_ACCOUNT_ADDED", "BankAccount", summary, changes, event.partner_id)


@describes(BankAccount.Updated)
def _account_updated(event: Any) -> Entry:
    changes = dict(event.changes)
    summary = _changed("Bank account", changes)
    return Entry("BANK_ACCOUNT_UPDATED", "BankAccount", summary, changes, None)


@describes(BankAccount.Removed)
def _account_removed(event: Any) -> Entry:
    return Entry("BANK_ACCOUNT_REMOVED", "BankAccount", "Bank account removed", {}, None)


@describes(Affiliation.Moved, BankAccount.Moved)
def _moved(event: Any) -> Entry:
    """Moved by a merge: filed under the partner whose row the subject now has."""
    subject = type(event).__qualname__.split(".")[0]
    kind = "AFFILIATION_MOVED" if subject == "Affiliation" else "BANK_ACCOUNT_MOVED"
    changes = {"partner_id": event.partner_id, "previous_partner_id": event.previous_partner_id}
    noun = "Affiliation" if subject == "Affiliation" else "Bank account"
    return Entry(kind, subject, f"{noun} moved to another partner", changes, None)
