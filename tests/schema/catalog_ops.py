"""GraphQL operations shared by the catalog, tag and commercial-terms tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql

USER_ERRORS = "userErrors { field code message }"


@dataclass(frozen=True)
class Catalog:
    """One catalog as the API names it: its type, payload field, list query and fields."""

    type_name: str
    payload: str
    plural: str
    fields: str

    def mutation(self, verb: str) -> str:
        input_type = {
            "create": f"Create{self.type_name}Input",
            "update": f"Update{self.type_name}Input",
            "archive": "CatalogStateInput",
            "restore": "CatalogStateInput",
        }[verb]
        return f"""
mutation($input: {input_type}!) {{
  {verb}{self.type_name}(input: $input) {{
    {self.payload} {{ id name archived version createdAt updatedAt {self.fields} }}
    {USER_ERRORS}
  }}
}}"""

    @property
    def list_query(self) -> str:
        return f"""
query($first: Int, $after: String, $includeArchived: Boolean! = false) {{
  {self.plural}(first: $first, after: $after, includeArchived: $includeArchived) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    nodes {{ id name archived }}
  }}
}}"""


LINE_FIELDS = "kind value days endOfMonth discountPercent discountDays"

INDUSTRY = Catalog("Industry", "industry", "industries", "fullName")
PAYMENT_TERM = Catalog(
    "PaymentTerm", "paymentTerm", "paymentTerms", f"note lines {{ {LINE_FIELDS} }}"
)
PRICELIST = Catalog("Pricelist", "pricelist", "pricelists", "currency")
DELIVERY_METHOD = Catalog(
    "DeliveryMethod", "deliveryMethod", "deliveryMethods", "fixedPrice { amount currency }"
)
SALESPERSON = Catalog("Salesperson", "salesperson", "salespersons", "email tz active")
ACCOUNT = Catalog("Account", "account", "accounts", "code accountType")
FISCAL_POSITION = Catalog(
    "FiscalPosition", "fiscalPosition", "fiscalPositions", "country { code name }"
)
CATALOGS = (
    INDUSTRY,
    PAYMENT_TERM,
    PRICELIST,
    DELIVERY_METHOD,
    SALESPERSON,
    ACCOUNT,
    FISCAL_POSITION,
)


def run(client: TestClient, catalog: Catalog, verb: str, /, **fields: Any) -> dict[str, Any]:
    """Runs create/update/archive/restore; returns the payload (entry and userErrors)."""
    result: dict[str, Any] = gql(client, catalog.mutation(verb), {"input": fields})[
        f"{verb}{catalog.type_name}"
    ]
    return result


def create_entry(client: TestClient, catalog: Catalog, **fields: Any) -> dict[str, Any]:
    """Creates a catalog entry and returns it; fails the test on user errors."""
    result = run(client, catalog, "create", **fields)
    assert result["userErrors"] == [], result["userErrors"]
    entry: dict[str, Any] = result[catalog.payload]
    return entry


def refused(result: dict[str, Any], payload: str) -> list[tuple[list[str] | None, str]]:
    """The (field, code) pairs of a refused mutation, checking it returned no record."""
    assert result[payload] is None, result
    assert all(error["message"] for error in result["userErrors"])
    return [(error["field"], error["code"]) for error in result["userErrors"]]


def entry_names(client: TestClient, catalog: Catalog, **variables: Any) -> list[str]:
    connection = gql(client, catalog.list_query, variables)[catalog.plural]
    return [node["name"] for node in connection["nodes"]]


def create_industry(client: TestClient, name: str) -> dict[str, Any]:
    return create_entry(client, INDUSTRY, name=name)


def create_payment_term(client: TestClient, name: str, days: int = 30) -> dict[str, Any]:
    return create_entry(client, PAYMENT_TERM, name=name, lines=[{"kind": "BALANCE", "days": days}])


def create_pricelist(client: TestClient, name: str, currency: str = "EUR") -> dict[str, Any]:
    return create_entry(client, PRICELIST, name=name, currency=currency)


def create_salesperson(client: TestClient, name: str) -> dict[str, Any]:
    return create_entry(client, SALESPERSON, name=name)


# -- partners with their commercial fields ------------------------------------------------

TERMS_FIELDS = """
  inheritedFrom { id name }
  customerPaymentTerm { id name archived }
  vendorPaymentTerm { id name archived }
  pricelist { id name currency }
  deliveryMethod { id name }
  salesperson { id name }
  receivableAccount { id code }
  payableAccount { id code }
  fiscalPosition { id name }
  creditLimit { amount currency }
