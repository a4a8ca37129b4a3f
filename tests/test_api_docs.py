"""docs/api.md shows every query, mutation and subscription, in examples that are valid
against the schema."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import FieldNode, OperationDefinitionNode, parse, validate

from app.schema.schema import build_schema

API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"
SECTION = "## Every operation, with an example"


def _examples() -> list[str]:
    reference = API_MD.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", reference, re.S)


def test_every_root_field_has_a_valid_example() -> None:
    schema = build_schema()._schema
    shown: dict[str, set[str]] = {"query": set(), "mutation": set(), "subscription": set()}
    for example in _examples():
        document = parse(example)
        assert validate(schema, document) == [], example
        for definition in document.definitions:
            assert isinstance(definition, OperationDefinitionNode)
            for selection in definition.selection_set.selections:
                assert isinstance(selection, FieldNode)
                shown[definition.operation.value].add(selection.name.value)
    roots = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }
    for kind, root in roots.items():
        assert root is not None
        assert set(root.fields) - shown[kind] == set(), kind
