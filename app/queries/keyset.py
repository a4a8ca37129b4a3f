"""Keyset cursors: for lists ordered by (lower(name), id), opaque and stable under
inserts; and cursors encoded only when asked for."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload
from uuid import UUID

import orjson

from app.domain.text import unstorable_reason

T = TypeVar("T")

MAX_PAGE = 100
"""The most rows one page may hold."""

MAX_CURSOR = 16_384
"""The longest cursor a list of records reads (the partners' read longer ones: ordering.py).
The longest they issue is a name cursor: a name of 200 characters, each escaped as
json.dumps writes one outside the BMP (12 bytes), in base64 is ~3,300 characters."""

_BIGINT = 2**63
NOT_A_CURSOR = "not a cursor of this list"


class BadCursor(ValueError):
    """A cursor this query did not issue."""


def cursor_payload(cursor: str, longest: int = MAX_CURSOR) -> Any:
    """The JSON a cursor holds, read only when the cursor is at most `longest` characters;
    BadCursor when it is not base64url of UTF-8 JSON. orjson refuses JSON nested past 1024
    levels and escapes of lone surrogates (json.loads raises RecursionError for the one,
    returns unstorable text for the other)."""
    if len(cursor) > longest:
        raise BadCursor(NOT_A_CURSOR)
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):  # binascii.Error, UnicodeError, JSONDecodeError
        raise BadCursor(NOT_A_CURSOR) from None


def cursor_text(value: Any) -> str:
    """A string of a cursor, one PostgreSQL can compare: NUL and lone surrogates (which
    `\\u0000` decodes to, and no list issues) are refused here, not by the database."""
    if not isinstance(value, str) or unstorable_reason(value) is not None:
        raise BadCursor(NOT_A_CURSOR)
    return value


def cursor_int(value: Any) -> int:
    """An integer of a cursor, within bigint (a JSON `true` is no integer here)."""
    if type(value) is not int or not -_BIGINT <= value < _BIGINT:
        raise BadCursor(NOT_A_CURSOR)
    return value


def cursor_uuid(value: Any) -> UUID:
    """The id a cursor ends with (UUID() of a non-string raises AttributeError)."""
    if not isinstance(value, str):
        raise BadCursor(NOT_A_CURSOR)
    try:
        return UUID(value)
    except ValueError:
        raise BadCursor(NOT_A_CURSOR) from None


def encode_name_cursor(name: str, ident: UUID) -> str:
    payload = json.dumps(["name", name.lower(), str(ident)])
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_name_cursor(cursor: str) -> tuple[str, UUID]:
    payload = cursor_payload(cursor)
    if not isinstance(payload, list) or len(payload) != 3 or payload[0] != "name":
        raise BadCursor(NOT_A_CURSOR)
    return cursor_text(payload[1]), cursor_uuid(payload[2])


class LazyCursors(Sequence[str]):
    """The cursors of a page's rows, each encoded when first asked for: most clients
    read `endCursor` only, and a partner's cursor takes ~10 µs to encode."""

    def __init__(self, rows: Sequence[T], encode: Callable[[T], str]) -> None:
        self._rows = rows
        self._encode = encode
        self._encoded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._rows)
        found = self._encoded.get(index)
        if found is None:
            found = self._encoded[index] = self._encode(self._rows[index])
        return found
