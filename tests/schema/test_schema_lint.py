"""Every name of the schema is described and spelled the GraphQL way (tests/schema/lint.py)."""

from __future__ import annotations

from graphql import build_schema as build_from_sdl

from app.schema.schema import build_schema
from tests.schema.lint import lint

FLAWED = '''
"""A partner."""
type Partner {
  """Its name."""
  name: String!
  email: String
  """Its phone."""
  phone_number: String
  """Its fax."""
  fax: String @deprecated
}
"""The kind."""
enum kind {
  """A company."""
  COMPANY
  """A person."""
  Person
}
"""A filter."""
input PartnerFilter {
  """Only this kind."""
  kind: kind
  Name: String
}
"""Marks a field as internal."""
directive @Internal(
  """Why."""
  reason: String
) on FIELD_DEFINITION
type Query {
  """Partners."""
  partners(
    """Conditions."""
    filter: PartnerFilter
    first: Int
  ): [Partner!]!
}
'''


def test_every_flaw_is_named_where_it_is() -> None:
    assert lint(build_from_sdl(FLAWED)) == [
        "Partner.email: no description",
        "Partner.phone_number: not camelCase",
        "Partner.fax: deprecated without saying what to use instead",
        "kind: not PascalCase",
        "kind.Person: not UPPER_SNAKE_CASE",
        "PartnerFilter.Name: not camelCase",
        "PartnerFilter.Name: no description",
        "Query: no description",
        "Query.partners(first:): no description",
        "@Internal: not camelCase",
    ]


def test_graphql_s_own_types_and_directives_are_not_ours_to_lint() -> None:
    assert lint(build_from_sdl('"""Root."""\ntype Query {\n  """Hi."""\n  hello: String\n}')) == []


def test_the_schema_is_described_and_well_named() -> None:
    problems = lint(build_schema()._schema)
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
