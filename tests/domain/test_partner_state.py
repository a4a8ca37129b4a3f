"""A partner's typed state: one attribute per field, read off what the events stored."""

from __future__ import annotations

from dataclasses import fields
from typing import get_type_hints
from uuid import uuid4

import pytest

from app.domain.audited import Audit
from app.domain.partner import Partner
from app.domain.partner_fields import FIELDS, TERM_FIELDS
from app.domain.partner_state import (
    PARTNER_FIELDS,
    PartnerState,
    PartnerValues,
    partner_field,
)

AUDIT = Audit(actor="alice", request_id="req-1")


def test_every_field_is_named_once_in_each_type() -> None:
    assert sorted(PARTNER_FIELDS) == sorted({*FIELDS, *TERM_FIELDS})
    assert [f.name for f in fields(PartnerState)] == list(PARTNER_FIELDS)
    assert list(get_type_hints(PartnerValues)) == list(PARTNER_FIELDS)


def test_the_state_follows_the_events() -> None:
    partner = Partner.register(
        partner_id=uuid4(),
        kind="COMPANY",
        values={"name": " Acme ", "ref": "A-1", "country_code": "be", "tag_ids": [str(uuid4())]},
        audit=AUDIT,
    )
    partner.update({"city": "Ghent", "ref": None}, AUDIT)
    partner.set_commercial_terms({"credit_limit": {"amount": "10", "currency": "EUR"}}, AUDIT)

    state = partner.state
    assert (state.name, state.ref, state.city, state.country_code) == ("Acme", None, "Ghent", "BE")
    assert (state.type, state.is_customer, state.parent_id) == ("CONTACT", False, None)
    assert state.tag_ids == tuple(partner.values["tag_ids"])
    assert state.credit_limit == partner.values["credit_limit"]
    assert all(state.value(f) == partner.values[f] for f in PARTNER_FIELDS)
    updated = partner.collect_events()[1]
    assert isinstance(updated, Partner.Updated)
    assert updated.partner_changes == {"city": "Ghent", "ref": None}


def test_a_stored_field_name_is_checked() -> None:
    assert partner_field("vat") == "vat"
    with pytest.raises(ValueError, match="not a partner field"):
        partner_field("nmae")
