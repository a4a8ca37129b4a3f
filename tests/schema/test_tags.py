"""Hierarchical tags through HTTP: colours, full names, unique names among siblings, no
cycles, tags on partners and filtering by a tag with its sub-tags."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from tests.conftest import event_count, gql
from tests.schema.catalog_ops import (
    ADD_TAGS,
    ARCHIVE_TAG,
    CREATE_PARTNER,
    CREATE_TAG,
    REMOVE_TAGS,
    RESTORE_TAG,
    UPDATE_PARTNER,
    UPDATE_TAG,
    create_partner,
    create_tag,
    partner_names,
    partner_payload,
    refused,
    tag_payload,
    view,
)

TAG_LIST = """
query($parentId: ID, $topLevelOnly: Boolean! = false, $includeArchived: Boolean! = false) {
  tags(parentId: $parentId, topLevelOnly: $topLevelOnly, includeArchived: $includeArchived) {
    totalCount
    nodes { fullName }
  }
}"""

CHILDREN = """
query($id: ID!) {
  node(id: $id) { ... on Tag { children { totalCount nodes { name fullName } } } }
}"""


def tag_list(client: TestClient, **variables: Any) -> list[str]:
    connection = gql(client, TAG_LIST, variables)["tags"]
    assert connection["totalCount"] == len(connection["nodes"])
    return [node["fullName"] for node in connection["nodes"]]


def tags_of(client: TestClient, partner_id: str) -> list[str]:
    return [tag["fullName"] for tag in view(client, partner_id)["tags"]]


def add_tags(client: TestClient, partner_id: str, *tags: dict[str, Any]) -> dict[str, Any]:
    return partner_payload(
        client, ADD_TAGS, "addPartnerTags", id=partner_id, tagIds=[t["id"] for t in tags]
    )


# -- creating and changing tags -------------------------------------------------------------


def test_create_a_tag(client: TestClient) -> None:
    result = tag_payload(client, CREATE_TAG, name=" VIP ", color=11)

    assert result["userErrors"] == []
    tag = result["tag"]
    assert tag == {
        "id": tag["id"],
        "name": "VIP",
        "color": 11,
        "fullName": "VIP",
        "archived": False,
        "version": 1,
        "parent": None,
    }


def test_the_colour_defaults_to_0(client: TestClient) -> None:
    assert create_tag(client, "Prospect")["color"] == 0


@pytest.mark.parametrize("color", [12, -1])
def test_a_colour_outside_0_to_11_is_refused(client: TestClient, db: Database, color: int) -> None:
    before = event_count(db)
    result = tag_payload(client, CREATE_TAG, name="VIP", color=color)
    assert refused(result, "tag") == [(["color"], "VALIDATION")]
    assert event_count(db) == before


@pytest.mark.parametrize("name", ["", "   ", "A/B", "x" * 101])
def test_an_invalid_name_is_refused(client: TestClient, name: str) -> None:
    result = tag_payload(client, CREATE_TAG, name=name)
    assert refused(result, "tag") == [(["name"], "VALIDATION")]


def test_a_child_tag_shows_its_parent_and_full_name(client: TestClient) -> None:
    region = create_tag(client, "Region")

    emea = create_tag(client, "EMEA", parentId=region["id"], color=3)

    assert emea["parent"] == {"id": region["id"], "name": "Region"}
    assert emea["fullName"] == "Region / EMEA"


def test_a_full_name_over_three_levels(client: TestClient) -> None:
    region = create_tag(client, "Region")
    europe = create_tag(client, "Europe", parentId=region["id"])

    benelux = create_tag(client, "Benelux", parentId=europe["id"])

    assert benelux["fullName"] == "Region / Europe / Benelux"


def test_a_parent_must_be_an_active_tag(client: TestClient) -> None:
    region = create_tag(client, "Region")
    gql(client, ARCHIVE_TAG, {"input": {"id": region["id"]}})
    partner = create_partner(client, kind="COMPANY", name="Not a tag")

    archived = tag_payload(client, CREATE_TAG, name="EMEA", parentId=region["id"])
    not_a_tag = tag_payload(client, CREATE_TAG, name="EMEA", parentId=partner["id"])

    assert refused(archived, "tag") == [(["parentId"], "ARCHIVED")]
    assert refused(not_a_tag, "tag") == [(["parentId"], "NOT_FOUND")]


def test_a_duplicate_name_among_siblings_is_refused(client: TestClient, db: Database) -> None:
    region = create_tag(client, "Region")
    create_tag(client, "EMEA", parentId=region["id"])
    before = event_count(db)

    result = tag_payload(client, CREATE_TAG, name="emea", parentId=region["id"])

    assert refused(result, "tag") == [(["name"], "DUPLICATE")]
    assert event_count(db) == before


def test_a_duplicate_top_level_name_is_refused(client: TestClient) -> None:
    create_tag(client, "VIP")
    result = tag_payload(client, CREATE_TAG, name="Vip")
    assert refused(result, "tag") == [(["name"], "DUPLICATE")]


def test_the_same_name_under_another_parent_is_fine(client: TestClient) -> None:
    sales = create_tag(client, "Sales")
    support = create_tag(client, "Support")
    create_tag(client, "Priority", parentId=sales["id"])

    other = create_tag(client, "Priority", parentId=support["id"])
    top = create_tag(client, "Priority")

    assert (other["fullName"], top["fullName"]) == ("Support / Priority", "Priority")


def test_renaming_onto_a_siblings_name_is_refused(client: TestClient) -> None:
    create_tag(client, "VIP")
    gold = create_tag(client, "Gold")

    result = tag_payload(client, UPDATE_TAG, id=gold["id"], name="vip")

    assert refused(result, "tag") == [(["name"], "DUPLICATE")]


def test_a_tag_can_change_the_case_of_its_own_name(client: TestClient) -> None:
    vip = create_tag(client, "vip")
    result = tag_payload(client, UPDATE_TAG, id=vip["id"], name="VIP")
    assert result["userErrors"] == []
    assert (result["tag"]["name"], result["tag"]["version"]) == ("VIP", 2)


def test_a_renamed_tag_frees_its_old_name(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    tag_payload(client, UPDATE_TAG, id=vip["id"], name="Key account")

    again = create_tag(client, "VIP")

    assert again["name"] == "VIP"


def test_moving_a_tag_next_to_a_namesake_is_refused(client: TestClient) -> None:
    sales = create_tag(client, "Sales")
    support = create_tag(client, "Support")
    create_tag(client, "Priority", parentId=sales["id"])
    other = create_tag(client, "Priority", parentId=support["id"])

    result = tag_payload(client, UPDATE_TAG, id=other["id"], parentId=sales["id"])

    assert refused(result, "tag") == [(["name"], "DUPLICATE")]


def test_a_moved_tag_frees_its_name_under_the_old_parent(client: TestClient) -> None:
    sales = create_tag(client, "Sales")
    support = create_tag(client, "Support")
    priority = create_tag(client, "Priority", parentId=sales["id"])
    tag_payload(client, UPDATE_TAG, id=priority["id"], parentId=support["id"])

    again = create_tag(client, "Priority", parentId=sales["id"])
    taken = tag_payload(client, CREATE_TAG, name="Priority", parentId=support["id"])

    assert again["fullName"] == "Sales / Priority"
    assert refused(taken, "tag") == [(["name"], "DUPLICATE")]


def test_update_is_a_patch(client: TestClient) -> None:
    region = create_tag(client, "Region")
    emea = create_tag(client, "EMEA", parentId=region["id"], color=3)

    result = tag_payload(client, UPDATE_TAG, id=emea["id"], color=5)

    assert result["userErrors"] == []
    assert {k: result["tag"][k] for k in ("name", "color", "fullName", "version")} == {
        "name": "EMEA",
        "color": 5,
        "fullName": "Region / EMEA",
        "version": 2,
    }
    assert result["tag"]["parent"] == {"id": region["id"], "name": "Region"}


def test_a_colour_update_outside_0_to_11_is_refused(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    result = tag_payload(client, UPDATE_TAG, id=vip["id"], color=12)
    assert refused(result, "tag") == [(["color"], "VALIDATION")]


def test_a_null_parent_makes_a_tag_top_level(client: TestClient) -> None:
    region = create_tag(client, "Region")
    emea = create_tag(client, "EMEA", parentId=region["id"])

    result = tag_payload(client, UPDATE_TAG, id=emea["id"], parentId=None)

    assert (result["tag"]["parent"], result["tag"]["fullName"]) == (None, "EMEA")


def test_a_cycle_of_tags_is_refused(client: TestClient, db: Database) -> None:
    region = create_tag(client, "Region")
    europe = create_tag(client, "Europe", parentId=region["id"])
    benelux = create_tag(client, "Benelux", parentId=europe["id"])
    before = event_count(db)

    for parent in (europe, benelux, region):
        result = tag_payload(client, UPDATE_TAG, id=region["id"], parentId=parent["id"])
        assert refused(result, "tag") == [(["parentId"], "INVALID_HIERARCHY")]
    assert event_count(db) == before
    assert tag_list(client, topLevelOnly=True) == ["Region"]


def test_a_stale_expected_version_is_a_conflict(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    tag_payload(client, UPDATE_TAG, id=vip["id"], expectedVersion=1, color=2)

    result = tag_payload(client, UPDATE_TAG, id=vip["id"], expectedVersion=1, color=4)

    assert refused(result, "tag") == [(["expectedVersion"], "CONFLICT")]


def test_archive_and_restore(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    create_tag(client, "Prospect")

    archived = gql(client, ARCHIVE_TAG, {"input": {"id": vip["id"]}})["archiveTag"]
    listed = tag_list(client)
    with_archived = tag_list(client, includeArchived=True)
    edit = tag_payload(client, UPDATE_TAG, id=vip["id"], color=3)
    restored = gql(client, RESTORE_TAG, {"input": {"id": vip["id"]}})["restoreTag"]

    assert (archived["tag"]["archived"], archived["tag"]["version"]) == (True, 2)
    assert (listed, with_archived) == (["Prospect"], ["Prospect", "VIP"])
    assert refused(edit, "tag") == [(["id"], "ARCHIVED")]
    assert (restored["tag"]["archived"], restored["tag"]["version"]) == (False, 3)
    assert tag_list(client) == ["Prospect", "VIP"]


# -- listing the tree -----------------------------------------------------------------------


def test_top_level_only_lists_the_roots(client: TestClient) -> None:
    region = create_tag(client, "Region")
    create_tag(client, "EMEA", parentId=region["id"])
    create_tag(client, "vip")

    assert tag_list(client) == ["Region / EMEA", "Region", "vip"]
    assert tag_list(client, topLevelOnly=True) == ["Region", "vip"]
    assert tag_list(client, parentId=region["id"]) == ["Region / EMEA"]


def test_children_are_the_active_sub_tags(client: TestClient) -> None:
    region = create_tag(client, "Region")
    europe = create_tag(client, "Europe", parentId=region["id"])
    create_tag(client, "Americas", parentId=region["id"])
    create_tag(client, "Benelux", parentId=europe["id"])
    old = create_tag(client, "USSR", parentId=region["id"])
    gql(client, ARCHIVE_TAG, {"input": {"id": old["id"]}})

    children = gql(client, CHILDREN, {"id": region["id"]})["node"]["children"]

    assert children == {
        "totalCount": 2,
        "nodes": [
            {"name": "Americas", "fullName": "Region / Americas"},
            {"name": "Europe", "fullName": "Region / Europe"},
        ],
    }


def test_node_resolves_a_tag(client: TestClient) -> None:
    vip = create_tag(client, "VIP", color=4)
    node = gql(
        client,
        "query($id: ID!) { node(id: $id) { __typename id ... on Tag { name color } } }",
        {"id": vip["id"]},
    )["node"]
    assert node == {"__typename": "Tag", "id": vip["id"], "name": "VIP", "color": 4}


# -- tags on partners -----------------------------------------------------------------------


def test_add_and_remove_partner_tags(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    prospect = create_tag(client, "Prospect")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")

    added = add_tags(client, partner["id"], vip, prospect)
    removed = partner_payload(
        client, REMOVE_TAGS, "removePartnerTags", id=partner["id"], tagIds=[vip["id"]]
    )

    assert added["userErrors"] == [] and removed["userErrors"] == []
    assert [t["name"] for t in added["partner"]["tags"]] == ["Prospect", "VIP"]
    assert added["partner"]["version"] == 2
    assert [t["name"] for t in removed["partner"]["tags"]] == ["Prospect"]
    assert removed["partner"]["version"] == 3


def test_adding_a_tag_the_partner_has_records_nothing(client: TestClient, db: Database) -> None:
    vip = create_tag(client, "VIP")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")
    add_tags(client, partner["id"], vip)
    before = event_count(db)

    again = add_tags(client, partner["id"], vip)

    assert again["userErrors"] == []
    assert again["partner"]["version"] == 2
    assert event_count(db) == before


def test_removing_a_tag_the_partner_lacks_records_nothing(client: TestClient, db: Database) -> None:
    vip = create_tag(client, "VIP")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")
    before = event_count(db)

    result = partner_payload(
        client, REMOVE_TAGS, "removePartnerTags", id=partner["id"], tagIds=[vip["id"]]
    )

    assert result["userErrors"] == [] and result["partner"]["version"] == 1
    assert event_count(db) == before


def test_adding_an_archived_tag_is_refused(client: TestClient, db: Database) -> None:
    old = create_tag(client, "Old")
    gql(client, ARCHIVE_TAG, {"input": {"id": old["id"]}})
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")
    before = event_count(db)

    result = add_tags(client, partner["id"], old)

    assert refused(result, "partner") == [(["tagIds"], "ARCHIVED")]
    assert event_count(db) == before


def test_adding_an_unknown_tag_is_not_found(client: TestClient) -> None:
    other = create_partner(client, kind="COMPANY", name="Not a tag")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")

    result = add_tags(client, partner["id"], other)

    assert refused(result, "partner") == [(["tagIds"], "NOT_FOUND")]


def test_an_archived_tag_stays_on_its_partners(client: TestClient) -> None:
    old = create_tag(client, "Old")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")
    add_tags(client, partner["id"], old)

    gql(client, ARCHIVE_TAG, {"input": {"id": old["id"]}})

    assert view(client, partner["id"])["tags"] == [
        {"id": old["id"], "name": "Old", "fullName": "Old", "archived": True}
    ]


def test_renaming_a_tag_shows_at_once_on_partners(client: TestClient) -> None:
    region = create_tag(client, "Region")
    emea = create_tag(client, "EMEA", parentId=region["id"])
    partner = create_partner(client, kind="COMPANY", name="Deco Addict")
    add_tags(client, partner["id"], emea)

    tag_payload(client, UPDATE_TAG, id=region["id"], name="Territory")
    tag_payload(client, UPDATE_TAG, id=emea["id"], name="Europe")

    assert tags_of(client, partner["id"]) == ["Territory / Europe"]
    assert view(client, partner["id"])["version"] == 2


def test_create_a_partner_with_tags(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    region = create_tag(client, "Region")
    emea = create_tag(client, "EMEA", parentId=region["id"])

    partner = create_partner(
        client, kind="COMPANY", name="Deco Addict", tagIds=[vip["id"], emea["id"]]
    )

    assert [t["fullName"] for t in partner["tags"]] == ["Region / EMEA", "VIP"]


def test_create_a_partner_with_an_archived_tag_is_refused(client: TestClient) -> None:
    old = create_tag(client, "Old")
    gql(client, ARCHIVE_TAG, {"input": {"id": old["id"]}})

    result = partner_payload(
        client, CREATE_PARTNER, "createPartner", kind="COMPANY", name="Deco", tagIds=[old["id"]]
    )

    assert refused(result, "partner") == [(["tagIds"], "ARCHIVED")]


def test_update_partner_tag_ids_replaces_the_set(client: TestClient) -> None:
    vip, prospect, lead = (create_tag(client, n) for n in ("VIP", "Prospect", "Lead"))
    partner = create_partner(
        client, kind="COMPANY", name="Deco Addict", tagIds=[vip["id"], prospect["id"]]
    )

    result = partner_payload(
        client,
        UPDATE_PARTNER,
        "updatePartner",
        id=partner["id"],
        tagIds=[prospect["id"], lead["id"]],
    )

    assert result["userErrors"] == []
    assert [t["name"] for t in result["partner"]["tags"]] == ["Lead", "Prospect"]
    assert partner_names(client, tagIds=[vip["id"]]) == []


def test_update_partner_tag_ids_may_keep_an_archived_tag(client: TestClient) -> None:
    """An archived tag stays on the partners that have it: sending the partner's tags
    back with one more must not be refused for the one it already had."""
    old, vip = create_tag(client, "Old"), create_tag(client, "VIP")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict", tagIds=[old["id"]])
    gql(client, ARCHIVE_TAG, {"input": {"id": old["id"]}})

    result = partner_payload(
        client, UPDATE_PARTNER, "updatePartner", id=partner["id"], tagIds=[old["id"], vip["id"]]
    )

    assert result["userErrors"] == []
    assert [t["name"] for t in result["partner"]["tags"]] == ["Old", "VIP"]


def test_update_partner_with_an_empty_tag_list_clears_the_tags(client: TestClient) -> None:
    vip = create_tag(client, "VIP")
    partner = create_partner(client, kind="COMPANY", name="Deco Addict", tagIds=[vip["id"]])

    result = partner_payload(client, UPDATE_PARTNER, "updatePartner", id=partner["id"], tagIds=[])

    assert result["userErrors"] == [] and result["partner"]["tags"] == []


# -- filtering partners by tag --------------------------------------------------------------


def test_filter_by_a_parent_tag_includes_its_descendants(client: TestClient) -> None:
    region = create_tag(client, "Region")
    europe = create_tag(client, "Europe", parentId=region["id"])
    benelux = create_tag(client, "Benelux", parentId=europe["id"])
    vip = create_tag(client, "VIP")
    create_partner(client, kind="COMPANY", name="Deco Addict", tagIds=[benelux["id"]])
    create_partner(client, kind="COMPANY", name="Wood Corner", tagIds=[europe["id"]])
    create_partner(client, kind="COMPANY", name="Azure Interior", tagIds=[vip["id"]])
    create_partner(client, kind="COMPANY", name="Gemini Furniture")

    assert partner_names(client, tagIds=[region["id"]]) == ["Deco Addict", "Wood Corner"]
    assert partner_names(client, tagIds=[benelux["id"]]) == ["Deco Addict"]
    assert partner_names(client, tagIds=[benelux["id"], vip["id"]]) == [
        "Azure Interior",
        "Deco Addict",
    ]


def test_filter_by_a_parent_tag_follows_a_re_parented_tag(client: TestClient) -> None:
    region = create_tag(client, "Region")
    benelux = create_tag(client, "Benelux")
    deco = create_partner(client, kind="COMPANY", name="Deco Addict", tagIds=[benelux["id"]])
    assert partner_names(client, tagIds=[region["id"]]) == []

    tag_payload(client, UPDATE_TAG, id=benelux["id"], parentId=region["id"])

    assert partner_names(client, tagIds=[region["id"]]) == ["Deco Addict"]
    assert tags_of(client, deco["id"]) == ["Region / Benelux"]
