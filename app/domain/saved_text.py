"""What an admin or editor saved in a setting (a segment's or a webhook endpoint's filter,
search, name, description, a reason) that names a person, and the same with it erased.

A person is named by the values that identify them (`IDENTIFYING_FIELDS`), in any version
of their record: a saved text names them when it holds one of those values, compared
without regard to case or to runs of spaces, or, for a phone number, when its digits hold
the number's digits. Values shorter than `MIN_CHARS` name nobody (a country code, an
initial). Erasing replaces each such value by `ERASED_TEXT`; a text naming a phone number
is replaced whole."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import AuditedEvent
from app.domain.erasure import ERASED_TEXT

IDENTIFYING_FIELDS = frozenset(
    {"name", "email", "phone", "mobile", "street", "vat", "company_registry", "website"}
)
"""The person's values that a saved text is searched for. Not a city, a postcode, a job
title or the notes: "Brussels customers" names no one."""
PHONE_FIELDS = frozenset({"phone", "mobile"})
MIN_CHARS = 4
MIN_PHONE_DIGITS = 6
MAX_DEPTH = 12
"""How deep a saved value is walked (a segment's filter nests at most 8)."""
_SPACES = re.compile(r"\s+")
_NOT_DIGITS = re.compile(r"\D+")


def _plain(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class PersonTexts:
    """The values that name one person (or the duplicates merged into them)."""

    texts: frozenset[str]
    digits: frozenset[str]

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> PersonTexts:
        """From the states of a person's events (their `values`, `changes`, a merge's
        sources…: an identifying field at any depth)."""
        texts: set[str] = set()
        digits: set[str] = set()
        for record in records:
            for field, value in _fields(record, 0):
                if not isinstance(value, str):
                    continue
                plain = _plain(value)
                if len(plain) >= MIN_CHARS:
                    texts.add(plain)
                if field in PHONE_FIELDS:
                    number = _NOT_DIGITS.sub("", value)
                    if len(number) >= MIN_PHONE_DIGITS:
                        digits.add(number)
        return cls(frozenset(texts), frozenset(digits))

    def __bool__(self) -> bool:
        return bool(self.texts or self.digits)

    def names_in(self, text: str) -> bool:
        plain = _plain(text)
        return any(t in plain for t in self.texts) or self._names_a_number_in(text)

    def mentioned(self, saved: Any) -> bool:
        """Whether a saved value (text, or a filter's nested objects and lists) names
        them: whether erasing them changes it."""
        return bool(self.erased(saved) != saved)

    def erased(self, saved: Any, depth: int = 0) -> Any:
        """The saved value with what names them replaced by ERASED_TEXT."""
        if isinstance(saved, str):
            return self._erase_text(saved)
        if depth > MAX_DEPTH:
            return saved
        if isinstance(saved, Mapping):
            return {k: self.erased(v, depth + 1) for k, v in saved.items()}
        if isinstance(saved, list | tuple):
            return [self.erased(v, depth + 1) for v in saved]
        return saved

    def _names_a_number_in(self, text: str) -> bool:
        number = _NOT_DIGITS.sub("", text)
        return len(number) >= MIN_PHONE_DIGITS and any(d in number for d in self.digits)

    def _erase_text(self, text: str) -> str:
        if not self.names_in(text):
            return text
        if self._names_a_number_in(text):
            return ERASED_TEXT
        out = _SPACES.sub(" ", text).strip()
        for t in sorted(self.texts, key=len, reverse=True):
            out = _replaced(out, t)
        # A value casefold changes the length of (ß → ss) is not found by `_replaced`.
        return out if not self.names_in(out) else ERASED_TEXT


def _replaced(text: str, plain: str) -> str:
    """`text` with each occurrence of `plain` (casefolded) replaced by ERASED_TEXT,
    regardless of case. No regular expression: `re` would cache the compiled value."""
    low = text.casefold()
    if len(low) != len(text):
        return text
    parts: list[str] = []
    start = 0
    while (found := low.find(plain, start)) >= 0:
        parts += (text[start:found], ERASED_TEXT)
        start = found + len(plain)
    return "".join(parts) + text[start:] if parts else text


def _fields(record: Mapping[str, Any], depth: int) -> Iterable[tuple[str, Any]]:
    for name, value in record.items():
        if name in IDENTIFYING_FIELDS:
            yield name, value
        elif isinstance(value, Mapping) and depth < 4:
            yield from _fields(value, depth + 1)


class ResealedEvent(AuditedEvent):
    """A setting's saved text, with what named an erased person erased, sealed with a new
    key (`seal_key`); the keys that sealed its earlier events (`shredded`) are erased once
    it is stored, so that they no longer read."""

    values: dict[str, Any]
    seal_key: str
    shredded: list[str]

    def apply(self, aggregate: Aggregate) -> None:
        assert isinstance(aggregate, Resealable)
        aggregate.values = dict(self.values)
        aggregate.seal_key = self.seal_key


class Resealable:
    """Mixin of a setting whose saved text is sealed with a key of its own (its id, until
    an erasure gave it another), so that erasing a person can make its history unreadable."""

    id: UUID
    values: dict[str, Any]
    seal_key: str | None = None

    @property
    def key_owner(self) -> UUID:
        """Whose key seals its saved text."""
        return UUID(self.seal_key) if self.seal_key else self.id

    def reseal_fields(self, person: PersonTexts, seal_key: UUID) -> dict[str, Any]:
        """What `Resealed` carries besides the audit fields: its values with the person
        erased, the new key, and the keys to erase."""
        return {
            "values": person.erased(self.values),
            "seal_key": str(seal_key),
            "shredded": [str(self.key_owner)],
        }
