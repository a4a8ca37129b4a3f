"""Timeline summaries in the reader's language.

The timeline projection stores each entry's summary in English (it is data: rebuilds must
give the same rows). Here each kind's English templates (the msgids) are matched against
the stored text to recover the values, and the template is said in the request's
language with them. A summary that matches no template is shown as stored; a new kind of
entry is translated once its templates are listed here (tests/locales say which)."""

from __future__ import annotations

import functools
import re

from app import locales
from app.domain.messages import Message
from app.domain.partner_fields import TYPE_LABELS

SUMMARIES: dict[str, tuple[Message, ...]] = {}
"""Timeline kind -> the templates of its summaries (as the projection writes them)."""


def summary(kind: str, template: str) -> None:
    """Adds a template of `kind`'s summaries (tried longest first)."""
    found = (*SUMMARIES.get(kind, ()), Message(template))
    SUMMARIES[kind] = tuple(sorted(found, key=len, reverse=True))


summary("PARTNER_CREATED", "%(label)s created")
summary("PARTNER_UPDATED", "Changed %(fields)s")
summary("PARTNER_ROLE_GAINED", "Became a customer")
summary("PARTNER_ROLE_GAINED", "Became a supplier")
summary("COMMERCIAL_TERMS_SET", "Terms changed: %(fields)s")
summary("TAGS_ADDED", "%(count)s tag(s) added")
summary("TAGS_REMOVED", "%(count)s tag(s) removed")
summary("PARTNER_ARCHIVED", "Archived")
summary("PARTNER_RESTORED", "Restored")
summary("PARTNER_ANONYMIZED", "Personal data erased")
summary("PARTNER_MERGED", "Merged into another partner; %(count)s record(s) moved")
summary("PARTNER_ABSORBED", "Absorbed %(count)s partner(s); took %(fields)s")
summary("PARTNER_ABSORBED", "Absorbed %(count)s partner(s)")
summary("PARTNER_UNMERGED", "Merge undone: restored")
summary("PARTNER_SEPARATED", "A merged partner was restored from this one")
summary("PARTNER_REPARENTED", "Moved to another parent")
summary("ACTIVITY_MOVED", "Activity moved here from another partner")
summary("DOCUMENT_MOVED", "Document moved here from another partner")
summary("OPPORTUNITY_MOVED", "Opportunity moved here from another partner")
summary("ACTIVITY_SCHEDULED", "%(label)s planned for %(date)s")
summary("ACTIVITY_EDITED", "Activity edited")
summary("ACTIVITY_RESCHEDULED", "Activity moved to %(date)s")
summary("ACTIVITY_REASSIGNED", "Activity reassigned")
summary("ACTIVITY_DONE", "Activity done")
summary("ACTIVITY_CANCELLED", "Activity cancelled")
summary("DOCUMENT_STATUS_CHANGED", "Status now %(status)s")
summary("DOCUMENT_AMOUNTS_CHANGED", "Amounts changed")
summary("OPPORTUNITY_CREATED", "Opportunity %(name)s")
summary("OPPORTUNITY_CREATED", "Opportunity")
summary("OPPORTUNITY_UPDATED", "Opportunity changed")
summary("OPPORTUNITY_WON", "Opportunity won")
summary("OPPORTUNITY_LOST", "Opportunity lost")
summary("AFFILIATION_ADDED", "Affiliation added")
summary("AFFILIATION_UPDATED", "Affiliation changed: %(fields)s")
summary("AFFILIATION_ENDED", "Affiliation ended on %(date)s")
summary("AFFILIATION_MOVED", "Affiliation moved to another partner")
summary("BANK_ACCOUNT_ADDED", "Bank account added")
summary("BANK_ACCOUNT_UPDATED", "Bank account changed: %(fields)s")
summary("BANK_ACCOUNT_REMOVED", "Bank account removed")
summary("BANK_ACCOUNT_MOVED", "Bank account moved to another partner")
summary("NOTE", "Note logged")
summary("NOTE", "Note edited")
summary("NOTE", "Note deleted")
# DOCUMENT_RECORDED ("Invoice INV/1: 120.00 EUR") is the document's kind, reference and
# amount: data, shown as stored.

_LABELS = {str(label): label for label in TYPE_LABELS.values()}
"""Values that are themselves messages (an unnamed address is named by its type)."""
_PARAMETER = re.compile(r"%\((\w+)\)s")


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(template)
    # split() alternates literal text and parameter names
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


def parse(kind: str, text: str) -> Message | None:
    """The stored English `text` as the message it was made from, or None."""
    for template in SUMMARIES.get(kind, ()):
        found = _pattern(template).fullmatch(text)
        if found is not None:
            params = {k: _LABELS.get(v, v) for k, v in found.groupdict().items()}
            return Message(template, **params) if params else template
    return None


def translated(kind: str, text: str, locale: str) -> str:
    if locale not in locales.MESSAGE_LOCALES:
        return text
    message = parse(kind, text)
    return text if message is None else locales.translate(message, locale)
