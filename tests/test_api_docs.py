"""The docs' GraphQL is true to the schema: docs/api.md shows every query, mutation and
subscription, and every ```graphql example of README.md and docs/*.md is valid."""

from __future__ import annotations

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse, validate

from app.schema.schema import build_schema
from tests.docs_examples import API_MD, Example, every_example, examples

SECTION = "## Every operation, with an example"


def test_every_root_field_has_a_valid_example() -> None:
    schema = build_schema()._schema
    shown: dict[str, set[str]] = {"query": set(), "mutation": set(), "subscription": set()}
    for example in examples(API_MD, SECTION):
        document = parse(example.text)
        assert validate(schema, document) == [], example.where
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


@pytest.mark.parametrize("example", every_example(), ids=lambda example: example.where)
def test_every_graphql_example_of_the_docs_is_valid(example: Example) -> None:
    """Placeholders (`"<partner-id>"`) are strings, as ids are: the example validates as
    it is written. A block that is not a document (a list of signatures) is no ```graphql."""
    errors = validate(build_schema()._schema, parse(example.text))
    assert [error.message for error in errors] == []


def test_the_docs_have_examples_everywhere_they_should() -> None:
    pages = {example.path.name for example in every_example()}
    assert {"README.md", "api.md", "quickstart.md", "audit.md"} <= pages
    assert len(examples(API_MD, SECTION)) >= 10
