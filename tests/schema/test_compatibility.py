"""Clients written against the released schema keep working: nothing they may use is
removed or changed unless the release deprecated it first."""

from __future__ import annotations

import warnings
from pathlib import Path

from app.schema.schema import sdl
from tests.schema.compatibility import compare

RELEASED = Path(__file__).resolve().parents[2] / "schema.released.graphql"

RELEASE = """
interface Node { id: ID! }
type Partner implements Node {
  id: ID!
  name: String!
  email: String
  fax: String @deprecated(reason: "Nobody sends faxes.")
  legacy: Legacy @deprecated(reason: "Use `name`.")
}
type Legacy {
  code: String!
}
enum Kind {
  COMPANY
  PERSON
  ROBOT @deprecated(reason: "Never used.")
}
input PartnerFilter {
  kind: Kind
  nameLike: String @deprecated(reason: "Use `search`.")
}
type Query {
  partner(id: ID!): Partner
  partners(filter: PartnerFilter, first: Int): [Partner!]!
  node(id: ID!): Node
}
"""


def _changed(old: str, new: str) -> str:
    changed = RELEASE.replace(old, new, 1)
    assert changed != RELEASE, old
    return changed


def _without(*lines: str) -> str:
    """The release without the lines that start (after their indent) with these."""
    kept = [line for line in RELEASE.splitlines() if not line.strip().startswith(lines)]
    assert len(kept) == len(RELEASE.splitlines()) - len(lines), lines
    return "\n".join(kept)


def test_the_release_compared_with_itself_has_no_changes() -> None:
    result = compare(RELEASE, RELEASE)
    assert (result.breaking, result.dangerous) == ([], [])


def test_a_removed_field_breaks_clients() -> None:
    assert compare(RELEASE, _without("email:")).breaking == ["Field Partner.email was removed."]


def test_a_field_deprecated_in_the_release_may_be_removed() -> None:
    assert compare(RELEASE, _without("fax:")).breaking == []


def test_deprecating_a_field_is_not_removing_it() -> None:
    deprecated = _changed("email: String", 'email: String @deprecated(reason: "Use `emails`.")')
    result = compare(RELEASE, deprecated)
    assert (result.breaking, result.dangerous) == ([], [])
    # Deprecated in the current schema only: removing it is for after the next release.
    assert compare(RELEASE, _without("email:")).breaking != []


def test_an_added_optional_argument_passes_and_is_reported_as_dangerous() -> None:
    result = compare(RELEASE, _changed("first: Int)", "first: Int, search: String)"))
    assert result.breaking == []
    assert result.dangerous == ["An optional argument Query.partners(search:) was added."]


def test_an_added_required_argument_breaks_clients() -> None:
    assert compare(RELEASE, _changed("first: Int)", "first: Int, search: String!)")).breaking == [
        "A required argument Query.partners(search:) was added."
    ]


def test_a_changed_type_breaks_clients() -> None:
    assert compare(RELEASE, _changed("email: String", "email: [String!]")).breaking == [
        "Field Partner.email changed type from String to [String!]."
    ]
    assert compare(RELEASE, _changed("first: Int)", "first: [Int])")).breaking == [
        "Argument Query.partners(first:) has changed type from Int to [Int]."
    ]


def test_a_deprecated_field_may_change_type() -> None:
    assert compare(RELEASE, _changed("fax: String", "fax: Int")).breaking == []


def test_a_type_only_deprecated_fields_led_to_may_go_with_them() -> None:
    legacy = "type Legacy {\n  code: String!\n}\n"
    without_legacy = _without("legacy:").replace(legacy, "")
    assert "Legacy" not in without_legacy
    assert compare(RELEASE, without_legacy).breaking == []
    # What the deprecated field led to is out of reach: it may change too.
    assert compare(RELEASE, _changed("code: String!", "code: Int")).breaking == []
    # Not deprecated, the same removal breaks clients.
    release = _changed('legacy: Legacy @deprecated(reason: "Use `name`.")', "legacy: Legacy")
    assert compare(release, without_legacy).breaking == [
        "Legacy was removed.",
        "Field Partner.legacy was removed.",
    ]


def test_an_implementation_of_a_reachable_interface_cannot_go() -> None:
    # `node(id:) { ... on Partner }` names it, and no deprecation covers that.
    release = RELEASE + "type Robot implements Node { id: ID! }\n"
    assert compare(release, RELEASE).breaking == ["Robot was removed."]


def test_enum_values_go_only_after_deprecation() -> None:
    assert compare(RELEASE, _without("ROBOT")).breaking == []
    assert compare(RELEASE, _without("PERSON")).breaking == ["Enum value Kind.PERSON was removed."]
    assert compare(RELEASE, _changed("PERSON", "PERSON ANIMAL")).dangerous == [
        "Enum value Kind.ANIMAL was added."
    ]


def test_input_fields_go_only_after_deprecation() -> None:
    assert compare(RELEASE, _without("nameLike:")).breaking == []
    assert compare(RELEASE, _without("kind:")).breaking == ["Field PartnerFilter.kind was removed."]
    assert compare(RELEASE, _changed("kind: Kind", "kind: Kind search: String!")).breaking == [
        "A required field PartnerFilter.search was added."
    ]


def test_the_schema_keeps_every_promise_of_the_release() -> None:
    result = compare(RELEASED.read_text(), sdl())
    assert result.breaking == [], (
        "Changes that break clients of the released schema (schema.released.graphql):\n  "
        + "\n  ".join(result.breaking)
        + "\nDeprecate instead (`deprecation_reason=`), and remove after the next release:"
        " docs/api.md, 'Pinning a client to the schema'."
    )
    for change in result.dangerous:
        # Allowed, but a client may need to handle it (a new enum value): say so.
        warnings.warn(f"since the release: {change}", stacklevel=1)
