"""The Partner aggregate: registration, hierarchy, updates, archiving and replay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application

from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner

AUDIT = Audit(actor="alice", request_id="req-1", reason="onboarding")
LATER = Audit(actor="bob", request_id="req-2")


def register(
    kind: str = "COMPANY",
    *,
    parent: Partner | None = None,
    parent_ancestry: tuple[UUID, ...] = (),
    partner_id: UUID | None = None,
    **values: Any,
) -> Partner:
    return Partner.register(
        partner_id=partner_id or uuid4(),
        kind=kind,
        values=values,
        audit=AUDIT,
        parent=parent,
        parent_ancestry=parent_ancestry,
    )


def refusal(error: pytest.ExceptionInfo[DomainError]) -> list[tuple[tuple[str, ...], ErrorCode]]:
    """What the client sees: each error's field and code."""
    return [(e.field, e.code) for e in error.value.errors]


def last_update(partner: Partner) -> Mapping[str, Any]:
    event = partner.collect_events()[-1]
    assert isinstance(event, Partner.Updated)
    return event.changes


@pytest.fixture
def company() -> Partner:
    return register("COMPANY", name="Azure Interior", country_code="BE")


# -- registration -----------------------------------------------------------------------


def test_registering_a_company_stores_normalized_values() -> None:
    partner = register(
        "COMPANY",
        name="  Azure Interior ",
        email="Info@Azure.EXAMPLE.com",
        phone="02 513 11 22",
        country_code="be",
        vat="0477472701",
        website="azure.example.com",
    )

    assert partner.kind == "COMPANY"
    assert partner.version == 1
    assert {k: partner.values[k] for k in ("name", "email", "phone", "website", "vat")} == {
        "name": "Azure Interior",
        "email": "info@azure.example.com",
        "phone": "+3225131122",
        "website": "https://azure.example.com",
        "vat": "BE0477472701",
    }
    assert partner.country_code == "BE"


def test_registration_defaults_to_a_contact_neither_customer_nor_supplier() -> None:
    partner = register("PERSON", name="Brandon Freeman")

    assert partner.values["type"] == "CONTACT"
    assert partner.values["is_customer"] is False
    assert partner.values["is_supplier"] is False
    assert partner.archived is False


def test_registered_event_carries_the_audit_and_only_given_values() -> None:
    partner = register("COMPANY", name="Azure Interior", city="Brussels")

    [event] = partner.collect_events()

    assert isinstance(event, Partner.Registered)
    assert (event.actor, event.request_id, event.reason) == ("alice", "req-1", "onboarding")
    assert event.kind == "COMPANY"
    assert event.values == {
        "type": "CONTACT",
        "is_customer": False,
        "is_supplier": False,
        "name": "Azure Interior",
        "city": "Brussels",
    }


def test_person_registered_under_a_company_belongs_to_it(company: Partner) -> None:
    person = register("PERSON", parent=company, name="Brandon Freeman", parent_id=str(company.id))

    assert person.parent_id == company.id
    assert person.is_commercial is False


def test_person_phone_uses_the_parent_country_as_default_region(company: Partner) -> None:
    person = register(
        "PERSON",
        parent=company,
        name="Brandon Freeman",
        parent_id=str(company.id),
        phone="0470 12 34 56",
    )

    assert person.values["phone"] == "+32470123456"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(DomainError) as error:
        register("ROBOT", name="R2-D2")

    assert refusal(error) == [(("kind",), ErrorCode.VALIDATION)]


def test_contact_without_a_name_is_refused() -> None:
    with pytest.raises(DomainError) as error:
        register("PERSON", email="someone@example.com")

    assert refusal(error) == [(("name",), ErrorCode.VALIDATION)]
    assert "a name is required" in str(error.value)


def test_blank_name_counts_as_missing() -> None:
    with pytest.raises(DomainError) as error:
        register("PERSON", name="   ")

    assert refusal(error) == [(("name",), ErrorCode.VALIDATION)]


def test_invoice_address_of_a_company_needs_no_name(company: Partner) -> None:
    address = register("PERSON", parent=company, type="INVOICE", parent_id=str(company.id))

    assert address.values["type"] == "INVOICE"
    assert address.values["name"] is None


