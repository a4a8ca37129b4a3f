"""Sales & purchase terms, industry and salesperson on partners, through HTTP: set on the
commercial partner, shown (inherited) on its contacts, resolved when read."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import (
    ACCOUNT,
    CREATE_PARTNER,
    DELIVERY_METHOD,
    FISCAL_POSITION,
    INDUSTRY,
    NO_TERMS,
    PAYMENT_TERM,
    UPDATE_PARTNER,
    create_entry,
    create_industry,
    create_partner,
    create_payment_term,
    create_pricelist,
    create_salesperson,
    partner_names,
    partner_payload,
    refused,
    run,
    set_terms,
    view,
)
from tests.schema.partner_ops import ARCHIVE as ARCHIVE_PARTNER


@pytest.fixture
def catalog(client: TestClient) -> dict[str, dict[str, Any]]:
    """One entry of each catalog a partner's terms point to."""
    return {
        "term30": create_payment_term(client, "30 Days", 30),
        "term60": create_payment_term(client, "60 Days", 60),
        "public": create_pricelist(client, "Public", "EUR"),
        "export": create_pricelist(client, "Export", "USD"),
        "express": create_entry(client, DELIVERY_METHOD, name="Express"),
        "mitchell": create_salesperson(client, "Mitchell Admin"),
        "receivable": create_entry(
            client, ACCOUNT, code="400000", name="Customers", accountType="RECEIVABLE"
        ),
        "payable": create_entry(
            client, ACCOUNT, code="440000", name="Suppliers", accountType="PAYABLE"
        ),
        "domestic": create_entry(client, FISCAL_POSITION, name="Domestic", countryCode="BE"),
    }


def ref(entry: dict[str, Any], *fields: str) -> dict[str, Any]:
    """An entry as `commercialTerms` shows it: the fields asked for there."""
    return {f: entry[f] for f in ("id", *fields)}


def full_terms(client: TestClient, company: dict[str, Any], c: dict[str, dict[str, Any]]) -> None:
    result = set_terms(
        client,
        id=company["id"],
        customerPaymentTermId=c["term30"]["id"],
        vendorPaymentTermId=c["term60"]["id"],
        pricelistId=c["public"]["id"],
        deliveryMethodId=c["express"]["id"],
        salespersonId=c["mitchell"]["id"],
        receivableAccountId=c["receivable"]["id"],
        payableAccountId=c["payable"]["id"],
        fiscalPositionId=c["domestic"]["id"],
        creditLimit={"amount": "5000", "currency": "EUR"},
    )
    assert result["userErrors"] == [], result["userErrors"]


def expected_terms(c: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "customerPaymentTerm": ref(c["term30"], "name", "archived"),
        "vendorPaymentTerm": ref(c["term60"], "name", "archived"),
        "pricelist": ref(c["public"], "name", "currency"),
        "deliveryMethod": ref(c["express"], "name"),
        "salesperson": ref(c["mitchell"], "name"),
        "receivableAccount": ref(c["receivable"], "code"),
        "payableAccount": ref(c["payable"], "code"),
        "fiscalPosition": ref(c["domestic"], "name"),
        "creditLimit": {"amount": "5000.00", "currency": "EUR"},
    }


# -- setting the terms ----------------------------------------------------------------------


def test_a_new_partner_has_no_terms(client: TestClient) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    assert company["commercialTerms"] == NO_TERMS


def test_set_commercial_terms_on_a_company(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")

    full_terms(client, company, catalog)

    after = view(client, company["id"])
    assert after["commercialTerms"] == {"inheritedFrom": None, **expected_terms(catalog)}
    assert after["version"] == 2


def test_set_commercial_terms_is_a_patch(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])

    result = set_terms(client, id=company["id"], customerPaymentTermId=catalog["term30"]["id"])

    terms = result["partner"]["commercialTerms"]
    assert terms["pricelist"] == ref(catalog["public"], "name", "currency")
    assert terms["customerPaymentTerm"] == ref(catalog["term30"], "name", "archived")


def test_null_clears_a_term(client: TestClient, catalog: dict[str, dict[str, Any]]) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    full_terms(client, company, catalog)

    result = set_terms(client, id=company["id"], pricelistId=None, creditLimit=None)

    assert result["userErrors"] == []
    terms = result["partner"]["commercialTerms"]
    assert (terms["pricelist"], terms["creditLimit"]) == (None, None)
    assert terms["customerPaymentTerm"] == ref(catalog["term30"], "name", "archived")


