"""Stream cursors: opaque positions in the event log."""

from __future__ import annotations

import base64
import binascii

from app.domain.messages import Message
from app.schema.errors import ClientError


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "pos":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ClientError(
            Message("'%(cursor)s' is not a cursor of this stream", cursor=cursor), "BAD_REQUEST"
        ) from None
