"""A mapper that encrypts the personal fields of one aggregate type's events and
snapshots with the aggregate's own data key (AES-256-GCM), leaving the rest readable.

A personal value `v` is stored as `{"$enc": base64(nonce || AES-GCM(json(v)))}`, with
the partner id and the field name as associated data (a ciphertext cannot be moved to
another partner or field). Looked for: keys named like a personal field at any depth
of the event's nested dicts (`values`, `changes`, ...); for a snapshot, the same in the
aggregate state. Decoding is tolerant: plain values (events stored before
encryption) load as they are; an envelope whose key was erased loads as None.

Records about a partner (activities, opportunities, ...: `related`) have their free text
encrypted with the key of the partner they are about, named by the event's key owner
(set by the application); such an envelope also names its key's partner
(`{"$enc": ..., "$key": partner id}`), so it decrypts wherever the record moves later."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol, TAggregateID
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from app.domain.erasure import ERASED_ATTRIBUTE, KEY_OWNER_ATTRIBUTE
from app.infra.shredding.keys import KeyStore

ENVELOPE = "$enc"
KEY_OF = "$key"
NONCE_BYTES = 12
SNAPSHOT_TOPIC = "eventsourcing.domain:Snapshot"
_to_json = json.JSONEncoder(separators=(",", ":")).encode
"""`json.dumps(value, separators=(",", ":"))` without building an encoder per call."""
MAX_DEPTH = 4
_NAMED_KEY = re.compile(
    rb'"\$key":\s*"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"'
)
"""An envelope's key owner in stored JSON (what `prefetch` looks for)."""
"""How deep in nested dicts personal fields are looked for."""


def is_envelope(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and ENVELOPE in value
        and (len(value) == 1 or (len(value) == 2 and KEY_OF in value))
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


class FieldCipher:
    """Encrypts and decrypts single values for one partner."""

    def __init__(self, aead: AESGCM, owner: UUID) -> None:
        self.aead = aead
        self.owner = owner.bytes

    def seal(self, field: str, value: Any, *, named: bool = False) -> dict[str, str]:
        """`named`: the envelope names its key's partner (not the event's aggregate)."""
        nonce = os.urandom(NONCE_BYTES)
        plain = _to_json(value).encode()
        sealed = self.aead.encrypt(nonce, plain, self.owner + field.encode())
        envelope = {ENVELOPE: base64.b64encode(nonce + sealed).decode("ascii")}
        if named:
            envelope[KEY_OF] = str(UUID(bytes=self.owner))
        return envelope

    def open(self, field: str, envelope: Mapping[str, Any]) -> Any:
        raw = base64.b64decode(envelope[ENVELOPE])
        plain = self.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self.owner + field.encode())
        return json.loads(plain)


