"""A page's cursor is opaque, but a client may keep one across an upgrade: those the
earlier releases gave (json.dumps, spaces, non-ASCII escaped) still read as the same."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from app.queries.partners.ordering import Order, decode_cursor, encode_cursor

IDENT = UUID("6b0c5c5e-0000-4000-8000-000000000001")


def test_a_cursor_of_an_earlier_release_reads_as_the_one_given_now() -> None:
    orders = [Order("NAME")]
    row: Any = SimpleNamespace(id=IDENT, name_key="müller ørsted")
    earlier = json.dumps([["NAME"], ["müller ørsted"], str(IDENT)]).encode()
    earlier_cursor = base64.urlsafe_b64encode(earlier).decode()
    assert decode_cursor(earlier_cursor, orders) == decode_cursor(
        encode_cursor(row, orders), orders
    )
    assert decode_cursor(earlier_cursor, orders) == (["müller ørsted"], IDENT)


STORABLE = st.characters(exclude_categories=["Cs"], exclude_characters=["\x00"])
"""What a name key read from PostgreSQL may hold (a cursor holding more is refused)."""


@given(st.uuids(), st.text(STORABLE, max_size=40), st.datetimes())
def test_a_cursor_is_the_json_it_was(ident: UUID, name: str, created: datetime) -> None:
    row = SimpleNamespace(id=ident, name_key=name, created_at=created)
    orders = [Order("NAME"), Order("CREATED_AT", descending=True)]
    cursor = encode_cursor(row, orders)  # type: ignore[arg-type]
    payload = json.loads(base64.urlsafe_b64decode(cursor))
    assert payload == [["NAME", "CREATED_AT"], [name, created.isoformat()], str(ident)]
    assert decode_cursor(cursor, orders) == ([name, created], ident)
