"""Operations the affiliation and bank account tests share."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql

AFFILIATION = "affiliation { id role function startDate endDate person { id } company { id } }"
ADD_AFFILIATION = f"""mutation($input: AddAffiliationInput!) {{ addAffiliation(input: $input) {{
  {AFFILIATION} userErrors {{ field code message }} }} }}"""
UPDATE_AFFILIATION = ADD_AFFILIATION.replace(
    "AddAffiliationInput", "UpdateAffiliationInput"
).replace("addAffiliation", "updateAffiliation")
END_AFFILIATION = ADD_AFFILIATION.replace("AddAffiliationInput", "EndAffiliationInput").replace(
    "addAffiliation", "endAffiliation"
)
AFFILIATIONS = """query($id: ID!, $ended: Boolean) { partner(id: $id) {
  affiliations(includeEnded: $ended) { id role function endDate person { id } company { id } } } }"""
ACCOUNT = "bankAccount { id iban bic holderName currency partner { id } }"
ADD_ACCOUNT = f"""mutation($input: AddBankAccountInput!) {{ addBankAccount(input: $input) {{
  {ACCOUNT} userErrors {{ field code message }} warnings {{ field code message }} }} }}"""
UPDATE_ACCOUNT = ADD_ACCOUNT.replace("AddBankAccountInput", "UpdateBankAccountInput").replace(
    "addBankAccount", "updateBankAccount"
)
REMOVE_ACCOUNT = ADD_ACCOUNT.replace("AddBankAccountInput", "RemoveBankAccountInput").replace(
    "addBankAccount", "removeBankAccount"
)
ACCOUNTS = """query($id: ID!) { partner(id: $id) {
  bankAccounts { id iban bic holderName currency } } }"""


def mutate(client: TestClient, query: str, **fields: Any) -> dict[str, Any]:
    """The payload of a mutation (its only field)."""
    data = gql(client, query, {"input": fields})
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


def ok(client: TestClient, query: str, record: str, **fields: Any) -> dict[str, Any]:
    payload = mutate(client, query, **fields)
    assert payload["userErrors"] == [], payload["userErrors"]
    result: dict[str, Any] = payload[record]
    return result
