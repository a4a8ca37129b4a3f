"""A mapper that encrypts the personal fields of one aggregate type's events and
snapshots with the aggregate's own data key (AES-256-GCM), leaving the rest readable.

A personal value `v` is stored as `{"$enc": base64(nonce || AES-GCM(json(v)))}`, with
the partner id and the field name as associated data (a ciphertext cannot be moved to
another partner or field). Looked for: keys named like a personal field at any depth
of the event's nested dicts (`values`, `changes`, ...); for a snapshot, the same in the
aggregate state. Decoding is tolerant: plain values (events stored before
encryption) load as they are; an envelope whose key was erased loads as None."""

from __future__ import annotations

import base64
import json
import os
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

from app.domain.erasure import ERASED_ATTRIBUTE
from app.shredding.keys import KeyStore

ENVELOPE = "$enc"
NONCE_BYTES = 12
SNAPSHOT_TOPIC = "eventsourcing.domain:Snapshot"
_to_json = json.JSONEncoder(separators=(",", ":")).encode
"""`json.dumps(value, separators=(",", ":"))` without building an encoder per call."""
MAX_DEPTH = 4
"""How deep in nested dicts personal fields are looked for."""


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ENVELOPE in value


class FieldCipher:
    """Encrypts and decrypts single values for one partner."""

    def __init__(self, aead: AESGCM, owner: UUID) -> None:
        self.aead = aead
        self.owner = owner.bytes

    def seal(self, field: str, value: Any) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        plain = _to_json(value).encode()
        sealed = self.aead.encrypt(nonce, plain, self.owner + field.encode())
        return {ENVELOPE: base64.b64encode(nonce + sealed).decode("ascii")}

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
    ) -> None:
        super().__init__(transcoder)
        self.keys = keys
        self.aggregate_topic = get_topic(aggregate_class)
        self.event_prefix = self.aggregate_topic + "."
        self.personal = frozenset(personal_fields)

    def concerns(self, topic: str, state: Mapping[str, Any] | None = None) -> bool:
        """True for the aggregate's events; for snapshots when `state` names the aggregate."""
        if topic.startswith(self.event_prefix):
            return True
        return (
            topic == SNAPSHOT_TOPIC
            and state is not None
            and (state.get("topic") == self.aggregate_topic)
        )

    def has_personal(self, domain_event: DomainEventProtocol[Any]) -> bool:
        """Whether saving this event needs the aggregate's key."""
        state = vars(domain_event)
        if not self.concerns(get_topic(type(domain_event)), state):
            return False
        return any(True for _ in self._personal_slots(self._body(state)))

    # -- writing ------------------------------------------------------------------------

    def to_stored_event(self, domain_event: DomainEventProtocol[TAggregateID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        event_state.pop(ERASED_ATTRIBUTE, None)  # what a load noted, never stored
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        if self.concerns(topic, event_state):
            event_state = self._seal(topic, originator_id, event_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=self.transcoder.encode(event_state),
        )

    def _seal(self, topic: str, owner: Any, event_state: dict[str, Any]) -> dict[str, Any]:
        slots = list(self._personal_slots(self._body(event_state)))
        if not any(v is not None and not is_envelope(v) for _, _, v in slots):
            return event_state
        owner_id = owner if isinstance(owner, UUID) else UUID(str(owner))
        aead = self.keys.cipher(owner_id, create=True)
        cipher = FieldCipher(aead, owner_id) if aead is not None else None

        def seal(field: str, value: Any) -> Any:
            if value is None or is_envelope(value):
                return value
            # An erased partner has no key: nothing personal is written for it, ever.
            return cipher.seal(field, value) if cipher is not None else None

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
        slots = list(self._personal_slots(self._body(event_state)))
        if not any(is_envelope(v) for _, _, v in slots):
            return event_state  # stored before encryption, or nothing personal in it
        ident = stored.originator_id
        owner = ident if isinstance(ident, UUID) else UUID(str(ident))
        aead = self.keys.cipher(owner, create=False)
        cipher = FieldCipher(aead, owner) if aead is not None else None
        erased: set[str] = set()

        def reveal(field: str, value: Any) -> Any:
            if not is_envelope(value):
                return value
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
        """Loads the keys a batch of stored events will need, in one query."""
        self.keys.prefetch(
            s.originator_id if isinstance(s.originator_id, UUID) else UUID(str(s.originator_id))
            for s in stored_events
            if s.topic.startswith(self.event_prefix) or s.topic == SNAPSHOT_TOPIC
        )

    # -- where personal values sit ------------------------------------------------------

    @staticmethod
    def _body(event_state: Mapping[str, Any]) -> Mapping[str, Any]:
        inner = event_state.get("state")
        if "topic" in event_state and isinstance(inner, dict):
            return inner  # a snapshot: the aggregate's state
        return event_state

    def _personal_slots(
        self, body: Mapping[str, Any], path: tuple[str, ...] = (), depth: int = 0
    ) -> Iterable[tuple[tuple[str, ...], str, Any]]:
        """(path of the dict holding it, field, value) for each personal value: a key in
        the personal fields at any depth of nested dicts (e.g. `values`, `changes`, a
        merge's `absorbed[source]["previous"]` in a snapshot)."""
        for name, value in body.items():
            if name in self.personal:
                yield path, name, value
            elif isinstance(value, dict) and depth < MAX_DEPTH and not is_envelope(value):
                yield from self._personal_slots(value, (*path, name), depth + 1)

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
