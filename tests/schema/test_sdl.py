"""schema.graphql is the committed contract: it must match the code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from graphql import Visitor, parse, print_ast, visit

from app.schema.schema import sdl

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SDL_FILE.read_text() == sdl(), "run `partnerbook schema > schema.graphql`"


class _WithoutDescriptions(Visitor):
    def enter(self, node: Any, *_: Any) -> Any:
        return (
            None if getattr(node, "description", None) is None else replace(node, description=None)
        )


def _signatures() -> str:
    """The SDL without its descriptions: each field with its arguments on one line."""
    return print_ast(visit(parse(sdl()), _WithoutDescriptions()))


def test_contract_names_of_api_md_are_present() -> None:
    text = _signatures()
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
