"""The name of an unnamed address: its type's label ("Invoice Address"), said in the
request's language. A name a person typed is never translated.

Said when the Partner is built (in the request's task, whose locale `locales.current()`
gives) rather than by a field extension: a page of partners pays nothing per node."""

from __future__ import annotations

from app import locales
from app.domain.messages import Message
from app.domain.partner_fields import TYPE_LABELS
from app.queries.partners.rows import PartnerRow


def named(text: str, row: PartnerRow) -> str:
    """`row.name` or `row.display_name`, said in the request's language when the
    projection made it of the type's label (no own name: "Invoice Address",
    "Acme, Invoice Address")."""
    if row.own_name:
        return text
    label = TYPE_LABELS.get(row.type)
    if label is None or not text.endswith(label):
        return text
    company = text[: -len(label)]
    if company and not company.endswith(", "):
        return text
    message = Message("%(company)s, %(label)s", company=company[:-2], label=label)
    return locales.translate(message if company else label, locales.current())
