"""Global ids keep the text they always had (clients store them)."""

from __future__ import annotations

import base64
import uuid

from hypothesis import given
from hypothesis import strategies as st

from app.schema.ids import catalog_global_id, from_global_id, to_global_id

TYPE_NAMES = st.sampled_from(["Partner", "Tag", "Industry", "Salesperson", "Document", "Ä"])


@given(st.uuids(), TYPE_NAMES)
def test_a_global_id_is_base64url_of_type_and_canonical_uuid(ident: uuid.UUID, name: str) -> None:
    written = base64.urlsafe_b64encode(f"{name}:{ident}".encode()).decode().rstrip("=")
    assert to_global_id(name, ident) == written == catalog_global_id(name, str(ident))
    assert from_global_id(written) == (name, ident)
