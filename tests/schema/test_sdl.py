"""schema.graphql is the committed contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from app.schema.schema import sdl

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SDL_FILE.read_text() == sdl(), "run `partnerbook schema > schema.graphql`"


def test_contract_names_of_api_md_are_present() -> None:
    text = sdl()
    for name in (
        "interface Node",
        "node(id: ID!): Node",
        "partner(id: ID!): Partner",
        "createPartner(input: CreatePartnerInput!)",
        "updatePartner(input: UpdatePartnerInput!)",
        "archivePartner(",
        "restorePartner(",
        "input PartnerFilter ",
        "totalCount: Int!",
        "userErrors: [UserError!]!",
    ):
        assert name in text
