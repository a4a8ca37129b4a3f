"""Personal data and its erasure (crypto-shredding, DESIGN.md).

The personal fields of a partner's events and snapshots are encrypted with that
partner's data key; erasing a person deletes the key. History and as-of still replay
after erasure and show these fields as erased (null, `erased: true`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.partner_state import PartnerField

PERSONAL_FIELDS: frozenset[PartnerField] = frozenset(
    {
        "name",
        "function",
        "street",
        "street2",
        "city",
        "zip",
        "notes",
        "email",
        "phone",
        "mobile",
        "website",
        "vat",
        # A sole trader's registry number (SIREN, KBO, Companies House) names the person
        # as surely as their VAT number does.
        "company_registry",
    }
)
"""Partner fields that hold personal data of a person (see `Partner.values`)."""

AUDIT_TEXT_FIELDS: frozenset[str] = frozenset({"reason"})
"""Audit metadata written by a person about the partner (\"per request of ...\")."""

PARTNER_SEALED_FIELDS: frozenset[str] = PERSONAL_FIELDS | AUDIT_TEXT_FIELDS
"""What the mapper encrypts in a partner's own events and snapshots."""

RELATED_TEXT_FIELDS: dict[str, frozenset[str]] = {
    "Activity": frozenset({"summary", "note", "feedback"}) | AUDIT_TEXT_FIELDS,
    "Opportunity": frozenset({"name", "notes", "lost_reason"}) | AUDIT_TEXT_FIELDS,
    "Document": frozenset({"reference", "notes"}) | AUDIT_TEXT_FIELDS,
    "Note": frozenset({"body"}) | AUDIT_TEXT_FIELDS,
    "IdempotencyRecord": frozenset({"digest"}),
    "Reservation": frozenset({"key"}),
    "Affiliation": frozenset({"role", "function"}) | AUDIT_TEXT_FIELDS,
    "BankAccount": frozenset({"iban", "holder_name"}) | AUDIT_TEXT_FIELDS,
    # Settings (sealed with a key of their own, app/domain/saved_text.py).
    "Segment": frozenset({"name", "description", "filter", "search"}) | AUDIT_TEXT_FIELDS,
    "WebhookEndpoint": frozenset({"description", "filter", "why"}) | AUDIT_TEXT_FIELDS,
}
"""Free text of the records kept about a partner, by aggregate class name: encrypted with
the key of the partner they are about (the event's key owner, below), so that erasing a
person reaches what was written about them. An idempotency record's digest goes too (a
repeat with a guessed input must not tell whether it was the erased person's), and a
reservation's key (a person's document reference is in it)."""

KEY_OWNER_ATTRIBUTE = "key_owner"
"""Set by the application on an event of a related record before it is saved: the id of
the partner whose key encrypts its free text. Never stored as such (the ciphertext names
it); an event without it is stored readable (e.g. a company's documents)."""

ERASED_TEXT = "(erased)"
"""What the read models and the API show for an erased text that cannot be null (an
opportunity's name, a document's reference)."""

ANONYMIZED_NAME = "Anonymized partner"
"""What the read models show as the name of an anonymized partner."""


def check_can_anonymize(kind: str) -> None:
    """Only people are anonymized: a company's data is not a person's."""
    if kind != "PERSON":
        raise DomainError.single(
            ErrorCode.FORBIDDEN,
            "companies cannot be anonymized; needs an admin force, not available yet",
            "id",
        )


def check_not_anonymized(anonymized: bool, changes: Mapping[str, Any]) -> None:
    """An anonymized partner's personal fields stay empty."""
    if not anonymized:
        return
    given = sorted(f for f, v in changes.items() if f in PERSONAL_FIELDS and v is not None)
    if given:
        raise DomainError(
            [
                FieldError(
                    (_input_name(f),),
                    ErrorCode.VALIDATION,
                    "the partner was anonymized: its personal fields cannot be set again",
                )
                for f in given
            ]
        )


def _input_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


ERASED_ATTRIBUTE = "erased_fields"
"""Set by the mapper on a loaded event whose personal values were erased (their key is
gone): the names of those fields. Never stored."""


def erased_fields(event: object) -> frozenset[str]:
    """The fields of a loaded event that held a value that was erased (shown as null with
    `erased: true` by history); a field that was merely cleared is not among them."""
    return frozenset(getattr(event, ERASED_ATTRIBUTE, ()))
