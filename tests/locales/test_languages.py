"""The API speaks the request's language (issue 22): Accept-Language over HTTP, the
`locale` of a WebSocket's connection_init, the `locale` argument; codes, enum values and
ids never change, and English stays as it was."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.schema.live.cursors import encode_cursor
from tests.schema.partner_ops import create

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
CREATE = """mutation($input: CreatePartnerInput!) {
  createPartner(input: $input) { partner { id } userErrors { code message } } }"""
PARTNER = """query($id: ID!) { partner(id: $id) {
  type typeLabel name displayName address { country { code name } } } }"""
ACCOUNT = """mutation($code: String!) {
  createAccount(input: {code: $code, name: "Clients", accountType: RECEIVABLE}) {
    userErrors { field code message } } }"""
FACETS = """{ partnerFacets { countries { value label } kinds { value label }
  roles { value label } languages { value label } } }"""


def _post(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


@pytest.fixture
def invoice_address(client: TestClient) -> str:
    company = create(
        client, kind="COMPANY", name="Müller GmbH", countryCode="DE", lang="de_DE", isCustomer=True
    )["id"]
    invoice = create(client, kind="PERSON", type="INVOICE", parentId=company, countryCode="DE")
    return str(invoice["id"])


@pytest.mark.parametrize(
    ("headers", "label", "country"),
    [
        (FRENCH, "Adresse de facturation", "Allemagne"),
        ({"Accept-Language": "en"}, "Invoice Address", "Germany"),
        ({}, "Invoice Address", "Germany"),
        ({"Accept-Language": "xx"}, "Invoice Address", "Germany"),
    ],
)
def test_an_invoice_address_and_its_country_read_in_the_requests_language(
    client: TestClient, invoice_address: str, headers: dict[str, str], label: str, country: str
) -> None:
    partner = _post(client, PARTNER, {"id": invoice_address}, headers)["partner"]
    assert partner == {
        "type": "INVOICE",
        "typeLabel": label,
        "name": label,
        "displayName": f"Müller GmbH, {label}",
        "address": {"country": {"code": "DE", "name": country}},
    }


def test_a_duplicate_account_code_is_said_in_french_with_its_code_unchanged(
    client: TestClient,
) -> None:
    assert _post(client, ACCOUNT, {"code": "411000"})["createAccount"]["userErrors"] == []
    french = _post(client, ACCOUNT, {"code": "411000"}, FRENCH)["createAccount"]["userErrors"]
    english = _post(client, ACCOUNT, {"code": "411000"})["createAccount"]["userErrors"]
    assert english == [
        {"field": ["code"], "code": "DUPLICATE", "message": "another account already has this code"}
    ]
    assert french == [
        {"field": ["code"], "code": "DUPLICATE", "message": "un autre compte a déjà ce code"}
    ]


def test_a_message_made_of_values_is_translated_with_its_values(client: TestClient) -> None:
    variables = {"input": {"kind": "COMPANY", "name": "Acme", "countryCode": "ZZ"}}
    errors = _post(client, CREATE, variables, FRENCH)["createPartner"]["userErrors"]
    assert errors == [
        {
            "code": "VALIDATION",
            "message": "« ZZ » n'est pas un code pays ISO 3166-1 alpha-2",
        }
    ]


def test_facet_labels_are_french_and_their_values_unchanged(
    client: TestClient, invoice_address: str
) -> None:
    facets = _post(client, FACETS, headers=FRENCH)["partnerFacets"]
    assert facets["countries"] == [{"value": "DE", "label": "Allemagne"}]
    assert {"value": "COMPANY", "label": "Société"} in facets["kinds"]
    assert {"value": "PERSON", "label": "Personne"} in facets["kinds"]
    assert {"value": "CUSTOMER", "label": "Client"} in facets["roles"]
    assert facets["languages"] == [{"value": "de_DE", "label": "Allemand"}]
    english = _post(client, FACETS)["partnerFacets"]
    assert english["countries"] == [{"value": "DE", "label": "Germany"}]
    assert {"value": "COMPANY", "label": "Company"} in english["kinds"]
    assert {"value": "CUSTOMER", "label": "Customer"} in english["roles"]
    assert english["languages"] == [{"value": "de_DE", "label": "German"}]


def test_the_locale_argument_overrides_the_header(client: TestClient) -> None:
    query = """{ countries(search: "allem", locale: "fr") { code name }
      languages(search: "allem", locale: "fr-BE") { code name } }"""
    data = _post(client, query, headers={"Accept-Language": "de"})
    assert {"code": "DE", "name": "Allemagne"} in data["countries"]
    assert {"code": "de_DE", "name": "Allemand (Allemagne)"} in data["languages"]
    german = _post(
        client, '{ countries(search: "deutsch") { code name } }', headers={"Accept-Language": "de"}
    )
    assert german["countries"] == [{"code": "DE", "name": "Deutschland"}]


MONEY = """mutation($price: MoneyInput!) { createDeliveryMethod(input: {name: "Express",
  fixedPrice: $price}) { deliveryMethod { fixedPrice { amount formatted currencyName } } } }"""


@pytest.mark.parametrize(
    ("headers", "currency", "formatted", "name"),
    [
        (FRENCH, "EUR", "1\u202f234,56\xa0€", "Euro"),
        (FRENCH, "USD", "1\u202f234,56\xa0$US", "Dollar américain"),
        ({}, "EUR", "€1,234.56", "Euro"),
        ({}, "USD", "$1,234.56", "US Dollar"),
    ],
)
def test_money_is_formatted_and_its_currency_named_for_the_locale(
    client: TestClient, headers: dict[str, str], currency: str, formatted: str, name: str
) -> None:
    price = {"amount": "1234.56", "currency": currency}
    created = _post(client, MONEY, {"price": price}, headers)["createDeliveryMethod"]
    assert created["deliveryMethod"]["fixedPrice"] == {
        "amount": "1234.56",
        "formatted": formatted,
        "currencyName": name,
    }


def test_a_huge_accept_language_header_is_answered_in_english_at_the_cost_of_a_small_one(
    client: TestClient, invoice_address: str
) -> None:
    many = ",".join(["zz"] * 10_000 + ["fr"])  # fr comes after the ranges that are read
    long = "fr-" + "x" * 100_000  # one tag of 100 kB
    for header in (many, long):
        partner = _post(client, PARTNER, {"id": invoice_address}, {"Accept-Language": header})
        assert partner["partner"]["typeLabel"] == "Invoice Address"


@pytest.mark.parametrize(
    ("protocol", "subscribe", "data"),
    [("graphql-transport-ws", "subscribe", "next"), ("graphql-ws", "start", "data")],
)
@pytest.mark.parametrize(("locale", "summary"), [("fr", "Acme créé"), (None, "Acme created")])
def test_over_websocket_the_connection_init_locale_says_timeline_summaries_in_it(
    client: TestClient,
    admin_key: str,
    protocol: str,
    subscribe: str,
    data: str,
    locale: str | None,
    summary: str,
) -> None:
    partner = create(client, kind="COMPANY", name="Acme")["id"]
    payload = {"Authorization": f"Bearer {admin_key}"} | ({"locale": locale} if locale else {})
    with client.websocket_connect("/graphql", subprotocols=[protocol]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        query = """subscription($id: ID!, $after: String) {
          timeline(partnerId: $id, after: $after) { kind summary } }"""
        variables = {"id": partner, "after": encode_cursor(0)}
        ws.send_json(
            {"id": "1", "type": subscribe, "payload": {"query": query, "variables": variables}}
        )
        message = ws.receive_json()
        while message["type"] == "ka":  # graphql-ws's keep-alive
            message = ws.receive_json()
    assert message["type"] == data, message
    assert message["payload"]["data"]["timeline"] == {"kind": "PARTNER_CREATED", "summary": summary}


def test_an_imports_row_problems_are_said_in_french(client: TestClient) -> None:
    query = """mutation($input: ImportPartnersInput!) { importPartners(input: $input) {
      rejected { row field message } } }"""
    rows = [{"externalId": "x.acme", "name": "Acme", "country": "Atlantis"}]
    variables = {"input": {"rows": rows, "dryRun": True}}
    french = _post(client, query, variables, FRENCH)["importPartners"]["rejected"]
    english = _post(client, query, variables)["importPartners"]["rejected"]
    assert [p["field"] for p in french] == [p["field"] for p in english]
    assert english[0]["message"] == "unknown country 'Atlantis'"
    assert french[0]["message"] == "pays inconnu « Atlantis »"


def test_top_level_errors_are_said_in_french_with_their_codes_unchanged(
    client: TestClient,
) -> None:
    deep = "{ partners { nodes { " + "parent { " * 30 + "id" + " }" * 30 + " } } }"
    response = client.post("/graphql", json={"query": deep}, headers=FRENCH)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["message"].startswith("l'opération imbrique des champs sur")
    client.headers.pop("Authorization")
    response = client.post("/graphql", json={"query": "{ auditHead { position } }"}, headers=FRENCH)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "une clé d'API est requise (Authorization: Bearer <clé>)"


ADD_ACCOUNT = """mutation($input: AddBankAccountInput!) { addBankAccount(input: $input) {
  bankAccount { id } userErrors { field code message } } }"""
TIMELINE = (
    """query($id: ID!) { partner(id: $id) { timeline(first: 5) { nodes { kind summary } } } }"""
)


def test_a_bank_accounts_errors_and_timeline_are_said_in_french_with_codes_unchanged(
    client: TestClient,
) -> None:
    """A feature built beside issue 22 (bank accounts): its userErrors, made of templates
    with values (one a translated message itself), and its timeline summaries."""
    company = create(client, kind="COMPANY", name="Gamma Trading")["id"]
    bad = {"input": {"partnerId": company, "iban": "DE89370400440532013001", "currency": "XYZ"}}
    french = _post(client, ADD_ACCOUNT, bad, FRENCH)["addBankAccount"]
    english = _post(client, ADD_ACCOUNT, bad)["addBankAccount"]
    assert french["bankAccount"] is None and english["bankAccount"] is None
    assert sorted((e["field"], e["code"], e["message"]) for e in english["userErrors"]) == [
        (["currency"], "VALIDATION", "currency 'XYZ' is not an ISO 4217 currency code"),
        (["iban"], "VALIDATION", "iban is not a valid IBAN (check digits)"),
    ]
    assert sorted((e["field"], e["code"], e["message"]) for e in french["userErrors"]) == [
        (["currency"], "VALIDATION", "currency « XYZ » n'est pas un code de devise ISO 4217"),
        (["iban"], "VALIDATION", "iban n'est pas un IBAN valide (chiffres de contrôle)"),
    ]
    good = {"input": {"partnerId": company, "iban": "DE89370400440532013000"}}
    assert _post(client, ADD_ACCOUNT, good)["addBankAccount"]["userErrors"] == []
    entries = _post(client, TIMELINE, {"id": company}, FRENCH)["partner"]["timeline"]["nodes"]
    assert {"kind": "BANK_ACCOUNT_ADDED", "summary": "Compte bancaire ajouté"} in entries
    entries = _post(client, TIMELINE, {"id": company})["partner"]["timeline"]["nodes"]
    assert {"kind": "BANK_ACCOUNT_ADDED", "summary": "Bank account added"} in entries
