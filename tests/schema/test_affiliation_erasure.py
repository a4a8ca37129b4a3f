"""Erasing a person reaches its bank accounts and affiliations: no pg_dump of the
database holds the IBAN, the holder, the role or the function afterwards; and a merge
(and its undoing) moves affiliations and bank accounts like children."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import gql
from tests.schema.affiliation_ops import (
    ACCOUNTS,
    ADD_ACCOUNT,
    ADD_AFFILIATION,
    AFFILIATIONS,
    UPDATE_ACCOUNT,
    ok,
)
from tests.schema.partner_ops import create
from tests.schema.test_anonymize import anonymize, pg_dump

IBAN = "BE71 0961 2345 6769"
OTHER_IBAN = "NL91 ABNA 0417 1643 00"
SECRETS = ["Quillon Hartsease", "Keeper of Hidden Ledgers", "Grand Vizier of Audits"]
SEARCH = "query($s: String) { partners(search: $s) { totalCount } }"
MERGE = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  moved { kind id } userErrors { field code message } } }"""
UNMERGE = """mutation($input: UnmergePartnerInput!) { unmergePartner(input: $input) {
  userErrors { field code message } } }"""


def _in_dump(dump: str, text: str) -> bool:
    return text.lower() in dump or text.encode().hex() in dump


def test_erasing_a_person_removes_its_bank_accounts_and_affiliations_from_a_dump(
    client: TestClient, db: Database
) -> None:
    company = create(client, kind="COMPANY", name="Open Ledger Company")
    person = create(client, kind="PERSON", name="Someone Erasable")
    account = ok(
        client,
        ADD_ACCOUNT,
        "bankAccount",
        partnerId=person["id"],
        iban=IBAN,
        holderName=SECRETS[0],
        reason="asked by Quillon Hartsease",
    )
    ok(client, UPDATE_ACCOUNT, "bankAccount", id=account["id"], iban=OTHER_IBAN)
    ok(
        client,
        ADD_AFFILIATION,
        "affiliation",
        personId=person["id"],
        companyId=company["id"],
        role=SECRETS[1],
        function=SECRETS[2],
    )
    assert gql(client, SEARCH, {"s": OTHER_IBAN})["partners"]["totalCount"] == 1
    compact = [IBAN.replace(" ", ""), OTHER_IBAN.replace(" ", "")]
    dump = pg_dump(db).lower()
    assert all(_in_dump(dump, s) for s in [*SECRETS[:2], compact[1]])  # the read models

    assert anonymize(client, person["id"])["userErrors"] == []

    dump = pg_dump(db).lower()
    for secret in [*SECRETS, *compact, IBAN, OTHER_IBAN]:
        assert not _in_dump(dump, secret), secret
    assert _in_dump(dump, "Open Ledger Company")
    assert gql(client, SEARCH, {"s": OTHER_IBAN})["partners"]["totalCount"] == 0
    shown = gql(client, ACCOUNTS, {"id": person["id"]})["partner"]["bankAccounts"]
    assert [(a["iban"], a["holderName"]) for a in shown] == [(None, None)]
    kept = gql(client, AFFILIATIONS, {"id": company["id"], "ended": False})["partner"]
    assert [(a["role"], a["function"]) for a in kept["affiliations"]] == [(None, None)]


def test_merge_and_unmerge_move_affiliations_and_bank_accounts(client: TestClient) -> None:
    company = create(client, kind="COMPANY", name="Merge Target Company")
    duplicate = create(client, kind="COMPANY", name="Merge Target Co")
    person = create(client, kind="PERSON", name="Affiliated Person")
    affiliation = ok(
        client, ADD_AFFILIATION, "affiliation", personId=person["id"], companyId=duplicate["id"]
    )
    account = ok(client, ADD_ACCOUNT, "bankAccount", partnerId=duplicate["id"], iban=IBAN)

    merged = gql(
        client, MERGE, {"input": {"destinationId": company["id"], "sourceIds": [duplicate["id"]]}}
    )["mergePartners"]

    assert merged["userErrors"] == []
    assert {(m["kind"], m["id"]) for m in merged["moved"]} == {
        ("AFFILIATION", affiliation["id"]),
        ("BANK_ACCOUNT", account["id"]),
    }
    listed = gql(client, AFFILIATIONS, {"id": company["id"], "ended": False})["partner"]
    assert [a["person"]["id"] for a in listed["affiliations"]] == [person["id"]]
    mine = gql(client, AFFILIATIONS, {"id": person["id"], "ended": False})["partner"]
    assert [a["company"]["id"] for a in mine["affiliations"]] == [company["id"]]
    accounts = gql(client, ACCOUNTS, {"id": company["id"]})["partner"]["bankAccounts"]
    assert [a["id"] for a in accounts] == [account["id"]]

    undone = gql(client, UNMERGE, {"input": {"sourceId": duplicate["id"]}})["unmergePartner"]

    assert undone["userErrors"] == []
    back = gql(client, AFFILIATIONS, {"id": duplicate["id"], "ended": False})["partner"]
    assert [a["id"] for a in back["affiliations"]] == [affiliation["id"]]
    assert (
        gql(client, AFFILIATIONS, {"id": company["id"], "ended": False})["partner"]["affiliations"]
        == []
    )
    assert [
        a["id"] for a in gql(client, ACCOUNTS, {"id": duplicate["id"]})["partner"]["bankAccounts"]
    ] == [account["id"]]
