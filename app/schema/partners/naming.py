"""The name of an unnamed address: its type's label ("Invoice Address"), said in the
request's language like any message. A name a person typed is never translated."""

from __future__ import annotations

from app.domain.messages import Message
from app.domain.partner_fields import TYPE_LABELS
from app.queries.partners.rows import PartnerRow


def named(text: str, row: PartnerRow) -> str:
    """`row.name` or `row.display_name` as a message when the projection made it of the
    type's label (no own name: "Invoice Address", "Acme, Invoice Address")."""
    label = TYPE_LABELS.get(row.type)
    if row.own_name or label is None or not text.endswith(label):
        return text
    if text == label:
        return label
    company = text[: -len(label)]
    if not company.endswith(", "):
        return text
    return Message("%(company)s, %(label)s", company=company[:-2], label=label)
