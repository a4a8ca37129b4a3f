"""The orders a page of partners can be sorted in, and the keyset cursors that continue
a page where the last one ended (opaque, stable under inserts)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from psycopg.sql import SQL, Composable, Literal

from app.domain.messages import Message
from app.queries.document_queries import total_invoiced
from app.queries.keyset import (
    MAX_CURSOR,
    NOT_A_CURSOR,
    BadCursor,
    cursor_int,
    cursor_payload,
    cursor_text,
    cursor_uuid,
)
from app.queries.partners.rows import PartnerRow


@dataclass(frozen=True)
class SortKey:
    expression: Composable
    parse: Callable[[Any], Any]
    columns: tuple[str, ...] = ()
    """The partners columns the expression reads (none for the computed keys)."""


MAX_KEY_CURSOR = 32_768
"""How much longer a partners cursor may be for each key it is sorted by: a display name
is at most 1,002 characters (500, ", ", 500), 12 bytes each as an earlier release's
json.dumps escaped one outside the BMP, a third more in base64 (~16,000), doubled for
what lower() and unaccent() may expand."""


def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(cursor_text(value))
    except ValueError:
        raise BadCursor(NOT_A_CURSOR) from None


def _amount(value: Any) -> Decimal:
    """A total as `str(Decimal)` wrote it: finite, and within what numeric holds (the text
    of 1E+999999 is a Decimal, and a DataError from the database)."""
    try:
        amount = Decimal(cursor_text(value))
    except ArithmeticError:  # decimal.InvalidOperation
        raise BadCursor(NOT_A_CURSOR) from None
    if not amount.is_finite() or not -1000 <= amount.adjusted() <= 1000:
        raise BadCursor(NOT_A_CURSOR)
    return amount


def _rank(value: Any) -> int:
    try:
        return cursor_int(int(cursor_text(value)))
    except ValueError:
        raise BadCursor(NOT_A_CURSOR) from None


SORT_KEYS: dict[str, SortKey] = {
    "NAME": SortKey(SQL("name_key"), cursor_text, ("name_key",)),
    "DISPLAY_NAME": SortKey(SQL("display_name_key"), cursor_text, ("display_name_key",)),
    "CREATED_AT": SortKey(SQL("created_at"), _time, ("created_at",)),
    "UPDATED_AT": SortKey(SQL("updated_at"), _time, ("updated_at",)),
    "COUNTRY": SortKey(SQL("coalesce(country_code, '')"), cursor_text, ("country_code",)),
    "TOTAL_INVOICED": SortKey(SQL("total_invoiced"), _amount),
    "RELEVANCE": SortKey(SQL("relevance"), _rank),
}
COMPUTED = {"TOTAL_INVOICED": "total_invoiced", "RELEVANCE": "relevance"}
"""Sort keys that are computed per row in an inner query, then ordered on."""


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


def _sort_values(row: PartnerRow, orders: Sequence[Order]) -> list[Any]:
    values: list[Any] = []
    for order in orders:
        match order.field:
            case "NAME":
                values.append(row.name_key)
            case "DISPLAY_NAME":
                values.append(row.display_name_key)
            case "CREATED_AT":
                values.append(row.created_at.isoformat())
            case "UPDATED_AT":
                values.append(row.updated_at.isoformat())
            case "COUNTRY":
                values.append(row.country_code or "")
            case "TOTAL_INVOICED":
                values.append(str(row.total_invoiced or 0))
            case "RELEVANCE":
                values.append(str(row.relevance or 0))
    return values


def encode_cursor(row: PartnerRow, orders: Sequence[Order]) -> str:
    # orjson: a cursor a row of each page, ~4x faster than json.dumps; the JSON differs
    # only in spacing and in not escaping non-ASCII, which decode_cursor reads alike.
    # orjson writes the uuid as `str` does (canonical, lower case), in C.
    payload = [[o.field for o in orders], _sort_values(row, orders), row.id]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


def decode_cursor(cursor: str, orders: Sequence[Order]) -> tuple[list[Any], UUID]:
    """The sort values and the id a cursor of `encode_cursor` holds for this ordering, each
    of its key's type; BadCursor for anything else (read only up to a length bound)."""
    payload = cursor_payload(cursor, MAX_CURSOR + MAX_KEY_CURSOR * len(orders))
    if not isinstance(payload, list) or len(payload) != 3:
        raise BadCursor(NOT_A_CURSOR)
    fields, values, ident = payload
    if fields != [o.field for o in orders]:
        raise BadCursor(Message("this cursor belongs to another ordering"))
    if not isinstance(values, list) or len(values) != len(orders):
        raise BadCursor(NOT_A_CURSOR)
    parsed = [SORT_KEYS[o.field].parse(v) for o, v in zip(orders, values, strict=True)]
    return parsed, cursor_uuid(ident)


