"""GraphQL operations shared by the partner tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql

PARTNER_FIELDS = """
  id kind type name displayName email phone phoneIsValid mobile website lang tz function
  vat ref companyRegistry notes isCustomer isSupplier archived version createdAt updatedAt
  formattedAddress
  address { street street2 city zip state { code name } country { code name }
            inheritedFrom { id } }
  parent { id name }
  commercialPartner { id name }
"""

CREATE = f"""
mutation($input: CreatePartnerInput!) {{
  createPartner(input: $input) {{
    partner {{ {PARTNER_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdatePartnerInput!) {{
  updatePartner(input: $input) {{
    partner {{ {PARTNER_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}"""

ARCHIVE = f"""
mutation($input: PartnerStateInput!) {{
  archivePartner(input: $input) {{
    partner {{ {PARTNER_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}"""

RESTORE = ARCHIVE.replace("archivePartner", "restorePartner")

GET = f"query($id: ID!) {{ partner(id: $id) {{ {PARTNER_FIELDS} }} }}"

LIST = """
query($filter: PartnerFilter, $orderBy: [PartnerOrder!], $first: Int, $after: String,
      $last: Int, $before: String) {
  partners(filter: $filter, orderBy: $orderBy, first: $first, after: $after,
           last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name displayName } }
  }
}"""


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    """Creates a partner and returns it; fails the test on user errors."""
    result = gql(client, CREATE, {"input": fields})["createPartner"]
    assert result["userErrors"] == [], result["userErrors"]
    partner: dict[str, Any] = result["partner"]
    return partner


def create_errors(client: TestClient, **fields: Any) -> list[dict[str, Any]]:
    result = gql(client, CREATE, {"input": fields})["createPartner"]
    assert result["partner"] is None
    errors: list[dict[str, Any]] = result["userErrors"]
    return errors


def update(client: TestClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(client, UPDATE, {"input": fields})["updatePartner"]
    return result


def get(client: TestClient, partner_id: str) -> dict[str, Any] | None:
    partner: dict[str, Any] | None = gql(client, GET, {"id": partner_id})["partner"]
    return partner


def names(client: TestClient, **variables: Any) -> list[str]:
    connection = gql(client, LIST, variables)["partners"]
    return [edge["node"]["name"] for edge in connection["edges"]]
