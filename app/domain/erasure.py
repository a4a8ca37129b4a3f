"""Personal data and its erasure (crypto-shredding, DESIGN.md).

The personal fields of a partner's events and snapshots are encrypted with that
partner's data key; erasing a person deletes the key. History and as-of still replay
after erasure and show these fields as erased (null, `erased: true`).
"""

from __future__ import annotations

PERSONAL_FIELDS: frozenset[str] = frozenset(
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
    }
)
"""Partner fields that hold personal data of a person (see `Partner.values`)."""
