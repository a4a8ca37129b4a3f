"""The seven catalogs through HTTP: create, list by name, patch, archive/restore, node(id),
and each catalog's own rules (payment term lines, currencies, unique account codes…)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import (
    ACCOUNT,
    DELIVERY_METHOD,
    FISCAL_POSITION,
    INDUSTRY,
    PAYMENT_TERM,
    PRICELIST,
    SALESPERSON,
    Catalog,
    create_entry,
    entry_names,
    refused,
    run,
)


@dataclass(frozen=True)
class Sample:
    """A catalog with an entry to create, what it shows, a patch and what it shows then."""

    catalog: Catalog
    create: dict[str, Any]
    shown: dict[str, Any]
    patch: dict[str, Any]
    patched: dict[str, Any]
    required: dict[str, Any] = field(default_factory=dict)
    """Fields besides the name that every entry of this catalog needs."""

    def minimal(self, name: str) -> dict[str, Any]:
        extra = {"code": name.upper()} if self.catalog is ACCOUNT else {}
        return {"name": name, **extra, **self.required}


SAMPLES = [
    Sample(
        INDUSTRY,
        create={"name": "Construction", "fullName": "Construction & Building"},
        shown={"name": "Construction", "fullName": "Construction & Building"},
        patch={"fullName": "Building and civil engineering"},
        patched={"name": "Construction", "fullName": "Building and civil engineering"},
    ),
    Sample(
        PAYMENT_TERM,
        create={"name": "30 Days", "note": "Net 30", "lines": [{"kind": "BALANCE", "days": 30}]},
        shown={
            "name": "30 Days",
            "note": "Net 30",
            "lines": [
                {
                    "kind": "BALANCE",
                    "value": None,
                    "days": 30,
                    "endOfMonth": False,
                    "discountPercent": None,
                    "discountDays": None,
                }
            ],
        },
        patch={"name": "30 Days Net"},
        patched={
            "name": "30 Days Net",
            "note": "Net 30",
            "lines": [
                {
                    "kind": "BALANCE",
                    "value": None,
                    "days": 30,
                    "endOfMonth": False,
                    "discountPercent": None,
                    "discountDays": None,
                }
            ],
        },
    ),
    Sample(
        PRICELIST,
        create={"name": "Public Pricelist", "currency": "eur"},
        shown={"name": "Public Pricelist", "currency": "EUR"},
        patch={"currency": "USD"},
        patched={"name": "Public Pricelist", "currency": "USD"},
        required={"currency": "EUR"},
    ),
    Sample(
        DELIVERY_METHOD,
        create={"name": "Express", "fixedPrice": {"amount": "12.5", "currency": "EUR"}},
        shown={"name": "Express", "fixedPrice": {"amount": "12.5", "currency": "EUR"}},
        patch={"fixedPrice": None},
        patched={"name": "Express", "fixedPrice": None},
    ),
    Sample(
        SALESPERSON,
        create={"name": "Mitchell Admin", "email": "mitchell@example.com", "tz": "Europe/Brussels"},
        shown={
            "name": "Mitchell Admin",
            "email": "mitchell@example.com",
            "tz": "Europe/Brussels",
            "active": True,
        },
        patch={"tz": "America/New_York"},
        patched={
            "name": "Mitchell Admin",
            "email": "mitchell@example.com",
            "tz": "America/New_York",
            "active": True,
        },
    ),
    Sample(
        ACCOUNT,
        create={"code": "400000", "name": "Customers", "accountType": "RECEIVABLE"},
        shown={"code": "400000", "name": "Customers", "accountType": "RECEIVABLE"},
        patch={"name": "Trade receivables"},
        patched={"code": "400000", "name": "Trade receivables", "accountType": "RECEIVABLE"},
        required={"accountType": "RECEIVABLE"},
    ),
    Sample(
        FISCAL_POSITION,
        create={"name": "Intra-EU B2B", "countryCode": "be"},
        shown={"name": "Intra-EU B2B", "country": {"code": "BE", "name": "Belgium"}},
        patch={"name": "Intra-Community"},
        patched={"name": "Intra-Community", "country": {"code": "BE", "name": "Belgium"}},
    ),
]
each_catalog = pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.catalog.type_name)


def own_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """What an entry shows, without its generated id and timestamps."""
    assert entry["id"] and entry["createdAt"] and entry["updatedAt"]
    return {k: v for k, v in entry.items() if k not in ("id", "createdAt", "updatedAt")}


# -- the life cycle every catalog shares ----------------------------------------------------


@each_catalog
def test_create_shows_the_entry(client: TestClient, sample: Sample) -> None:
    entry = create_entry(client, sample.catalog, **sample.create)
    assert own_fields(entry) == {"archived": False, "version": 1, **sample.shown}


@each_catalog
def test_the_list_is_ordered_by_name(client: TestClient, sample: Sample) -> None:
    for name in ("beta", "Alpha", "Gamma"):
        create_entry(client, sample.catalog, **sample.minimal(name))

    connection = gql(client, sample.catalog.list_query)[sample.catalog.plural]

    assert connection["totalCount"] == 3
    assert [node["name"] for node in connection["nodes"]] == ["Alpha", "beta", "Gamma"]
    assert connection["pageInfo"]["hasNextPage"] is False


@each_catalog
def test_archived_entries_are_listed_only_when_asked_for(
    client: TestClient, sample: Sample
) -> None:
    old = create_entry(client, sample.catalog, **sample.minimal("Old"))
    create_entry(client, sample.catalog, **sample.minimal("New"))

    run(client, sample.catalog, "archive", id=old["id"])

    assert entry_names(client, sample.catalog) == ["New"]
    assert entry_names(client, sample.catalog, includeArchived=True) == ["New", "Old"]


@each_catalog
def test_update_is_a_patch(client: TestClient, sample: Sample) -> None:
    entry = create_entry(client, sample.catalog, **sample.create)

    result = run(client, sample.catalog, "update", id=entry["id"], **sample.patch)

    assert result["userErrors"] == []
    assert own_fields(result[sample.catalog.payload]) == {
        "archived": False,
        "version": 2,
        **sample.patched,
    }


@each_catalog
def test_archive_and_restore(client: TestClient, sample: Sample) -> None:
    entry = create_entry(client, sample.catalog, **sample.create)

    archived = run(client, sample.catalog, "archive", id=entry["id"], reason="no longer used")
    restored = run(client, sample.catalog, "restore", id=entry["id"], expectedVersion=2)

    payload = sample.catalog.payload
    assert archived["userErrors"] == [] and restored["userErrors"] == []
    assert (archived[payload]["archived"], archived[payload]["version"]) == (True, 2)
    assert (restored[payload]["archived"], restored[payload]["version"]) == (False, 3)
    assert own_fields(restored[payload]) == {"archived": False, "version": 3, **sample.shown}


@each_catalog
def test_node_resolves_an_entry(client: TestClient, sample: Sample) -> None:
    entry = create_entry(client, sample.catalog, **sample.create)

    node = gql(
        client,
        "query($id: ID!) { node(id: $id) { __typename id "
        "... on CatalogItem { name archived version } } }",
        {"id": entry["id"]},
    )["node"]

    assert node == {
        "__typename": sample.catalog.type_name,
        "id": entry["id"],
        "name": sample.shown["name"],
        "archived": False,
        "version": 1,
    }


# -- shared rules ---------------------------------------------------------------------------


def test_the_list_is_paged_by_name(client: TestClient) -> None:
    for name in ("Delta", "alpha", "Charlie", "bravo"):
        create_entry(client, INDUSTRY, name=name)

    first = gql(client, INDUSTRY.list_query, {"first": 3})["industries"]
    rest = gql(client, INDUSTRY.list_query, {"first": 3, "after": first["pageInfo"]["endCursor"]})[
        "industries"
    ]

    assert [n["name"] for n in first["nodes"]] == ["alpha", "bravo", "Charlie"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [n["name"] for n in rest["nodes"]] == ["Delta"]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["pageInfo"]["endCursor"],
    }
    assert rest["totalCount"] == 4


def test_an_archived_entry_cannot_be_changed(client: TestClient, db: Database) -> None:
    pricelist = create_entry(client, PRICELIST, name="Old prices", currency="EUR")
    run(client, PRICELIST, "archive", id=pricelist["id"])
    before = event_count(db)

    result = run(client, PRICELIST, "update", id=pricelist["id"], name="New prices")

    assert refused(result, "pricelist") == [(["id"], "ARCHIVED")]
    assert event_count(db) == before


def test_an_entry_of_another_catalog_is_not_found(client: TestClient) -> None:
    industry = create_entry(client, INDUSTRY, name="Retail")

    result = run(client, PRICELIST, "update", id=industry["id"], name="Retail prices")

    assert refused(result, "pricelist") == [(["id"], "NOT_FOUND")]


def test_node_does_not_resolve_an_entry_under_another_catalogs_type(client: TestClient) -> None:
    pricelist = create_entry(client, PRICELIST, name="Public", currency="EUR")
    raw = base64.urlsafe_b64decode(pricelist["id"] + "=" * (-len(pricelist["id"]) % 4)).decode()
    as_industry = base64.urlsafe_b64encode(raw.replace("Pricelist:", "Industry:").encode()).decode()

    node = gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": as_industry})["node"]

    assert node is None


def test_a_stale_expected_version_is_a_conflict(client: TestClient, db: Database) -> None:
    industry = create_entry(client, INDUSTRY, name="Retail")
    run(client, INDUSTRY, "update", id=industry["id"], expectedVersion=1, fullName="Retail trade")
    before = event_count(db)

    result = run(client, INDUSTRY, "update", id=industry["id"], expectedVersion=1, name="Shops")

    assert refused(result, "industry") == [(["expectedVersion"], "CONFLICT")]
    assert event_count(db) == before


def test_a_required_field_cannot_be_cleared(client: TestClient) -> None:
    pricelist = create_entry(client, PRICELIST, name="Public", currency="EUR")

    result = run(client, PRICELIST, "update", id=pricelist["id"], currency=None)

    assert refused(result, "pricelist") == [(["currency"], "VALIDATION")]


def test_an_update_that_changes_nothing_records_nothing(client: TestClient, db: Database) -> None:
    industry = create_entry(client, INDUSTRY, name="Retail")
    before = event_count(db)

    result = run(client, INDUSTRY, "update", id=industry["id"], name="Retail")

    assert result["userErrors"] == [] and result["industry"]["version"] == 1
    assert event_count(db) == before


def test_the_same_idempotency_key_creates_once(client: TestClient, db: Database) -> None:
    first = create_entry(client, INDUSTRY, name="Retail", idempotencyKey="import-7")
    before = event_count(db)

    second = create_entry(client, INDUSTRY, name="Retail", idempotencyKey="import-7")

    assert second["id"] == first["id"]
    assert event_count(db) == before
    assert entry_names(client, INDUSTRY) == ["Retail"]


# -- payment terms --------------------------------------------------------------------------


def test_a_payment_term_without_lines_is_immediate(client: TestClient) -> None:
    term = create_entry(client, PAYMENT_TERM, name="Immediate Payment")
    assert term["lines"] == []


def test_percent_lines_totalling_90_are_refused_and_record_nothing(
    client: TestClient, db: Database
) -> None:
    before = event_count(db)

    result = run(
        client,
        PAYMENT_TERM,
        "create",
        name="Two instalments",
        lines=[{"kind": "PERCENT", "value": "30"}, {"kind": "PERCENT", "value": "60", "days": 30}],
    )

    assert refused(result, "paymentTerm") == [(["lines"], "VALIDATION")]
    assert "90" in result["userErrors"][0]["message"]
    assert event_count(db) == before
    assert entry_names(client, PAYMENT_TERM, includeArchived=True) == []


def test_a_percent_line_then_the_balance(client: TestClient) -> None:
    term = create_entry(
        client,
        PAYMENT_TERM,
        name="30% Now, Balance 60 Days",
        lines=[
            {"kind": "PERCENT", "value": "30"},
            {"kind": "BALANCE", "days": 60, "endOfMonth": True},
        ],
    )

    assert term["lines"] == [
        {
            "kind": "PERCENT",
            "value": "30.00",
            "days": 0,
            "endOfMonth": False,
            "discountPercent": None,
            "discountDays": None,
        },
        {
            "kind": "BALANCE",
            "value": None,
            "days": 60,
            "endOfMonth": True,
            "discountPercent": None,
            "discountDays": None,
        },
    ]


def test_percent_lines_totalling_100_need_no_balance(client: TestClient) -> None:
    term = create_entry(
        client,
        PAYMENT_TERM,
        name="Half now, half later",
        lines=[{"kind": "PERCENT", "value": "50"}, {"kind": "PERCENT", "value": "50", "days": 30}],
    )
    assert [(line["kind"], line["value"], line["days"]) for line in term["lines"]] == [
        ("PERCENT", "50.00", 0),
        ("PERCENT", "50.00", 30),
    ]


def test_two_balance_lines_are_refused(client: TestClient, db: Database) -> None:
    before = event_count(db)

    result = run(
        client,
        PAYMENT_TERM,
        "create",
        name="Twice the balance",
        lines=[{"kind": "BALANCE", "days": 30}, {"kind": "BALANCE", "days": 60}],
    )

    assert refused(result, "paymentTerm") == [(["lines"], "VALIDATION")]
    assert event_count(db) == before


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            [{"kind": "BALANCE"}, {"kind": "PERCENT", "value": "20", "days": 30}],
            id="balance-not-last",
        ),
        pytest.param(
            [{"kind": "PERCENT", "value": "70"}, {"kind": "PERCENT", "value": "40"}],
            id="over-100",
        ),
        pytest.param(
            [{"kind": "PERCENT", "value": "100"}, {"kind": "BALANCE", "days": 30}],
            id="nothing-left-for-the-balance",
        ),
        pytest.param([{"kind": "FIXED", "value": "500"}], id="fixed-without-balance"),
        pytest.param([{"kind": "PERCENT"}, {"kind": "BALANCE"}], id="percent-without-value"),
        pytest.param([{"kind": "BALANCE", "value": "10"}], id="balance-with-value"),
        pytest.param([{"kind": "BALANCE", "days": -1}], id="negative-days"),
        pytest.param(
            [{"kind": "BALANCE", "discountPercent": "100", "discountDays": 10}],
            id="discount-100",
        ),
    ],
)
def test_inconsistent_lines_are_refused(client: TestClient, lines: list[dict[str, Any]]) -> None:
    result = run(client, PAYMENT_TERM, "create", name="Broken", lines=lines)
    assert refused(result, "paymentTerm") == [(["lines"], "VALIDATION")]


def test_an_early_payment_discount_is_shown_back(client: TestClient) -> None:
    term = create_entry(
        client,
        PAYMENT_TERM,
        name="2/10 Net 30",
        lines=[{"kind": "BALANCE", "days": 30, "discountPercent": "2", "discountDays": 10}],
    )

    assert term["lines"] == [
        {
            "kind": "BALANCE",
            "value": None,
            "days": 30,
            "endOfMonth": False,
            "discountPercent": "2.00",
            "discountDays": 10,
        }
    ]


def test_lines_are_validated_on_update_too(client: TestClient, db: Database) -> None:
    term = create_entry(client, PAYMENT_TERM, name="30 Days", lines=[{"kind": "BALANCE"}])
    before = event_count(db)

    result = run(
        client, PAYMENT_TERM, "update", id=term["id"], lines=[{"kind": "PERCENT", "value": "90"}]
    )

    assert refused(result, "paymentTerm") == [(["lines"], "VALIDATION")]
    assert event_count(db) == before


def test_updating_the_lines_replaces_them(client: TestClient) -> None:
    term = create_entry(client, PAYMENT_TERM, name="Terms", lines=[{"kind": "BALANCE"}])

    result = run(
        client,
        PAYMENT_TERM,
        "update",
        id=term["id"],
        lines=[{"kind": "PERCENT", "value": "25"}, {"kind": "BALANCE", "days": 45}],
    )

    lines = result["paymentTerm"]["lines"]
    assert [(line["kind"], line["value"], line["days"]) for line in lines] == [
        ("PERCENT", "25.00", 0),
        ("BALANCE", None, 45),
    ]


# -- pricelists, delivery methods, salespeople, accounts, fiscal positions -----------------


@pytest.mark.parametrize("currency", ["euro", "ZZZ", ""])
def test_a_pricelist_needs_an_iso_currency(client: TestClient, db: Database, currency: str) -> None:
    before = event_count(db)
    result = run(client, PRICELIST, "create", name="Export", currency=currency)
    assert refused(result, "pricelist") == [(["currency"], "VALIDATION")]
    assert event_count(db) == before


def test_a_delivery_price_cannot_be_negative(client: TestClient) -> None:
    result = run(
        client,
        DELIVERY_METHOD,
        "create",
        name="Refund courier",
        fixedPrice={"amount": "-5", "currency": "EUR"},
    )
    assert refused(result, "deliveryMethod") == [(["fixedPrice"], "VALIDATION")]


def test_a_salesperson_with_a_bad_email_is_refused(client: TestClient, db: Database) -> None:
    before = event_count(db)
    result = run(client, SALESPERSON, "create", name="Marc Demo", email="marc at example")
    assert refused(result, "salesperson") == [(["email"], "VALIDATION")]
    assert event_count(db) == before


def test_an_archived_salesperson_is_inactive(client: TestClient) -> None:
    person = create_entry(client, SALESPERSON, name="Marc Demo")
    result = run(client, SALESPERSON, "archive", id=person["id"])
    assert (result["salesperson"]["archived"], result["salesperson"]["active"]) == (True, False)


def test_a_duplicate_account_code_is_refused(client: TestClient, db: Database) -> None:
    create_entry(client, ACCOUNT, code="400000", name="Customers", accountType="RECEIVABLE")
    before = event_count(db)

    result = run(client, ACCOUNT, "create", code="400000", name="Other", accountType="RECEIVABLE")

    assert refused(result, "account") == [(["code"], "DUPLICATE")]
    assert event_count(db) == before
    assert entry_names(client, ACCOUNT) == ["Customers"]


def test_account_codes_are_unique_whatever_the_case(client: TestClient) -> None:
    create_entry(client, ACCOUNT, code="AR-EU", name="Receivable EU", accountType="RECEIVABLE")

    result = run(client, ACCOUNT, "create", code="ar-eu", name="Other", accountType="RECEIVABLE")

    assert refused(result, "account") == [(["code"], "DUPLICATE")]


def test_a_renamed_code_frees_the_old_one(client: TestClient) -> None:
    first = create_entry(client, ACCOUNT, code="440000", name="Suppliers", accountType="PAYABLE")
    run(client, ACCOUNT, "update", id=first["id"], code="440100")

    second = create_entry(client, ACCOUNT, code="440000", name="Vendors", accountType="PAYABLE")
    taken = run(client, ACCOUNT, "create", code="440100", name="Other", accountType="PAYABLE")

    assert second["code"] == "440000"
    assert refused(taken, "account") == [(["code"], "DUPLICATE")]


def test_an_account_cannot_take_a_code_in_use(client: TestClient, db: Database) -> None:
    create_entry(client, ACCOUNT, code="400000", name="Customers", accountType="RECEIVABLE")
    other = create_entry(client, ACCOUNT, code="400100", name="Other", accountType="RECEIVABLE")
    before = event_count(db)

    result = run(client, ACCOUNT, "update", id=other["id"], code="400000")

    assert refused(result, "account") == [(["code"], "DUPLICATE")]
    assert event_count(db) == before


def test_an_account_code_has_no_spaces(client: TestClient) -> None:
    result = run(client, ACCOUNT, "create", code="400 000", name="Customers", accountType="PAYABLE")
    assert refused(result, "account") == [(["code"], "VALIDATION")]


def test_a_fiscal_position_shows_its_country_with_its_name(client: TestClient) -> None:
    position = create_entry(client, FISCAL_POSITION, name="Domestic", countryCode="fr")
    moved = run(client, FISCAL_POSITION, "update", id=position["id"], countryCode="DE")

    assert position["country"] == {"code": "FR", "name": "France"}
    assert moved["fiscalPosition"]["country"] == {"code": "DE", "name": "Germany"}


def test_a_fiscal_position_with_an_unknown_country_is_refused(client: TestClient) -> None:
    result = run(client, FISCAL_POSITION, "create", name="Nowhere", countryCode="XX")
    assert refused(result, "fiscalPosition") == [(["countryCode"], "VALIDATION")]
