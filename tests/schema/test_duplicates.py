"""duplicateCandidates: each reason, the score, and who is never a candidate."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql, gql_raw
from tests.schema.partner_ops import ARCHIVE, create

CANDIDATES = """query($id: ID!) { duplicateCandidates(partnerId: $id) {
  partner { id name } score reasons message } }"""


def candidates(client: TestClient, partner: dict[str, Any]) -> dict[str, tuple[float, list[str]]]:
    found = gql(client, CANDIDATES, {"id": partner["id"]})["duplicateCandidates"]
    return {c["partner"]["name"]: (c["score"], c["reasons"]) for c in found}


def test_each_reason_is_found_and_scored(client: TestClient) -> None:
    me = create(
        client,
        kind="COMPANY",
        name="Azure Interior",
        email="Info@Azure.example",
        phone="+32 2 290 34 90",
        countryCode="BE",
        vat="BE0477472701",
    )
    create(client, kind="COMPANY", name="Mail Twin", email="info@azure.example")
    create(client, kind="COMPANY", name="Tax Twin", countryCode="BE", vat="BE 0477.472.701")
    create(client, kind="COMPANY", name="Phone Twin", mobile="+3222903490")
    create(client, kind="COMPANY", name="Azure Interiors", countryCode="BE")
    create(client, kind="COMPANY", name="Azure Interior", countryCode="FR")  # other country
    create(client, kind="COMPANY", name="Unrelated Ltd", countryCode="BE")

    found = candidates(client, me)

    assert found == {
        "Mail Twin": (0.8, ["SAME_EMAIL"]),
        "Tax Twin": (0.9, ["SAME_VAT"]),
        "Phone Twin": (0.6, ["SAME_PHONE"]),
        "Azure Interiors": (found["Azure Interiors"][0], ["SIMILAR_NAME"]),
    }
    assert 0.42 < found["Azure Interiors"][0] < 0.7  # 0.7 x similarity (>= 0.6)
    first = gql(client, CANDIDATES, {"id": me["id"]})["duplicateCandidates"][0]
    assert first["partner"]["name"] == "Tax Twin" and first["message"] == "same VAT number"


def test_reasons_combine_into_a_higher_score(client: TestClient) -> None:
    me = create(client, kind="PERSON", name="Brandon Freeman", email="b@example.com")
    create(
        client,
        kind="PERSON",
        name="Brandon Freeman",
        email="B@example.com",
        phone="+1 555 0100",
    )

    ((score, reasons),) = candidates(client, me).values()

    assert reasons == ["SAME_EMAIL", "SIMILAR_NAME"]
    assert score == round(1 - (1 - 0.8) * (1 - 0.7), 3)


def test_archived_merged_other_kinds_itself_and_family_are_excluded(client: TestClient) -> None:
    me = create(client, kind="COMPANY", name="Deco Addict", email="deco@example.com")
    archived = create(client, kind="COMPANY", name="Old Deco", email="deco@example.com")
    gql(client, ARCHIVE, {"input": {"id": archived["id"]}})
    create(client, kind="PERSON", name="Deco Person", email="deco@example.com")
    create(client, kind="COMPANY", name="Deco Branch", email="deco@example.com", parentId=me["id"])
    merged = create(client, kind="COMPANY", name="Deco Dup", email="deco@example.com")
    kept = create(client, kind="COMPANY", name="Deco Keeper")
    result = gql(
        client,
        """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
           userErrors { message } } }""",
        {"input": {"destinationId": kept["id"], "sourceIds": [merged["id"]]}},
    )
    assert result["mergePartners"]["userErrors"] == []

    assert candidates(client, me) == {}


def test_a_bad_id_is_a_bad_request(client: TestClient) -> None:
    body = gql_raw(client, CANDIDATES, {"id": "nope"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
