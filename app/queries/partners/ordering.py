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
from app.domain.partner_values import DEFAULT_MAX_TEXT
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
    longest: int
    """The most characters this key's value holds in a cursor the server issued (one made
    from a row): a longer one is forged, refused before it is parsed or put in SQL."""
    columns: tuple[str, ...] = ()
    """The partners columns the expression reads (none for the computed keys)."""


MAX_KEY_CURSOR = 32_768
"""How much longer a partners cursor may be for each key it is sorted by: a display name
is at most 1,002 characters (500, ", ", 500), 12 bytes each as an earlier release's
json.dumps escaped one outside the BMP, a third more in base64 (~16,000), doubled for
what lower() and unaccent() may expand."""


UNACCENT_MOST = 5
"""The most characters `searchable()` (lower(unaccent())) makes of one: unaccent's
longest rule is ⅒ -> " 1/10" (tests/security/test_costs_sql.py checks the database's)."""
LONGEST_NAME_KEY = DEFAULT_MAX_TEXT * UNACCENT_MOST
"""A name is at most 500 characters (the domain's limit), its sort key 5 times that."""
LONGEST_DISPLAY_NAME_KEY = (2 * DEFAULT_MAX_TEXT + len(", ")) * UNACCENT_MOST
"""A display name is at most 1,002 characters (a company's name, ", ", the contact's)."""
LONGEST_TIME = 64
"""`datetime.isoformat()` of a timestamp: 32 characters (35 with an offset in seconds)."""
LONGEST_COUNTRY = 2
"""An ISO 3166-1 alpha-2 code (or "" for none)."""
LONGEST_AMOUNT = 1 + 1001 + 1 + 16_383
"""A total as `str(Decimal)` writes it: a sign, at most 1,001 digits before the point
(`_amount`'s bound), the point and the 16,383 decimals numeric holds."""
LONGEST_RANK = 20
"""A bigint."""


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
    "NAME": SortKey(SQL("name_key"), cursor_text, LONGEST_NAME_KEY, ("name_key",)),
    "DISPLAY_NAME": SortKey(
        SQL("display_name_key"), cursor_text, LONGEST_DISPLAY_NAME_KEY, ("display_name_key",)
    ),
    "CREATED_AT": SortKey(SQL("created_at"), _time, LONGEST_TIME, ("created_at",)),
    "UPDATED_AT": SortKey(SQL("updated_at"), _time, LONGEST_TIME, ("updated_at",)),
    "COUNTRY": SortKey(
        SQL("coalesce(country_code, '')"), cursor_text, LONGEST_COUNTRY, ("country_code",)
    ),
    "TOTAL_INVOICED": SortKey(SQL("total_invoiced"), _amount, LONGEST_AMOUNT),
    "RELEVANCE": SortKey(SQL("relevance"), _rank, LONGEST_RANK),
}
MOST_ORDERS = len(SORT_KEYS) + 1
"""The most keys an ordering has: each field once (the API refuses one named twice:
`check_orders`), and RELEVANCE's tie order after it (`with_relevance_ties`)."""
COMPUTED = {"TOTAL_INVOICED": "total_invoiced", "RELEVANCE": "relevance"}
"""Sort keys that are computed per row in an inner query, then ordered on."""


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


def check_orders(orders: Sequence[Order]) -> None:
    """An ordering a client may ask for: each field at most once (so at most one key per
    field). A field named twice orders nothing more, and every key is repeated in each
    arm of a cursor's seek condition: 100 keys made 25.8 MB of SQL from one cursor."""
    if len({o.field for o in orders}) != len(orders):
        raise BadOrder(Message("`orderBy` names a field twice"))


class BadOrder(ValueError):
    """An ordering the API does not take (a field named twice)."""


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
    if len(orders) > MOST_ORDERS:
        raise BadCursor(NOT_A_CURSOR)
    payload = cursor_payload(cursor, MAX_CURSOR + MAX_KEY_CURSOR * len(orders))
    if not isinstance(payload, list) or len(payload) != 3:
        raise BadCursor(NOT_A_CURSOR)
    fields, values, ident = payload
    if fields != [o.field for o in orders]:
        raise BadCursor(Message("this cursor belongs to another ordering"))
    if not isinstance(values, list) or len(values) != len(orders):
        raise BadCursor(NOT_A_CURSOR)
    for order, value in zip(orders, values, strict=True):
        # Longer than any row's value: forged (and the text would go into the SQL).
        if isinstance(value, str) and len(value) > SORT_KEYS[order.field].longest:
            raise BadCursor(NOT_A_CURSOR)
    parsed = [SORT_KEYS[o.field].parse(v) for o, v in zip(orders, values, strict=True)]
    return parsed, cursor_uuid(ident)


def _seek(
    orders: Sequence[Order], values: Sequence[Any], ident: UUID, *, forward: bool
) -> Composable:
    """Rows strictly after (forward) or before the cursor, in the given ordering: for keys
    k1..kn, `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND …)))`, each key and value
    written twice, so the text grows linearly with the keys (the flat form, one arm per
    key repeating every equality before it, grew as their square)."""
    keys = [
        (SORT_KEYS[o.field].expression, o.descending, Literal(v))
        for o, v in zip(orders, values, strict=True)
    ]
    keys.append((SQL("id"), orders[-1].descending if orders else False, Literal(ident)))
    condition: Composable | None = None
    for expr, desc, value in reversed(keys):
        greater = desc != forward  # ascending and forward: rows with greater keys
        beyond = SQL("{} {} {}").format(expr, SQL(">") if greater else SQL("<"), value)
        if condition is None:
            condition = beyond
        else:
            condition = SQL("{} OR ({} = {} AND {})").format(beyond, expr, value, condition)
        condition = SQL("({})").format(condition)
    assert condition is not None  # the id at least
    return condition


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
