"""Keyset cursors for lists ordered by (lower(name), id): opaque, stable under inserts."""

from __future__ import annotations

import base64
import binascii
import json
from uuid import UUID

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
