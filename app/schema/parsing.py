"""Each operation text parsed once per process: the heavy lane's check
(app/schema/lane.py) and the GraphQL view share one bounded cache, so a cheap request
is parsed once, not once per layer, and a repeated one not at all."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

CACHED_TEXTS = 256
"""Distinct operation texts kept (an LRU: unique texts cannot grow memory)."""


DOCUMENT_MEMOS: list[Callable[[], None]] = []
"""How to empty each memo that keeps parsed documents (by the modules that keep one).
A document's nodes hold the text they were parsed from, with the values a mutation
wrote inline: an erasure empties them all (`forget_documents`)."""


def forget_documents() -> None:
    """Lets go of every parsed document this process keeps: the parse cache and the
    memos of what was worked out for a document (its text checks, validation, cost walk,
    execution plans). Refilled by the next requests."""
    parse_operation.cache_clear()
    for forget in DOCUMENT_MEMOS:
        forget()


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
        if context.graphql_document is not None:  # the Guard's stand-in: nothing to read
            yield
            return
        query = context.query or ""
        if not isinstance(query, str):  # the views refuse it; a list failed the cache here
            raise GraphQLError("the query must be a string", extensions={"code": "BAD_REQUEST"})
        try:
            max_tokens = context.parse_options.get("max_tokens")
            context.graphql_document = parse_operation(query, max_tokens=max_tokens)
        except GraphQLError:
            # Left to strawberry's own parse, which fails the same way where the error is
            # reported: raised here, it escaped a subscription (a traceback, then only
            # `complete`). Only a text that does not parse is parsed twice.
            pass
        yield
