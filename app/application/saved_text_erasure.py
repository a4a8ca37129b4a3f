"""Erasure reaches the settings that name a person: a segment's or a webhook endpoint's
saved text (name, description, filter, search, the reasons given) is sealed with a key
of the setting's own (app/domain/saved_text.py). Erasing a person finds the settings
whose current or earlier text names them and records `Resealed` on each (its text with
the person's values erased, sealed with a new key); once the read models show the new
text, `anonymize_partner` erases the keys that sealed the rest of their history (the
erasure's notice then makes every process drop what it read before). Deleting a setting
erases its key: its text no longer reads.

The settings searched are those the read models list, those the log holds after the
position the list was read at, and, once the person is erased, those saved meanwhile (by
another editor while the erasure ran): every setting saved before `Anonymized`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from app.application.setting_commands import SettingCommands
from app.domain.audited import Audit
from app.domain.erasure import RELATED_TEXT_FIELDS
from app.domain.saved_text import PersonTexts, ResealedEvent
from app.domain.segment import Segment
from app.domain.webhook import WebhookEndpoint
from app.infra.recorder import ArrayRecorder
from app.infra.shredding.keys import KeyStore

RESEAL_REASON = "a person its text named was erased"
"""The reason of `Resealed` (the erasure's own reason may name the person)."""
_SETTING_TOPICS = tuple(get_topic(cls) + "." for cls in (Segment, WebhookEndpoint))
"""The topics of the settings' events begin with these."""


@dataclass
class SettingSearch:
    """What an erasure found in the settings so far, between its steps."""

    person: PersonTexts
    """The values that named the person (read before its key is erased)."""
    searched_to: int
    """The log position up to which every setting saved was searched."""
    keys: list[UUID] = field(default_factory=list)
    """The keys to erase once the read models show the settings resealed."""


class SavedTextErasure(SettingCommands):
    """The part of an erasure that reaches segments and webhook endpoints."""

    keys: KeyStore | None = None

    def person_texts(self, partner_ids: Iterable[UUID]) -> PersonTexts:
        """The values that named these partners in any version (read before their keys
        are erased; an anonymized partner's read as null and name nothing)."""
        states = [
            vars(event)
            for partner_id in partner_ids
            for event in self.repository.event_store.get(partner_id)
        ]
        return PersonTexts.of(states)

    def settings_after(self, position: int) -> tuple[list[UUID], int]:
        """The segments and webhook endpoints saved after `position`, and the log's
        last position then."""
        recorder = self.recorder
        if not isinstance(recorder, ArrayRecorder):
            raise TypeError("the settings' search needs the PostgreSQL event store")
        return recorder.originators_after(position, _SETTING_TOPICS)

    def reseal_late(self, search: SettingSearch, audit: Audit) -> int | None:
        """Reseals the settings saved since `search` last looked (another editor's, while
        the erasure ran) that name the person; their keys to erase go in `search.keys`.
        Returns the position of the last `Resealed` (None: none was recorded)."""
        if not search.person:  # erased before (asked again): nothing names it
            return None
        later, search.searched_to = self.settings_after(search.searched_to)
        search.keys, position = self.reseal_settings(search.person, later, audit)
        return position

    def reseal_settings(
        self, person: PersonTexts, settings: Sequence[UUID], audit: Audit
    ) -> tuple[list[UUID], int | None]:
        """Reseals each of `settings` (segments and webhook endpoints, by id) whose text
        names the person in any of its events. Returns the keys to erase once the read
        models show the new text (those of the resealed settings' earlier events, and
        those a `Resealed` recorded before left, when a crash came before their erasure),
        and the position of the last `Resealed` (None: none was recorded)."""
        to_shred: list[UUID] = []
        position: int | None = None
        for setting_id in dict.fromkeys(settings):
            events = list(self.repository.event_store.get(setting_id))
            cls = _setting_class(events)
            if cls is None:
                continue
            to_shred += (
                UUID(k) for e in events if isinstance(e, ResealedEvent) for k in e.shredded
            )
            if not person or not any(_names(person, e) for e in events):
                continue
            old_keys: list[UUID] = []
            result = self._update(cls, setting_id, None, _reseal(person, audit, old_keys))
            if result.position is not None:
                to_shred += old_keys[-1:]
                position = result.position
        return [k for k in dict.fromkeys(to_shred) if self._readable(k)], position

    def _readable(self, owner: UUID) -> bool:
        return self.keys is not None and self.keys.cipher(owner, create=False) is not None

    def _shred(self, owners: Iterable[UUID]) -> None:
        """Erases the keys of saved text no longer to be read (each once, those not
        erased yet)."""
        if self.keys is None:
            return
        for owner in dict.fromkeys(owners):
            if self._readable(owner):
                self.keys.erase(owner, setting=True)


def _setting_class(events: list[Any]) -> type[Segment] | type[WebhookEndpoint] | None:
    if events and isinstance(events[0], Segment.Event):
        return Segment
    if events and isinstance(events[0], WebhookEndpoint.Event):
        return WebhookEndpoint
    return None


def _names(person: PersonTexts, event: Any) -> bool:
    """Whether an event of a setting holds text naming the person (its sealed fields)."""
    topic = type(event).__qualname__.split(".")[0]
    fields = RELATED_TEXT_FIELDS.get(topic, frozenset())
    state = vars(event)
    carried = [state.get("values"), state.get("changes")]
    found = [state.get(f) for f in fields] + [
        c.get(f) for c in carried if isinstance(c, dict) for f in fields
    ]
    return any(v is not None and person.mentioned(v) for v in found)


def _reseal(person: PersonTexts, audit: Audit, old_keys: list[UUID]) -> Any:
    """The change that reseals a setting (not a deleted one: its key is erased already),
    noting the key its earlier events were sealed with."""

    def change(setting: Segment | WebhookEndpoint) -> bool:
        if setting.deleted:
            return False
        old_keys.append(setting.key_owner)
        setting.reseal(person, uuid.uuid4(), Audit(audit.actor, audit.request_id, RESEAL_REASON))
        return True

    return change
