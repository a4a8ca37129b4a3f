"""Domain invariants under generated input (hypothesis): normalising is idempotent, and
no sequence of parent changes makes the company hierarchy cycle."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.domain.partner import Partner
from app.domain.partner_values import normalize_values

AUDIT = Audit(actor="hypothesis", request_id="r")

field_values = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=40),
        "city": st.text(max_size=20),
        "zip": st.text(max_size=10),
        "email": st.one_of(st.emails(), st.text(max_size=20)),
        "phone": st.one_of(st.from_regex(r"\+32 ?[1-9][0-9 ]{7,9}", fullmatch=True), st.text()),
        "website": st.one_of(st.just("example.com"), st.text(max_size=20)),
        "country_code": st.sampled_from(["BE", "be", "FR", "US", "XX", "", " de "]),
        "vat": st.one_of(st.just("BE0477472701"), st.text(max_size=15)),
        "lang": st.sampled_from(["en_US", "fr_BE", "xx", "EN"]),
        "tz": st.sampled_from(["Europe/Brussels", "UTC", "Mars/Base"]),
        "is_customer": st.booleans(),
    },
)


@settings(max_examples=300, deadline=None)
@given(field_values, st.sampled_from([None, "BE", "US"]))
def test_normalising_twice_changes_nothing(values: dict[str, Any], region: str | None) -> None:
    try:
        once = normalize_values(values, region=region)
    except DomainError:
        return
    assert normalize_values(once, region=region) == once


def _ancestry(partners: dict[UUID, Partner], parent: Partner) -> list[UUID]:
    """As the application computes it (base._parent_and_ancestry)."""
    ancestry: list[UUID] = []
    current = parent
    while current.parent_id is not None and len(ancestry) < 64:
        ancestry.append(UUID(str(current.parent_id)))
        current = partners[UUID(str(current.parent_id))]
    return ancestry


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=30))
def test_no_sequence_of_parent_changes_makes_a_cycle(moves: list[tuple[int, int]]) -> None:
    ids = [uuid4() for _ in range(6)]
    partners = {
        i: Partner.register(partner_id=i, kind="COMPANY", values={"name": f"C{n}"}, audit=AUDIT)
        for n, i in enumerate(ids)
    }
    for child_n, parent_n in moves:
        child, parent = partners[ids[child_n]], partners[ids[parent_n]]
        with contextlib.suppress(DomainError):
            child.update(
                {"parent_id": str(parent.id)},
                AUDIT,
                parent=parent,
                parent_ancestry=_ancestry(partners, parent),
            )
        for start in partners.values():  # walking up always ends, without revisiting
            seen = {start.id}
            current = start
            while current.parent_id is not None:
                current = partners[UUID(str(current.parent_id))]
                assert current.id not in seen, "cycle"
                seen.add(current.id)