def _seek(
    orders: Sequence[Order], values: Sequence[Any], ident: UUID, *, forward: bool
) -> Composable:
    """Rows strictly after (forward) or before the cursor, in the given ordering."""
    keys = [
        (SORT_KEYS[o.field].expression, o.descending, Literal(v))
        for o, v in zip(orders, values, strict=True)
    ]
    keys.append((SQL("id"), orders[-1].descending if orders else False, Literal(ident)))
    alternatives: list[Composable] = []
    for i, (expr, desc, value) in enumerate(keys):
        greater = desc != forward  # ascending and forward: rows with greater keys
        op = SQL(">") if greater else SQL("<")
        equal = [SQL("{} = {}").format(e, v) for e, _, v in keys[:i]]
        alternatives.append(SQL(" AND ").join([*equal, SQL("{} {} {}").format(expr, op, value)]))
    return SQL("({})").format(SQL(" OR ").join(SQL("({})").format(a) for a in alternatives))


def order_clause(orders: Sequence[Order], *, reverse: bool) -> Composable:
    terms = [(SORT_KEYS[o.field].expression, o.descending != reverse) for o in orders]
    terms.append((SQL("id"), (orders[-1].descending if orders else False) != reverse))
    return SQL(", ").join(SQL("{} {}").format(e, SQL("DESC" if d else "ASC")) for e, d in terms)


def between_cursors(orders: Sequence[Order], after: str | None, before: str | None) -> Composable:
    """The rows after `after` and before `before` (either may be None) in this ordering."""
    conditions: list[Composable] = [SQL("TRUE")]
    if after is not None:
        values, ident = decode_cursor(after, orders)
        conditions.append(_seek(orders, values, ident, forward=True))
    if before is not None:
        values, ident = decode_cursor(before, orders)
        conditions.append(_seek(orders, values, ident, forward=False))
    return SQL(" AND ").join(conditions)


RELEVANCE_TIE = Order("NAME")
"""What orders the partners RELEVANCE ranks alike (see `relevance`)."""


def with_relevance_ties(orders: Sequence[Order]) -> list[Order]:
    """The ordering with RELEVANCE's own tie order (NAME) after it when nothing else
    follows it (an order asked for after RELEVANCE is kept as asked); its cursors carry
    it."""
    if orders and orders[-1].field == "RELEVANCE":
        return [*orders, RELEVANCE_TIE]
    return list(orders)


def relevance_prefix(term: str) -> Composable:
    """The condition of the first rank of RELEVANCE: the partner's name starts with the
    search."""
    return SQL("p.name_key LIKE {}").format(Literal(like_escape(term) + "%"))


def relevance(term: str) -> Composable:
    """RELEVANCE: 1 when the partner's name starts with the search, else 0 (the search
    is found elsewhere in its text); partners ranked alike are in NAME order. Both ranks
    are read along the name index, a page at a time, however many partners match
    (pages.py, `_PageStatement.ranked`): the trigram similarity it replaced scored
    every match (~400 ms for a 3-letter search at 1,000,000 partners), and pg_trgm's
    GiST distance ordering (`<->`, `<<->`) explores most of the index for a 3-letter
    search (docs/decisions.md)."""
    return SQL("CASE WHEN {} THEN 1 ELSE 0 END").format(relevance_prefix(term))


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def computed_keys(orders: Sequence[Order], term: str | None) -> list[Composable]:
    """The sort keys of this ordering that are computed per row, named as in COMPUTED;
    `term` is the search RELEVANCE is measured against."""
    computed: list[Composable] = []
    if any(o.field == "TOTAL_INVOICED" for o in orders):
        computed.append(SQL("{} AS total_invoiced").format(total_invoiced(SQL("p.id"))))
    if any(o.field == "RELEVANCE" for o in orders):
        if not term:
            raise BadCursor("RELEVANCE ordering needs a search")
        computed.append(SQL("{} AS relevance").format(relevance(term)))
    return computed
