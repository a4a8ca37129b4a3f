"""Resolution of a partner's effective values from its own and its parent's (Odoo's rules,
FEATURES.md sections 1 and 2): display name, commercial partner, inherited address, effective terms."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from app.domain.erasure import ANONYMIZED_NAME
from app.domain.resolution import Own, Resolved, resolve

INDUSTRY, SALESPERSON, OTHER_SALESPERSON = uuid4(), uuid4(), uuid4()
AZURE = Own.of(
    uuid4(),
    "COMPANY",
    {
        "name": "Azure Interior",
        "street": "4557 De Silva St",
        "city": "Fremont",
        "state_code": "US-CA",
        "country_code": "US",
        "vat": "US12345",
        "industry_id": str(INDUSTRY),
        "salesperson_id": str(SALESPERSON),
    },
)
AZURE_RESOLVED = resolve(AZURE, None)


def person(parent: UUID | None, **values: Any) -> Own:
    return Own.of(uuid4(), "PERSON", {"parent_id": str(parent) if parent else None, **values})


def test_a_company_on_its_own_is_its_own_commercial_partner() -> None:
    assert resolve(AZURE, None) == Resolved(
        parent_id=None,
        own_name="Azure Interior",
        name="Azure Interior",
        display_name="Azure Interior",
        commercial_partner_id=AZURE.id,
        address_from_id=AZURE.id,
        street="4557 De Silva St",
        street2=None,
        city="Fremont",
        zip=None,
        state_code="US-CA",
        country_code="US",
        effective_vat="US12345",
        effective_industry_id=INDUSTRY,
        effective_salesperson_id=SALESPERSON,
    )


def test_a_contact_shows_its_company_in_its_name_and_the_companys_address_and_terms() -> None:
    brandon = person(AZURE.id, name="Brandon Freeman", type="CONTACT", city="Ghent")
    resolved = resolve(brandon, AZURE_RESOLVED)
    assert resolved.display_name == "Azure Interior, Brandon Freeman"
    assert resolved.name == "Brandon Freeman"
    assert resolved.commercial_partner_id == AZURE.id
    assert (resolved.address_from_id, resolved.city, resolved.state_code) == (
        AZURE.id,
        "Fremont",
        "US-CA",
    )
    assert (
        resolved.effective_vat,
        resolved.effective_industry_id,
        resolved.effective_salesperson_id,
    ) == ("US12345", INDUSTRY, SALESPERSON)


def test_a_contacts_own_salesperson_wins_over_its_companys() -> None:
    brandon = person(AZURE.id, name="Brandon", salesperson_id=str(OTHER_SALESPERSON))
    assert resolve(brandon, AZURE_RESOLVED).effective_salesperson_id == OTHER_SALESPERSON


def test_an_unnamed_invoice_address_shows_its_type_and_keeps_its_own_address() -> None:
    invoice = person(AZURE.id, type="INVOICE", street="1 Bill St", city="Austin")
    resolved = resolve(invoice, AZURE_RESOLVED)
    assert (resolved.own_name, resolved.name) == (None, "Invoice Address")
    assert resolved.display_name == "Azure Interior, Invoice Address"
    assert (resolved.address_from_id, resolved.street, resolved.city) == (
        invoice.id,
        "1 Bill St",
        "Austin",
    )
    assert resolved.commercial_partner_id == AZURE.id  # its terms are still the company's
    assert resolved.effective_vat == "US12345"


def test_a_subsidiary_keeps_its_name_address_and_terms() -> None:
    subsidiary = Own.of(
        uuid4(),
        "COMPANY",
        {"name": "Azure East", "parent_id": str(AZURE.id), "city": "Boston", "vat": "US999"},
    )
    resolved = resolve(subsidiary, AZURE_RESOLVED)
    assert resolved.parent_id == AZURE.id
    assert (resolved.display_name, resolved.city) == ("Azure East", "Boston")
    assert (resolved.commercial_partner_id, resolved.effective_vat) == (subsidiary.id, "US999")
    assert resolved.effective_salesperson_id is None


def test_a_person_whose_parent_is_not_known_resolves_on_its_own() -> None:
    """As the projection does while a contact's company is not projected yet."""
    brandon = person(AZURE.id, name="Brandon", city="Ghent")
    resolved = resolve(brandon, None)
    assert resolved.parent_id is None
    assert (resolved.display_name, resolved.city) == ("Brandon", "Ghent")
    assert resolved.commercial_partner_id == brandon.id


def test_an_anonymized_person_shows_that_it_was() -> None:
    erased = Own.of(uuid4(), "PERSON", {"name": None, "parent_id": str(AZURE.id)}, anonymized=True)
    assert resolve(erased, AZURE_RESOLVED).display_name == f"Azure Interior, {ANONYMIZED_NAME}"


def test_a_resolved_partner_is_a_parent_for_its_children() -> None:
    """Resolving parents first, then their children, follows the hierarchy down."""
    subsidiary = Own.of(uuid4(), "COMPANY", {"name": "Azure East", "parent_id": str(AZURE.id)})
    employee = person(subsidiary.id, name="Ann")
    resolved = resolve(employee, resolve(subsidiary, AZURE_RESOLVED))
    assert resolved.display_name == "Azure East, Ann"
    assert resolved.commercial_partner_id == subsidiary.id