def test_every_invalid_field_is_reported_at_once() -> None:
    with pytest.raises(DomainError) as error:
        register(
            "PERSON",
            name="Brandon Freeman",
            email="not-an-email",
            website="exa mple.com",
            country_code="XX",
            tz="Mars/Base",
        )

    assert sorted(refusal(error)) == [
        (("countryCode",), ErrorCode.VALIDATION),
        (("email",), ErrorCode.VALIDATION),
        (("tz",), ErrorCode.VALIDATION),
        (("website",), ErrorCode.VALIDATION),
    ]


def test_state_without_country_is_refused_on_state_code() -> None:
    with pytest.raises(DomainError) as error:
        register("COMPANY", name="Acme", state_code="CA")

    assert refusal(error) == [(("stateCode",), ErrorCode.VALIDATION)]
    assert "a state needs a country" in str(error.value)


def test_contact_of_a_company_cannot_set_its_own_vat(company: Partner) -> None:
    with pytest.raises(DomainError) as error:
        register(
            "PERSON",
            parent=company,
            name="Brandon Freeman",
            parent_id=str(company.id),
            vat="BE0477472701",
        )

    assert refusal(error) == [(("vat",), ErrorCode.VALIDATION)]
    assert error.value.errors[0].refers_to == ("Partner", str(company.id))


# -- hierarchy --------------------------------------------------------------------------


def test_person_cannot_be_a_parent(company: Partner) -> None:
    person = register("PERSON", parent=company, name="Brandon", parent_id=str(company.id))

    with pytest.raises(DomainError) as error:
        register("PERSON", parent=person, name="Intern", parent_id=str(person.id))

    assert refusal(error) == [(("parentId",), ErrorCode.INVALID_HIERARCHY)]
    assert "only a company can be a parent" in str(error.value)


def test_missing_parent_is_not_found() -> None:
    with pytest.raises(DomainError) as error:
        register("PERSON", parent=None, name="Brandon", parent_id=str(uuid4()))

    assert refusal(error) == [(("parentId",), ErrorCode.NOT_FOUND)]


def test_archived_parent_is_refused(company: Partner) -> None:
    company.archive(AUDIT)

    with pytest.raises(DomainError) as error:
        register("PERSON", parent=company, name="Brandon", parent_id=str(company.id))

    assert refusal(error) == [(("parentId",), ErrorCode.ARCHIVED)]


def test_partner_cannot_be_its_own_parent(company: Partner) -> None:
    with pytest.raises(DomainError) as error:
        company.update({"parent_id": str(company.id)}, LATER, parent=company)

    assert refusal(error) == [(("parentId",), ErrorCode.INVALID_HIERARCHY)]
    assert "cycle" in str(error.value)


def test_parent_under_its_own_subsidiary_is_a_cycle() -> None:
    holding = register("COMPANY", name="Holding")
    subsidiary = register("COMPANY", parent=holding, name="Subsidiary", parent_id=str(holding.id))

    with pytest.raises(DomainError) as error:
        holding.update(
            {"parent_id": str(subsidiary.id)},
            LATER,
            parent=subsidiary,
            parent_ancestry=[holding.id],
        )

    assert refusal(error) == [(("parentId",), ErrorCode.INVALID_HIERARCHY)]
    assert holding.parent_id is None


def test_company_inside_a_company_must_be_a_contact(company: Partner) -> None:
    with pytest.raises(DomainError) as error:
        register("COMPANY", parent=company, type="INVOICE", parent_id=str(company.id))

    assert refusal(error) == [(("type",), ErrorCode.VALIDATION)]


# -- updates ----------------------------------------------------------------------------


def test_update_records_only_the_fields_that_changed(company: Partner) -> None:
    company.collect_events()

    changed = company.update(
        {"name": " Azure Interior ", "city": "Brussels", "phone": "+32 2 513 11 22"}, LATER
    )

    assert changed is True
    assert last_update(company) == {"city": "Brussels", "phone": "+3225131122"}
    assert company.values["city"] == "Brussels"
    assert company.version == 2


def test_updated_event_carries_the_audit(company: Partner) -> None:
    company.collect_events()
    company.update({"city": "Brussels"}, LATER)

    [event] = company.collect_events()

    assert isinstance(event, Partner.Updated)
    assert (event.actor, event.request_id, event.reason) == ("bob", "req-2", None)


