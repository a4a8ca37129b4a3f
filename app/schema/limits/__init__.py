"""Limits on what one request may ask for; each refusal is a top-level error with
`extensions.code = LIMIT_EXCEEDED`. Tokens are a parser option; everything else (depth,
aliases, fields, list and filter sizes, cost) is computed by one walk of the document
with its variables (`walk.py`, walked by `walker.py`, pricing lists with `prices.py`,
sizing values with `values.py`), linear in the document (each fragment walked once),
which runs before graphql-core's validation so no document makes that validation
expensive. `rules.py` holds the limits and their refusals; `body.py` the request body
limit, `protocol.py` the request's head, framing and deadlines (uvicorn's protocol), and
`request.py` the HTTP limits and codes both use; `budget.py` the filter leaves an operation
spends as its segments' stored filters run."""

from app.schema.limits.body import BodyLimit
from app.schema.limits.budget import FILTER_LEAVES, NODES, Budget
from app.schema.limits.prices import BULK_LISTS
from app.schema.limits.rules import (
    LIMIT_EXCEEDED,
    MAX_SEARCH_CHARS,
    VALIDATION_BUDGET,
    Limits,
    bound_validation,
    filter_over_limit,
    is_document_limit,
    limit_error,
    over_limit,
    size_over_limit,
)
from app.schema.limits.values import ValueSize, measure_value
from app.schema.limits.walk import Walk, walk

__all__ = [
    "BULK_LISTS",
    "FILTER_LEAVES",
    "LIMIT_EXCEEDED",
    "MAX_SEARCH_CHARS",
    "NODES",
    "VALIDATION_BUDGET",
    "BodyLimit",
    "Budget",
    "Limits",
    "ValueSize",
    "Walk",
    "bound_validation",
    "filter_over_limit",
    "is_document_limit",
    "limit_error",
    "measure_value",
    "over_limit",
    "size_over_limit",
    "walk",
]