class ShreddingMapper(Mapper[TAggregateID], Generic[TAggregateID]):
    """`Mapper` with the personal fields of `aggregate_class` encrypted per aggregate."""

    def __init__(
        self,
        transcoder: Transcoder,
        keys: KeyStore,
        aggregate_class: type[Any],
        personal_fields: Iterable[str],
        related: Mapping[type[Any], Iterable[str]] | None = None,
    ) -> None:
        super().__init__(transcoder)
        self.keys = keys
        self.aggregate_topic = get_topic(aggregate_class)
        self.event_prefix = self.aggregate_topic + "."
        self.personal = frozenset(personal_fields)
        self.related = {get_topic(c): frozenset(f) for c, f in (related or {}).items()}
        self.related_prefixes = tuple(t + "." for t in self.related)

    def fields_of(self, topic: str, state: Mapping[str, Any] | None = None) -> frozenset[str]:
        """The encrypted fields of events with this topic (of a snapshot of `state`)."""
        if topic.startswith(self.event_prefix):
            return self.personal
        if topic == SNAPSHOT_TOPIC and state is not None:
            inner = state.get("topic")
            if inner == self.aggregate_topic:
                return self.personal
            return self.related.get(inner, frozenset()) if isinstance(inner, str) else frozenset()
        if topic.startswith(self.related_prefixes):
            return self.related[topic.rpartition(".")[0]]
        return frozenset()

    def key_owner(self, topic: str, originator: Any, state: Mapping[str, Any]) -> UUID | None:
        """Whose key encrypts the event: the partner's own; for a related record's
        event the partner the application named; for its snapshot, its partner."""
        if topic.startswith(self.event_prefix):
            return _uuid(originator)
        if topic == SNAPSHOT_TOPIC:
            if state.get("topic") == self.aggregate_topic:
                return _uuid(originator)
            inner = state.get("state")
            partner = inner.get("partner_id") if isinstance(inner, dict) else None
            return _uuid(partner) if partner else None
        owner = state.get(KEY_OWNER_ATTRIBUTE)
        return _uuid(owner) if owner else None

    def concerns(self, topic: str, state: Mapping[str, Any] | None = None) -> bool:
        """True for events and snapshots that may hold encrypted fields."""
        return bool(self.fields_of(topic, state))

    def needs_key(self, domain_event: DomainEventProtocol[Any]) -> UUID | None:
        """The partner whose key saving this event needs, or None."""
        state = vars(domain_event)
        topic = get_topic(type(domain_event))
        fields = self.fields_of(topic, state)
        if not fields:
            return None
        owner = self.key_owner(topic, domain_event.originator_id, state)
        if owner is None or not any(True for _ in self._personal_slots(self._body(state), fields)):
            return None
        return owner

    # -- writing ------------------------------------------------------------------------

    def to_stored_event(self, domain_event: DomainEventProtocol[TAggregateID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        event_state.pop(ERASED_ATTRIBUTE, None)  # what a load noted, never stored
        owner = event_state.pop(KEY_OWNER_ATTRIBUTE, None)  # the ciphertext names it
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        fields = self.fields_of(topic, event_state)
        if fields:
            if owner is None:
                owner = self.key_owner(topic, originator_id, event_state)
            if owner is not None:
                named = _uuid(owner) != _uuid(originator_id)
                event_state = self._seal(topic, _uuid(owner), event_state, fields, named)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=self.transcoder.encode(event_state),
        )

    def _seal(
        self,
        topic: str,
        owner_id: UUID,
        event_state: dict[str, Any],
        fields: frozenset[str],
        named: bool,
    ) -> dict[str, Any]:
        slots = list(self._personal_slots(self._body(event_state), fields))
        if not any(v is not None and not is_envelope(v) for _, _, v in slots):
            return event_state
        aead = self.keys.cipher(owner_id, create=True)
        cipher = FieldCipher(aead, owner_id) if aead is not None else None

        def seal(field: str, value: Any) -> Any:
            if value is None or is_envelope(value):
                return value
            # An erased partner has no key: nothing personal is written for it, ever.
            return cipher.seal(field, value, named=named) if cipher is not None else None

        return self._rewrite(topic, event_state, slots, seal)

    # -- reading ------------------------------------------------------------------------

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[TAggregateID]:
        cls = resolve_topic(stored_event.topic)
        try:
            event_state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as e:
            msg = (
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        if self.concerns(stored_event.topic, event_state):
            event_state = self._open(stored_event, event_state)
        id_convertor = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        event_state["originator_id"] = id_convertor(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event  # type: ignore[no-any-return]

    def _open(self, stored: StoredEvent, event_state: dict[str, Any]) -> dict[str, Any]:
        fields = self.fields_of(stored.topic, event_state)
        slots = list(self._personal_slots(self._body(event_state), fields))
        if not any(is_envelope(v) for _, _, v in slots):
            return event_state  # stored before encryption, or nothing personal in it
        own = _uuid(stored.originator_id)
        ciphers: dict[UUID, FieldCipher | None] = {}
        erased: set[str] = set()

        def cipher_of(owner: UUID) -> FieldCipher | None:
            if owner not in ciphers:
                aead = self.keys.cipher(owner, create=False)
                ciphers[owner] = FieldCipher(aead, owner) if aead is not None else None
            return ciphers[owner]

        def reveal(field: str, value: Any) -> Any:
            if not is_envelope(value):
                return value
            cipher = cipher_of(_uuid(value[KEY_OF]) if KEY_OF in value else own)
            if cipher is None:
                erased.add(field)
                return None  # the key was erased: the value is gone
            try:
                return cipher.open(field, value)
            except InvalidTag as error:
                msg = (
                    f"personal field {field!r} of event {stored.originator_id} "
                    f"v{stored.originator_version} does not decrypt with its partner's key"
                )
                raise MapperDeserialisationError(msg) from error

        state = self._rewrite(stored.topic, event_state, slots, reveal)
        if erased and stored.topic != SNAPSHOT_TOPIC:
            state[ERASED_ATTRIBUTE] = sorted(erased)
        return state

    def prefetch(self, stored_events: Iterable[StoredEvent]) -> None:
        """Loads the keys a batch of stored events will need, in one query: the partners'
        own, and those named by the envelopes of records about partners."""
        owners: set[UUID] = set()
        for s in stored_events:
            if s.topic.startswith(self.event_prefix) or s.topic == SNAPSHOT_TOPIC:
                owners.add(_uuid(s.originator_id))
            if s.topic.startswith(self.related_prefixes) or s.topic == SNAPSHOT_TOPIC:
                # Read off the stored JSON without decoding it (decoded once, later).
                owners.update(UUID(m.decode()) for m in _NAMED_KEY.findall(s.state))
        self.keys.prefetch(owners)

    # -- where personal values sit ------------------------------------------------------

    @staticmethod
    def _body(event_state: Mapping[str, Any]) -> Mapping[str, Any]:
        inner = event_state.get("state")
        if "topic" in event_state and isinstance(inner, dict):
            return inner  # a snapshot: the aggregate's state
        return event_state

    def _personal_slots(
        self,
        body: Mapping[str, Any],
        fields: frozenset[str],
        path: tuple[str, ...] = (),
        depth: int = 0,
    ) -> Iterable[tuple[tuple[str, ...], str, Any]]:
        """(path of the dict holding it, field, value) for each personal value: a key in
        the personal fields at any depth of nested dicts (e.g. `values`, `changes`, a
        merge's `absorbed[source]["previous"]` in a snapshot)."""
        for name, value in body.items():
            if name in fields:
                yield path, name, value
            elif isinstance(value, dict) and depth < MAX_DEPTH and not is_envelope(value):
                yield from self._personal_slots(value, fields, (*path, name), depth + 1)

    def _rewrite(
        self,
        topic: str,
        event_state: dict[str, Any],
        slots: list[tuple[tuple[str, ...], str, Any]],
        change: Callable[[str, Any], Any],
    ) -> dict[str, Any]:
        """A copy of the state with each personal value replaced by `change(field, value)`;
        the event's own dicts are never modified (each dict on a path is copied once)."""
        body = dict(self._body(event_state))
        copied: dict[tuple[str, ...], dict[str, Any]] = {(): body}
        for path, field, value in slots:
            holder = body
            for depth, name in enumerate(path, 1):
                key = path[:depth]
                if key not in copied:
                    copied[key] = dict(holder[name])
                    holder[name] = copied[key]
                holder = copied[key]
            holder[field] = change(field, value)
        if topic == SNAPSHOT_TOPIC:
            return {**event_state, "state": body}
        return body
