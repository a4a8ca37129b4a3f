"""Bank accounts over HTTP: IBAN and BIC checked (VALIDATION naming the field), kept
compact and shown formatted, the DUPLICATE warning, search by IBAN, limits, removal."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from app.domain.bank_account import MAX_BANK_ACCOUNTS
from tests.conftest import gql
from tests.schema.affiliation_ops import (
    ACCOUNTS,
    ADD_ACCOUNT,
    REMOVE_ACCOUNT,
    UPDATE_ACCOUNT,
    mutate,
    ok,
)
from tests.schema.partner_ops import create

IBAN = "DE89 3704 0044 0532 0130 00"
SEARCH = "query($s: String) { partners(search: $s) { totalCount nodes { name } } }"


def _accounts(client: TestClient, partner_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = gql(client, ACCOUNTS, {"id": partner_id})["partner"][
        "bankAccounts"
    ]
    return found


def test_an_account_is_kept_compact_and_shown_formatted(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    account = ok(
        client,
        ADD_ACCOUNT,
        "bankAccount",
        partnerId=company["id"],
        iban="de89370400440532013000",
        bic="deutdeff",
        holderName="Gamma Trading GmbH",
        currency="eur",
    )
    assert account["iban"] == IBAN
    assert (account["bic"], account["currency"]) == ("DEUTDEFF", "EUR")
    assert account["partner"]["id"] == company["id"]
    assert [a["id"] for a in _accounts(client, company["id"])] == [account["id"]]


def test_an_iban_with_bad_check_digits_is_a_validation_error(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    refused = mutate(
        client, ADD_ACCOUNT, partnerId=company["id"], iban="DE89370400440532013001", bic="NOPE"
    )
    assert refused["bankAccount"] is None
    assert sorted((e["field"], e["code"]) for e in refused["userErrors"]) == [
        (["bic"], "VALIDATION"),
        (["iban"], "VALIDATION"),
    ]
    huge = mutate(client, ADD_ACCOUNT, partnerId=company["id"], iban="DE" + "1" * 10_000)
    assert [e["field"] for e in huge["userErrors"]] == [["iban"]]
    assert _accounts(client, company["id"]) == []


def test_the_same_iban_on_another_partner_is_a_duplicate_warning(client: TestClient) -> None:
    first = create(client, kind="COMPANY", name="Gamma Trading")
    second = create(client, kind="COMPANY", name="Gamma Trading Two")
    added = mutate(client, ADD_ACCOUNT, partnerId=first["id"], iban=IBAN)
    assert added["warnings"] == []

    again = mutate(client, ADD_ACCOUNT, partnerId=second["id"], iban=IBAN.replace(" ", ""))

    assert again["userErrors"] == [] and again["bankAccount"]["iban"] == IBAN
    assert [(w["field"], w["code"]) for w in again["warnings"]] == [(["iban"], "DUPLICATE")]
    assert first["id"] in again["warnings"][0]["message"]


def test_search_finds_a_partner_by_its_iban(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    create(client, kind="COMPANY", name="Delta Unrelated")
    ok(client, ADD_ACCOUNT, "bankAccount", partnerId=company["id"], iban=IBAN)
    for typed in (IBAN, IBAN.replace(" ", "").lower()):
        found = gql(client, SEARCH, {"s": typed})["partners"]
        assert found == {"totalCount": 1, "nodes": [{"name": "Gamma Trading"}]}


def test_update_and_removal(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    account = ok(client, ADD_ACCOUNT, "bankAccount", partnerId=company["id"], iban=IBAN)
    changed = ok(
        client, UPDATE_ACCOUNT, "bankAccount", id=account["id"], holderName="G. T.", bic=None
    )
    assert (changed["holderName"], changed["bic"], changed["iban"]) == ("G. T.", None, IBAN)
    cleared = mutate(client, UPDATE_ACCOUNT, id=account["id"], iban=None)
    assert [e["field"] for e in cleared["userErrors"]] == [["iban"]]
    removed = ok(client, REMOVE_ACCOUNT, "bankAccount", id=account["id"])
    assert removed["id"] == account["id"]
    assert _accounts(client, company["id"]) == []
    assert gql(client, SEARCH, {"s": IBAN})["partners"]["totalCount"] == 0
    twice = mutate(client, REMOVE_ACCOUNT, id=account["id"])
    assert [e["code"] for e in twice["userErrors"]] == ["NOT_FOUND"]


def test_a_partner_has_a_bounded_number_of_accounts(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    for _ in range(MAX_BANK_ACCOUNTS):
        ok(client, ADD_ACCOUNT, "bankAccount", partnerId=company["id"], iban=IBAN)
    refused = mutate(client, ADD_ACCOUNT, partnerId=company["id"], iban=IBAN)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["partnerId"], "VALIDATION")
    ]
    assert len(_accounts(client, company["id"])) == MAX_BANK_ACCOUNTS


def test_repeating_an_add_with_its_idempotency_key_records_nothing_new(
    client: TestClient,
) -> None:
    company = create(client, kind="COMPANY", name="Gamma Trading")
    first = ok(
        client, ADD_ACCOUNT, "bankAccount", partnerId=company["id"], iban=IBAN, idempotencyKey="k1"
    )
    again = ok(
        client, ADD_ACCOUNT, "bankAccount", partnerId=company["id"], iban=IBAN, idempotencyKey="k1"
    )
    assert again["id"] == first["id"]
    other = mutate(
        client, ADD_ACCOUNT, partnerId=company["id"], iban="BE71096123456769", idempotencyKey="k1"
    )
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        (["idempotencyKey"], "VALIDATION")
    ]
    assert len(_accounts(client, company["id"])) == 1