def test_update_that_changes_nothing_records_nothing(company: Partner) -> None:
    company.collect_events()

    changed = company.update({"name": "Azure Interior", "country_code": "be"}, LATER)

    assert changed is False
    assert company.collect_events() == []
    assert company.version == 1


def test_field_set_to_none_is_cleared(company: Partner) -> None:
    company.update({"city": "Brussels"}, LATER)
    company.collect_events()

    company.update({"city": None}, LATER)

    assert last_update(company) == {"city": None}
    assert company.values["city"] is None


@pytest.mark.parametrize(("field", "input_name"), [("is_customer", "isCustomer"), ("type", "type")])
def test_required_flag_or_type_cannot_be_cleared(
    company: Partner, field: str, input_name: str
) -> None:
    with pytest.raises(DomainError) as error:
        company.update({field: None}, LATER)

    assert refusal(error) == [((input_name,), ErrorCode.VALIDATION)]
    assert "cannot be cleared" in str(error.value)


def test_unknown_field_is_refused(company: Partner) -> None:
    with pytest.raises(DomainError) as error:
        company.update({"favourite_colour": "blue"}, LATER)

    assert refusal(error) == [(("favourite_colour",), ErrorCode.VALIDATION)]


def test_clearing_the_name_of_a_contact_is_refused(company: Partner) -> None:
    with pytest.raises(DomainError) as error:
        company.update({"name": None}, LATER)

    assert refusal(error) == [(("name",), ErrorCode.VALIDATION)]
    assert company.values["name"] == "Azure Interior"


def test_update_validates_vat_against_the_stored_country(company: Partner) -> None:
    company.update({"vat": "0477472701"}, LATER)

    assert company.values["vat"] == "BE0477472701"


def test_updating_an_archived_partner_is_refused(company: Partner) -> None:
    company.archive(AUDIT)

    with pytest.raises(DomainError) as error:
        company.update({"city": "Brussels"}, LATER)

    assert refusal(error) == [(("id",), ErrorCode.ARCHIVED)]
    assert company.values["city"] is None


def test_changing_country_so_the_stored_state_no_longer_belongs_is_refused() -> None:
    partner = register("COMPANY", name="Acme", country_code="US", state_code="CA")

    with pytest.raises(DomainError) as error:
        partner.update({"country_code": "BE"}, LATER)

    assert refusal(error) == [(("stateCode",), ErrorCode.VALIDATION)]
    assert "'CA' is not a state of country BE" in str(error.value)
    assert partner.country_code == "US"


def test_changing_country_and_state_together_is_accepted() -> None:
    partner = register("COMPANY", name="Acme", country_code="US", state_code="CA")
    partner.collect_events()

    partner.update({"country_code": "CA", "state_code": "QC"}, LATER)

    assert last_update(partner) == {"country_code": "CA", "state_code": "QC"}


# -- archive and restore ----------------------------------------------------------------


def test_archive_marks_the_partner_archived(company: Partner) -> None:
    company.collect_events()

    assert company.archive(LATER) is True

    [event] = company.collect_events()
    assert isinstance(event, Partner.Archived)
    assert event.actor == "bob"
    assert company.archived is True


def test_archiving_twice_records_nothing_the_second_time(company: Partner) -> None:
    company.archive(LATER)
    company.collect_events()

    assert company.archive(LATER) is False
    assert company.collect_events() == []
    assert company.archived is True


def test_restore_brings_an_archived_partner_back(company: Partner) -> None:
    company.archive(LATER)
    company.collect_events()

    assert company.restore(LATER) is True

    [event] = company.collect_events()
    assert isinstance(event, Partner.Restored)
    assert company.archived is False


def test_restoring_an_active_partner_records_nothing(company: Partner) -> None:
    company.collect_events()

    assert company.restore(LATER) is False
    assert company.collect_events() == []


# -- replay -----------------------------------------------------------------------------


def test_replayed_partner_equals_the_one_that_recorded_the_events(company: Partner) -> None:
    company.update({"city": "Brussels", "phone": "02 513 11 22", "is_customer": True}, LATER)
    company.update({"city": None}, LATER)
    company.archive(LATER)
    app: Application[UUID] = Application()
    app.save(company)

    replayed: Partner = app.repository.get(company.id)

    assert isinstance(replayed, Partner)
    assert replayed.kind == "COMPANY"
    assert replayed.values == company.values
    assert replayed.version == company.version == 4
    assert replayed.archived is True