def test_a_credit_limit_round_trips(client: TestClient) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")

    result = set_terms(
        client, id=company["id"], creditLimit={"amount": "12500.75", "currency": "usd"}
    )

    assert result["userErrors"] == []
    assert result["partner"]["commercialTerms"]["creditLimit"] == {
        "amount": "12500.75",
        "currency": "USD",
    }
    assert view(client, company["id"])["commercialTerms"]["creditLimit"] == {
        "amount": "12500.75",
        "currency": "USD",
    }


@pytest.mark.parametrize(
    "limit",
    [{"amount": "-1", "currency": "EUR"}, {"amount": "100", "currency": "EURO"}],
    ids=["negative", "bad-currency"],
)
def test_an_invalid_credit_limit_is_refused(
    client: TestClient, db: Database, limit: dict[str, str]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    before = event_count(db)

    result = set_terms(client, id=company["id"], creditLimit=limit)

    assert refused(result, "partner") == [(["creditLimit"], "VALIDATION")]
    assert event_count(db) == before


def test_setting_the_same_terms_again_records_nothing(
    client: TestClient, db: Database, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])
    before = event_count(db)

    result = set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])

    assert result["userErrors"] == [] and result["partner"]["version"] == 2
    assert event_count(db) == before


def test_a_stale_expected_version_is_a_conflict(
    client: TestClient, db: Database, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    set_terms(client, id=company["id"], expectedVersion=1, pricelistId=catalog["public"]["id"])
    before = event_count(db)

    result = set_terms(
        client, id=company["id"], expectedVersion=1, pricelistId=catalog["export"]["id"]
    )

    assert refused(result, "partner") == [(["expectedVersion"], "CONFLICT")]
    assert event_count(db) == before
    assert view(client, company["id"])["commercialTerms"]["pricelist"]["name"] == "Public"


def test_an_archived_payment_term_cannot_be_assigned(
    client: TestClient, db: Database, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    run(client, PAYMENT_TERM, "archive", id=catalog["term30"]["id"])
    before = event_count(db)

    result = set_terms(client, id=company["id"], customerPaymentTermId=catalog["term30"]["id"])

    assert refused(result, "partner") == [(["customerPaymentTermId"], "ARCHIVED")]
    assert event_count(db) == before


def test_an_id_from_another_catalog_is_not_found(
    client: TestClient, db: Database, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    before = event_count(db)

    result = set_terms(client, id=company["id"], customerPaymentTermId=catalog["public"]["id"])

    assert refused(result, "partner") == [(["customerPaymentTermId"], "NOT_FOUND")]
    assert event_count(db) == before


def test_an_archived_term_already_assigned_stays_shown(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    contact = create_partner(client, kind="PERSON", name="Brandon", parentId=company["id"])
    set_terms(client, id=company["id"], customerPaymentTermId=catalog["term30"]["id"])

    run(client, PAYMENT_TERM, "archive", id=catalog["term30"]["id"])

    shown = {"id": catalog["term30"]["id"], "name": "30 Days", "archived": True}
    assert view(client, company["id"])["commercialTerms"]["customerPaymentTerm"] == shown
    assert view(client, contact["id"])["commercialTerms"]["customerPaymentTerm"] == shown


def test_other_terms_can_change_while_an_archived_one_stays(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    set_terms(client, id=company["id"], customerPaymentTermId=catalog["term30"]["id"])
    run(client, PAYMENT_TERM, "archive", id=catalog["term30"]["id"])

    result = set_terms(
        client,
        id=company["id"],
        customerPaymentTermId=catalog["term30"]["id"],  # sent again, unchanged
        pricelistId=catalog["export"]["id"],
    )

    assert result["userErrors"] == []
    terms = result["partner"]["commercialTerms"]
    assert terms["customerPaymentTerm"]["archived"] is True
    assert terms["pricelist"]["name"] == "Export"


def test_terms_cannot_be_set_on_a_contact(
    client: TestClient, db: Database, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    contact = create_partner(client, kind="PERSON", name="Brandon", parentId=company["id"])
    before = event_count(db)

    result = set_terms(client, id=contact["id"], pricelistId=catalog["public"]["id"])

    assert refused(result, "partner") == [(["id"], "VALIDATION")]
    assert company["id"] in result["userErrors"][0]["message"]
    assert event_count(db) == before


def test_terms_of_an_archived_partner_cannot_change(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Old Co")
    gql(client, ARCHIVE_PARTNER, {"input": {"id": company["id"]}})

    result = set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])

    assert refused(result, "partner") == [(["id"], "ARCHIVED")]


def test_a_person_on_its_own_holds_its_terms(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    person = create_partner(client, kind="PERSON", name="Zoë Freelance")

    result = set_terms(client, id=person["id"], pricelistId=catalog["export"]["id"])

    assert result["userErrors"] == []
    terms = result["partner"]["commercialTerms"]
    assert (terms["inheritedFrom"], terms["pricelist"]["name"]) == (None, "Export")


# -- effective terms on contacts ------------------------------------------------------------


def test_contacts_show_their_companys_terms(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    existing = create_partner(client, kind="PERSON", name="Brandon", parentId=company["id"])
    full_terms(client, company, catalog)
    later = create_partner(client, kind="PERSON", name="Colleen", parentId=company["id"])

    expected = {
        "inheritedFrom": {"id": company["id"], "name": "Azure Interior"},
        **expected_terms(catalog),
    }
    assert view(client, existing["id"])["commercialTerms"] == expected
    assert later["commercialTerms"] == expected


def test_company_term_changes_reach_contacts_without_events_on_them(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    existing = create_partner(client, kind="PERSON", name="Brandon", parentId=company["id"])
    set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])
    later = create_partner(client, kind="PERSON", name="Colleen", parentId=company["id"])

    set_terms(client, id=company["id"], pricelistId=catalog["export"]["id"])

    for contact in (existing, later):
        now = view(client, contact["id"])
        assert now["commercialTerms"]["pricelist"] == ref(catalog["export"], "name", "currency")
        assert now["version"] == contact["version"] == 1


def test_moving_a_contact_switches_its_terms(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    first = create_partner(client, kind="COMPANY", name="First")
    second = create_partner(client, kind="COMPANY", name="Second")
    set_terms(client, id=first["id"], pricelistId=catalog["public"]["id"])
    set_terms(client, id=second["id"], pricelistId=catalog["export"]["id"])
    contact = create_partner(client, kind="PERSON", name="Ann", parentId=first["id"])

    moved = partner_payload(
        client, UPDATE_PARTNER, "updatePartner", id=contact["id"], parentId=second["id"]
    )["partner"]

    assert moved["commercialTerms"]["inheritedFrom"] == {"id": second["id"], "name": "Second"}
    assert moved["commercialTerms"]["pricelist"]["name"] == "Export"


def test_leaving_the_company_leaves_its_terms(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    set_terms(client, id=company["id"], pricelistId=catalog["public"]["id"])
    contact = create_partner(client, kind="PERSON", name="Ann", parentId=company["id"])

    alone = partner_payload(
        client, UPDATE_PARTNER, "updatePartner", id=contact["id"], parentId=None
    )["partner"]

    assert alone["commercialTerms"] == NO_TERMS


def test_the_companys_salesperson_is_its_contacts(
    client: TestClient, catalog: dict[str, dict[str, Any]]
) -> None:
    company = create_partner(client, kind="COMPANY", name="Azure Interior")
    contact = create_partner(client, kind="PERSON", name="Brandon", parentId=company["id"])

    set_terms(client, id=company["id"], salespersonId=catalog["mitchell"]["id"])

    now = view(client, contact["id"])
    mitchell = ref(catalog["mitchell"], "name")
    assert (now["salesperson"], now["commercialTerms"]["salesperson"]) == (mitchell, mitchell)
    assert partner_names(client, salespersonId=mitchell["id"]) == ["Azure Interior", "Brandon"]


# -- industry and salesperson ---------------------------------------------------------------


def test_industry_and_salesperson_on_create_and_update(client: TestClient) -> None:
    retail = create_industry(client, "Retail")
    services = create_industry(client, "Services")
    mitchell = create_salesperson(client, "Mitchell Admin")
    marc = create_salesperson(client, "Marc Demo")
    company = create_partner(
        client,
        kind="COMPANY",
        name="Deco Addict",
        industryId=retail["id"],
        salespersonId=mitchell["id"],
    )

    updated = partner_payload(
        client,
        UPDATE_PARTNER,
        "updatePartner",
        id=company["id"],
        industryId=services["id"],
        salespersonId=marc["id"],
    )["partner"]

    assert company["industry"] == {"id": retail["id"], "name": "Retail"}
    assert company["salesperson"] == {"id": mitchell["id"], "name": "Mitchell Admin"}
    assert updated["industry"] == {"id": services["id"], "name": "Services"}
    assert updated["salesperson"] == {"id": marc["id"], "name": "Marc Demo"}


def test_a_contact_shows_its_companys_industry_and_vat(client: TestClient) -> None:
    retail = create_industry(client, "Retail")
    company = create_partner(
        client,
        kind="COMPANY",
        name="Deco Addict",
        countryCode="BE",
        vat="BE0477472701",
        industryId=retail["id"],
    )
    contact = create_partner(client, kind="PERSON", name="Ann", parentId=company["id"])

    services = create_industry(client, "Services")
    partner_payload(
        client, UPDATE_PARTNER, "updatePartner", id=company["id"], industryId=services["id"]
    )

    assert (contact["vat"], contact["industry"]) == (
        "BE0477472701",
        {"id": retail["id"], "name": "Retail"},
    )
    now = view(client, contact["id"])
    assert now["industry"] == {"id": services["id"], "name": "Services"}
    assert now["version"] == 1


@pytest.mark.parametrize("field", ["industryId", "vat"])
def test_a_contact_cannot_set_a_commercial_field(
    client: TestClient, db: Database, field: str
) -> None:
    industry = create_industry(client, "Retail")
    company = create_partner(client, kind="COMPANY", name="Deco Addict", countryCode="BE")
    contact = create_partner(client, kind="PERSON", name="Ann", parentId=company["id"])
    value = industry["id"] if field == "industryId" else "BE0477472701"
    before = event_count(db)

    result = partner_payload(
        client, UPDATE_PARTNER, "updatePartner", id=contact["id"], **{field: value}
    )

    assert refused(result, "partner") == [([field], "VALIDATION")]
    assert company["id"] in result["userErrors"][0]["message"]
    assert event_count(db) == before


def test_a_new_contact_cannot_bring_a_vat(client: TestClient) -> None:
    company = create_partner(client, kind="COMPANY", name="Deco Addict", countryCode="BE")

    result = partner_payload(
        client,
        CREATE_PARTNER,
        "createPartner",
        kind="PERSON",
        name="Ann",
        parentId=company["id"],
        vat="BE0477472701",
    )

    assert refused(result, "partner") == [(["vat"], "VALIDATION")]


def test_an_archived_industry_cannot_be_assigned(client: TestClient) -> None:
    retail = create_industry(client, "Retail")
    run(client, INDUSTRY, "archive", id=retail["id"])

    result = partner_payload(
        client, CREATE_PARTNER, "createPartner", kind="COMPANY", name="X", industryId=retail["id"]
    )

    assert refused(result, "partner") == [(["industryId"], "ARCHIVED")]


def test_partners_filtered_by_industry_include_the_companys_contacts(client: TestClient) -> None:
    retail = create_industry(client, "Retail")
    services = create_industry(client, "Services")
    deco = create_partner(client, kind="COMPANY", name="Deco Addict", industryId=retail["id"])
    create_partner(client, kind="PERSON", name="Ann Lee", parentId=deco["id"])
    create_partner(client, kind="COMPANY", name="Wood Corner", industryId=services["id"])
    create_partner(client, kind="PERSON", name="Zoë Prospect")

    assert partner_names(client, industryId=retail["id"]) == ["Ann Lee", "Deco Addict"]
    assert partner_names(client, industryId=services["id"]) == ["Wood Corner"]


def test_partners_filtered_by_salesperson(client: TestClient) -> None:
    mitchell = create_salesperson(client, "Mitchell Admin")
    marc = create_salesperson(client, "Marc Demo")
    deco = create_partner(client, kind="COMPANY", name="Deco Addict", salespersonId=mitchell["id"])
    create_partner(client, kind="PERSON", name="Ann Lee", parentId=deco["id"])
    create_partner(
        client, kind="PERSON", name="Bob Own", parentId=deco["id"], salespersonId=marc["id"]
    )
    create_partner(client, kind="COMPANY", name="Wood Corner")

    assert partner_names(client, salespersonId=mitchell["id"]) == ["Ann Lee", "Deco Addict"]
    assert partner_names(client, salespersonId=marc["id"]) == ["Bob Own"]