"""

PARTNER_VIEW = f"""
  id name version vat
  industry {{ id name }}
  salesperson {{ id name }}
  tags {{ id name fullName archived }}
  commercialTerms {{ {TERMS_FIELDS} }}
"""

CREATE_PARTNER = f"""
mutation($input: CreatePartnerInput!) {{
  createPartner(input: $input) {{ partner {{ {PARTNER_VIEW} }} {USER_ERRORS} }}
}}"""

UPDATE_PARTNER = f"""
mutation($input: UpdatePartnerInput!) {{
  updatePartner(input: $input) {{ partner {{ {PARTNER_VIEW} }} {USER_ERRORS} }}
}}"""

SET_TERMS = f"""
mutation($input: SetCommercialTermsInput!) {{
  setCommercialTerms(input: $input) {{ partner {{ {PARTNER_VIEW} }} {USER_ERRORS} }}
}}"""

ADD_TAGS = f"""
mutation($input: PartnerTagsInput!) {{
  addPartnerTags(input: $input) {{ partner {{ {PARTNER_VIEW} }} {USER_ERRORS} }}
}}"""

REMOVE_TAGS = ADD_TAGS.replace("addPartnerTags", "removePartnerTags")

VIEW_PARTNER = f"query($id: ID!) {{ partner(id: $id) {{ {PARTNER_VIEW} }} }}"

PARTNER_NAMES = """
query($filter: PartnerFilter) { partners(filter: $filter) { nodes { name } } }"""

NO_TERMS: dict[str, Any] = {
    "inheritedFrom": None,
    "customerPaymentTerm": None,
    "vendorPaymentTerm": None,
    "pricelist": None,
    "deliveryMethod": None,
    "salesperson": None,
    "receivableAccount": None,
    "payableAccount": None,
    "fiscalPosition": None,
    "creditLimit": None,
}


def partner_payload(
    client: TestClient, operation: str, name: str, /, **fields: Any
) -> dict[str, Any]:
    """Runs a partner mutation; returns its payload (partner and userErrors)."""
    result: dict[str, Any] = gql(client, operation, {"input": fields})[name]
    return result


def create_partner(client: TestClient, **fields: Any) -> dict[str, Any]:
    result = partner_payload(client, CREATE_PARTNER, "createPartner", **fields)
    assert result["userErrors"] == [], result["userErrors"]
    partner: dict[str, Any] = result["partner"]
    return partner


def set_terms(client: TestClient, **fields: Any) -> dict[str, Any]:
    return partner_payload(client, SET_TERMS, "setCommercialTerms", **fields)


def view(client: TestClient, partner_id: str) -> dict[str, Any]:
    partner: dict[str, Any] | None = gql(client, VIEW_PARTNER, {"id": partner_id})["partner"]
    assert partner is not None
    return partner


def partner_names(client: TestClient, **filter_: Any) -> list[str]:
    nodes = gql(client, PARTNER_NAMES, {"filter": filter_})["partners"]["nodes"]
    return [node["name"] for node in nodes]


# -- tags ---------------------------------------------------------------------------------

TAG_FIELDS = "id name color fullName archived version parent { id name }"

CREATE_TAG = f"""
mutation($input: CreateTagInput!) {{ createTag(input: $input) {{ tag {{ {TAG_FIELDS} }} {USER_ERRORS} }} }}"""

UPDATE_TAG = f"""
mutation($input: UpdateTagInput!) {{ updateTag(input: $input) {{ tag {{ {TAG_FIELDS} }} {USER_ERRORS} }} }}"""

ARCHIVE_TAG = f"""
mutation($input: TagStateInput!) {{ archiveTag(input: $input) {{ tag {{ {TAG_FIELDS} }} {USER_ERRORS} }} }}"""

RESTORE_TAG = ARCHIVE_TAG.replace("archiveTag", "restoreTag")


def tag_payload(client: TestClient, operation: str, /, **fields: Any) -> dict[str, Any]:
    """Runs a tag mutation; returns its payload (tag and userErrors)."""
    data = gql(client, operation, {"input": fields})
    result: dict[str, Any] = next(iter(data.values()))
    return result


def create_tag(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    result = tag_payload(client, CREATE_TAG, name=name, **fields)
    assert result["userErrors"] == [], result["userErrors"]
    tag: dict[str, Any] = result["tag"]
    return tag
