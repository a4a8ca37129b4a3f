"""The limits one operation is held to and the refusals (LIMIT_EXCEEDED) when it passes
them; graphql-core's own document limits (tokens, nesting, validation budget)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError

from app.domain.messages import Message
from app.schema.limits.values import ValueSize, measure_value
from app.schema.limits.walk import Walk

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"

MAX_SEARCH_CHARS = 200
"""Characters of a `search` argument at most, spaces around it aside. A search goes
through SQL `searchable()` and into a `LIKE '%…%'` on a trigram index: 30 aliases of a
30,000-character search took 585 ms at 5,400 partners, one of 900,000 characters 613 ms.
A segment's stored search is held to the same 200 (app/domain/segment.py)."""


def limit_error(message: str, **params: Any) -> GraphQLError:
    """A LIMIT_EXCEEDED error; its message a template with `params` (said in the
    request's language)."""
    text = Message(message, **params) if params else message
    return GraphQLError(text, extensions={"code": LIMIT_EXCEEDED})


def is_document_limit(error: GraphQLError) -> bool:
    """graphql-core's refusal of a document: the parser's over `max_tokens` or nested
    deeper than it parses (its MAX_NESTING_DEPTH, 200 brackets), or the validation's
    over its budget (VALIDATION_BUDGET below)."""
    if isinstance(error, ValidationAbortedError):
        return True
    return isinstance(error, GraphQLSyntaxError) and (
        "tokens. Parsing aborted" in error.message or "nested too deeply" in error.message
    )


@dataclass(frozen=True)
class Limits:
    """The limits one operation is held to (settings `max_*`)."""

    max_depth: int = 15
    max_aliases: int = 30
    max_fields: int = 2000
    max_cost: int = 10_000
    max_batch: int = 100
    max_bulk: int = 10_000
    """Items of a bulk list (`BULK_LISTS`: importPartners' rows) at most. The operation
    answers more than its own maximum (1,000 rows) with a user error once the rows are
    converted to inputs: 0.5 s for 10,000 empty rows, 6 s more for the 300,000 a 1 MB
    body holds. Past this bound they are refused before that conversion (their coercion,
    before the limits, costs what any list variable that long does)."""
    max_filter_depth: int = 10
    max_filter_leaves: int = 500
    default_page: int = 50


def over_limit(walked: Walk, limits: Limits) -> GraphQLError | None:
    """The first limit the walked operation exceeds, as a LIMIT_EXCEEDED error."""
    if walked.depth > limits.max_depth:
        return limit_error(
            "the operation nests fields %(depth)s deep; the maximum operation depth is %(max)s",
            depth=walked.depth,
            max=limits.max_depth,
        )
    if walked.aliases > limits.max_aliases:
        return limit_error(
            "%(aliases)s aliases found (a fragment's count each time it is spread); "
            "at most %(max)s",
            aliases=walked.aliases,
            max=limits.max_aliases,
        )
    if walked.selections > limits.max_fields:
        return limit_error(
            "the document selects %(fields)s fields once its fragments are expanded; "
            "at most %(max)s",
            fields=walked.selections,
            max=limits.max_fields,
        )
    lists = ((walked.longest_list, limits.max_batch), (walked.longest_bulk, limits.max_bulk))
    for (size, where), most in lists:
        if size > most:
            return limit_error(
                "`%(where)s` got a list of %(size)s; at most %(max)s",
                where=where,
                size=size,
                max=most,
            )
    length, where = walked.longest_search
    if length > MAX_SEARCH_CHARS:
        return limit_error(
            "%(field)s is longer than %(limit)s characters",
            field=f"`{where}(search:)`",
            limit=MAX_SEARCH_CHARS,
        )
    return _over_filter_or_cost_limit(walked, limits)


def _over_filter_or_cost_limit(walked: Walk, limits: Limits) -> GraphQLError | None:
    nesting, where = walked.filter_nesting
    if nesting > limits.max_filter_depth:
        return limit_error(
            "`%(where)s`: filter nesting deeper than %(max)s (`and`/`or`/`not`)",
            where=where,
            max=limits.max_filter_depth,
        )
    leaves, where = walked.filter_leaves
    if leaves > limits.max_filter_leaves:
        return limit_error(
            "`%(where)s`: filter has %(leaves)s leaves; at most %(max)s",
            where=where,
            leaves=leaves,
            max=limits.max_filter_leaves,
        )
    if walked.leaves > limits.max_filter_leaves:
        return limit_error(
            "the operation's filters have %(leaves)s leaves in all (each counted as often as "
            "its field runs); at most %(max)s",
            leaves=walked.leaves,
            max=limits.max_filter_leaves,
        )
    if walked.cost > limits.max_cost:
        return limit_error(
            "the operation may return %(cost)s nodes; at most %(max)s (connections count "
            "`first`, or %(page)s, times the ones above)",
            cost=walked.cost,
            max=limits.max_cost,
            page=limits.default_page,
        )
    return None


def filter_over_limit(value: Any, limits: Limits) -> str | None:
    """Why a stored filter (JSON in the API's spelling) is refused, or None."""
    return size_over_limit(measure_value(value, in_filter=True), limits)


def size_over_limit(size: ValueSize, limits: Limits) -> str | None:
    """Why a stored filter of this size (`measure_value`, in a filter) is refused, or None."""
    if size.nesting > limits.max_filter_depth:
        return Message(
            "filter nesting deeper than %(max)s (`and`/`or`/`not`)", max=limits.max_filter_depth
        )
    if size.leaves > limits.max_filter_leaves:
        return Message(
            "filter has %(leaves)s leaves; at most %(max)s",
            leaves=size.leaves,
            max=limits.max_filter_leaves,
        )
    if size.longest > limits.max_batch:
        return Message(
            "filter has a list of %(size)s; at most %(max)s",
            size=size.longest,
            max=limits.max_batch,
        )
    return None


VALIDATION_BUDGET = 20_000
"""Work units graphql-core's OverlappingFieldsCanBeMergedRule may spend on one document
before it aborts the validation ("Validation aborted.", BAD_REQUEST). Its default,
500,000, took ~2 s of one CPU: 500 copies of `partners(first: 1) { totalCount }` (3,500
tokens) spend it all; 20,000 is ~0.1 s more. Queries spend next to nothing (fields of
one name compared pairwise): the introspection query 0, 100 copies of that field 29,700."""


def bound_validation() -> None:
    """Lowers graphql-core's validation budget (a module setting it reads per document)."""
    overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_BUDGET
