"""Idempotency record: what a create command with an idempotency key was asked to do.

A create command with a key writes its aggregate under an id derived from the key (so a
repeat finds it) and, in the same transaction, this record holding a digest of the
command's input. A repeat with the same input gets the first result; a repeat with a
different input is refused. Keys are remembered for good: the aggregate's id is derived
from the key, so a key can never name a second record.

The digest is an HMAC keyed with a per-installation secret (a plain hash of a guessed
input could be checked against a copy of the store), and it is encrypted with the key of
the partner the record is about: erasing the person drops it (a repeat then gets the same
answer whatever its input, so it tells nothing about the erased values)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

IDEMPOTENCY_RECORDS = uuid5(NAMESPACE_URL, "https://partnerbook.dev/idempotency-records")


def record_id(aggregate_id: UUID) -> UUID:
    return uuid5(IDEMPOTENCY_RECORDS, str(aggregate_id))


KEYED = "hmac-sha256:"
"""Prefix of a keyed digest; digests recorded before it are plain SHA-256 hex."""


def _canonical(request: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a command's input (sorted keys, no spaces)."""
    text = json.dumps(_plain(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def input_digest(request: Mapping[str, Any], secret: bytes) -> str:
    """HMAC-SHA256 of the canonical input, keyed with the installation's secret."""
    return KEYED + hmac.new(secret, _canonical(request), hashlib.sha256).hexdigest()


def same_input(digest: str, request: Mapping[str, Any], secret: bytes) -> bool:
    """Whether `request` is the input a record's digest was made of (a keyed digest, or
    a plain SHA-256 one recorded before digests were keyed)."""
    if digest.startswith(KEYED):
        expected = input_digest(request, secret)
    else:
        expected = hashlib.sha256(_canonical(request)).hexdigest()
    return hmac.compare_digest(digest, expected)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, UUID | Decimal | date | datetime):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


class IdempotencyRecord(Aggregate):
    @event("Remembered")
    def __init__(self, aggregate_id: str, kind: str, digest: str | None) -> None:
        self.aggregate_id = aggregate_id
        self.kind = kind
        self.digest = digest

    @staticmethod
    def create_id(aggregate_id: str, kind: str, digest: str | None) -> UUID:
        return record_id(UUID(aggregate_id))
