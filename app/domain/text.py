"""Text PostgreSQL can store: what makes a string unstorable, and its storable form.

PostgreSQL's text (and jsonb) holds Unicode scalar values without NUL: a Python `str`
may also carry lone surrogates (U+D800 to U+DFFF: JSON's "\\ud800", undecodable bytes read
with `surrogateescape`) and NUL. The boundaries refuse such text (`unstorable_reason`);
the read side turns whatever old events still carry into storable text (`storable`)."""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    """Why PostgreSQL cannot store `text` (naming the first offending code point), or
    None when it can."""
    if text.isascii() and "\x00" not in text:
        return None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains NUL (\\u0000), which PostgreSQL text cannot hold"
    point = ord(char)
    reason = f"contains a lone surrogate (U+{point:04X}), which is not valid Unicode"
    if 0xDC80 <= point <= 0xDCFF:
        # What Python makes of an undecodable byte (surrogateescape): say which byte.
        reason += f"; from a file or an argument: the byte 0x{point - 0xDC00:02X} is not UTF-8"
    return reason


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD: the same text for the
    same input (a rebuild writes what the live projector wrote), unchanged when storable."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)
