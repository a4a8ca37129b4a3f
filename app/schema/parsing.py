"""Each operation text parsed once per process: the heavy lane's check
(app/schema/lane.py) and the GraphQL view share one bounded cache, so a cheap request
is parsed once, not once per layer, and a repeated one not at all."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension

CACHED_TEXTS = 256
"""Distinct operation texts kept (an LRU: unique texts cannot grow memory)."""


@functools.lru_cache(maxsize=CACHED_TEXTS)
def parse_operation(query: str, max_tokens: int | None = None) -> DocumentNode:
    """The parsed document; raises GraphQLError (not cached) when the text does not
    parse or has more than `max_tokens` tokens."""
    return parse(query, max_tokens=max_tokens)


class SharedParserCache(SchemaExtension):
    """Strawberry's parse step through `parse_operation` (instead of its `ParserCache`,
    whose cache the heavy lane cannot share)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        options = context.parse_options
        context.graphql_document = parse_operation(
            context.query or "", max_tokens=options.get("max_tokens")
        )
        yield
