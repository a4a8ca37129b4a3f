"""Keyset cursors: for lists ordered by (lower(name), id), opaque and stable under
inserts; and cursors encoded only when asked for."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar, overload
from uuid import UUID

T = TypeVar("T")

MAX_PAGE = 100
"""The most rows one page may hold."""


class BadCursor(ValueError):
    """A cursor this query did not issue."""


def encode_name_cursor(name: str, ident: UUID) -> str:
    payload = json.dumps(["name", name.lower(), str(ident)])
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_name_cursor(cursor: str) -> tuple[str, UUID]:
    try:
        kind, name, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if kind != "name" or not isinstance(name, str):
            raise ValueError("not a cursor of this list")
        return name, UUID(ident)
    except (ValueError, TypeError, binascii.Error) as error:
        raise BadCursor(f"not a cursor of this list: {error}") from None


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
