"""Queries over the `partners` read model: by id, and filtered, ordered keyset pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier, Literal
from psycopg_pool import AsyncConnectionPool

from app.infra.rows import dataclass_row
from app.queries.keyset import MAX_PAGE, BadCursor, LazyCursors
from app.queries.relationship_queries import overdue_condition, total_invoiced


@dataclass(frozen=True)
class PartnerRow:
    id: UUID
    kind: str
    type: str
    parent_id: UUID | None
    commercial_partner_id: UUID
    address_from_id: UUID
    own_name: str | None
    name: str
    display_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    website: str | None
    lang: str | None
    tz: str | None
    function: str | None
    street: str | None
    street2: str | None
    city: str | None
    zip: str | None
    state_code: str | None
    country_code: str | None
    vat: str | None
    effective_vat: str | None
    ref: str | None
    company_registry: str | None
    notes: str | None
    external_id: str | None
    is_customer: bool
    is_supplier: bool
    industry_id: UUID | None
    salesperson_id: UUID | None
    effective_industry_id: UUID | None
    effective_salesperson_id: UUID | None
    customer_payment_term_id: UUID | None
    vendor_payment_term_id: UUID | None
    pricelist_id: UUID | None
    delivery_method_id: UUID | None
    receivable_account_id: UUID | None
    payable_account_id: UUID | None
    fiscal_position_id: UUID | None
    credit_limit_amount: Decimal | None
    credit_limit_currency: str | None
    archived: bool
    anonymized: bool
    version: int
    created_at: datetime
    updated_at: datetime
    name_key: str
    display_name_key: str
    total_invoiced: Decimal | None = None
    relevance: Decimal | None = None
    """Computed only when the page is ordered by them."""
    merged_into: UUID | None = None
    """The partner this one was merged into (see app/domain/merge.py)."""


_COLUMNS = SQL(
    SQL(", ")
    .join(
        Identifier(f)
        for f in PartnerRow.__dataclass_fields__
        if f not in ("total_invoiced", "relevance")
    )
    .as_string(None)
)
"""The row's columns, quoted once: composed of 52 `Identifier`s, psycopg escaped each
name again in every page's statement (~50 µs)."""


@dataclass(frozen=True)
class PartnerFilter:
    """Conditions that all hold; `and_`, `or_` and `not_` compose filters."""

    kind: str | None = None
    is_customer: bool | None = None
    is_supplier: bool | None = None
    archived: bool | None = None
    country_code: str | None = None
    state_code: str | None = None
    lang: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    parent_id: UUID | None = None
    commercial_partner_id: UUID | None = None
    email: str | None = None
    vat: str | None = None
    ref: str | None = None
    external_id: str | None = None
    industry_id: UUID | None = None
    salesperson_id: UUID | None = None
    tag_ids: tuple[UUID, ...] | None = None
    has_overdue_activities: bool | None = None
    and_: tuple[PartnerFilter, ...] = ()
    or_: tuple[PartnerFilter, ...] = ()
    not_: PartnerFilter | None = None

    def mentions_archived(self) -> bool:
        nested = (*self.and_, *self.or_, *((self.not_,) if self.not_ else ()))
        return self.archived is not None or any(f.mentions_archived() for f in nested)


def compile_filter(f: PartnerFilter, now: datetime) -> Composable:
    """One parameter-free composable: values are embedded as literals by psycopg.
    `now` is the clock that decides which activities are overdue."""
    parts: list[Composable] = []
    for name, column in (
        ("kind", "kind"),
        ("is_customer", "is_customer"),
        ("is_supplier", "is_supplier"),
        ("archived", "archived"),
        ("country_code", "country_code"),
        ("state_code", "state_code"),
        ("lang", "lang"),
        ("parent_id", "parent_id"),
        ("commercial_partner_id", "commercial_partner_id"),
        ("vat", "effective_vat"),
        ("ref", "ref"),
        ("external_id", "external_id"),
        ("industry_id", "effective_industry_id"),
        ("salesperson_id", "effective_salesperson_id"),
    ):
        value = getattr(f, name)
        if value is not None:
            parts.append(SQL("{} = {}").format(Identifier(column), Literal(value)))
    for name, column, op in (
        ("created_after", "created_at", ">="),
        ("created_before", "created_at", "<"),
        ("updated_after", "updated_at", ">="),
        ("updated_before", "updated_at", "<"),
    ):
        value = getattr(f, name)
        if value is not None:
            parts.append(SQL("{} {} {}").format(Identifier(column), SQL(op), Literal(value)))
    if f.tag_ids is not None:
        parts.append(_tagged_with(f.tag_ids))
    if f.has_overdue_activities is not None:
        overdue = overdue_condition(now, SQL("p.id"))
        parts.append(overdue if f.has_overdue_activities else SQL("NOT {}").format(overdue))
    if f.email is not None:
        parts.append(SQL("email_normalized = {}").format(Literal(f.email.strip().lower())))
    parts.extend(SQL("({})").format(compile_filter(sub, now)) for sub in f.and_)
    if f.or_:
        parts.append(
            SQL("({})").format(
                SQL(" OR ").join(SQL("({})").format(compile_filter(s, now)) for s in f.or_)
            )
        )
    if f.not_ is not None:
        parts.append(SQL("NOT ({})").format(compile_filter(f.not_, now)))
    return SQL(" AND ").join(parts) if parts else SQL("TRUE")


def _tagged_with(tag_ids: Sequence[UUID]) -> Composable:
    """Tagged with any of the tags or any of their descendants (resolved now, so a tag
    moved under another one counts at once)."""
    return SQL(
        "EXISTS (SELECT 1 FROM partner_tags pt WHERE pt.partner_id = p.id AND pt.tag_id "
        "IN (WITH RECURSIVE subtree(id) AS (SELECT id FROM tags WHERE id = ANY({ids}) "
        "UNION SELECT t.id FROM tags t JOIN subtree s ON t.parent_id = s.id) "
        "SELECT id FROM subtree))"
    ).format(ids=Literal(list(tag_ids)))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_term(conn: Any, search: str | None) -> str | None:
    """The search as it is matched: lower-case, accents removed by PostgreSQL's own
    unaccent (the same function that built the indexed text)."""
    if search is None or not search.strip():
        return None
    cur = await conn.execute("SELECT lower(unaccent(%s))", (" ".join(search.split()),))
    row = await cur.fetchone()
    return str(row[0]) if row else None


def search_condition(term: str, search: str) -> Composable:
    """A substring of the searchable text (trigram index), or of the phone digits when
    the search has at least three digits and nothing but phone characters."""
    text = SQL("p.search_text LIKE {}").format(Literal(f"%{_like_escape(term)}%"))
    # Numbers are stored in E.164: a national trunk prefix ("02 …") is not in them.
    digits = "".join(ch for ch in search if ch.isdigit()).lstrip("0")
    phone_like = all(ch.isdigit() or ch in " +-./()" for ch in search.strip())
    if len(digits) >= 3 and phone_like:
        phone = SQL("p.phone_digits LIKE {}").format(Literal(f"%{digits}%"))
        return SQL("({} OR {})").format(text, phone)
    return text


def where_clause(f: PartnerFilter | None, now: datetime) -> Composable:
    f = f or PartnerFilter()
    base = compile_filter(f, now)
    if not f.mentions_archived():
        return SQL("({}) AND NOT archived").format(base)
    return base


@dataclass(frozen=True)
class SortKey:
    expression: Composable
    parse: Callable[[Any], Any]
    columns: tuple[str, ...] = ()
    """The partners columns the expression reads (none for the computed keys)."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("bad cursor")
    return value


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(_text(value))


SORT_KEYS: dict[str, SortKey] = {
    "NAME": SortKey(SQL("name_key"), _text, ("name_key",)),
    "DISPLAY_NAME": SortKey(SQL("display_name_key"), _text, ("display_name_key",)),
    "CREATED_AT": SortKey(SQL("created_at"), _time, ("created_at",)),
    "UPDATED_AT": SortKey(SQL("updated_at"), _time, ("updated_at",)),
    "COUNTRY": SortKey(SQL("coalesce(country_code, '')"), _text, ("country_code",)),
    "TOTAL_INVOICED": SortKey(SQL("total_invoiced"), lambda v: Decimal(_text(v))),
    "RELEVANCE": SortKey(SQL("relevance"), lambda v: Decimal(_text(v))),
}
COMPUTED = {"TOTAL_INVOICED": "total_invoiced", "RELEVANCE": "relevance"}
"""Sort keys that are computed per row in an inner query, then ordered on."""
ESTIMATE_ABOVE = 10_000
"""Counts above this are estimated by the planner instead of counted."""
BOUNDED_SEARCH_MATCHES = 10_000
"""A search the planner expects to match at most this many partners reads all its
matches through the trigram index and sorts them (~1.5 µs a match: ≤ 15 ms), instead of
walking the sort order's index until a page is full: that walk is quick when matches are
spread through the order, but reads most of the table when they are not (a search for
"lum" whose matches all sort under L read 65,000 rows: 107 ms at 100,000 partners)."""


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[PartnerRow]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    where: Composable = field(repr=False)


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
    payload = [[o.field for o in orders], _sort_values(row, orders), str(row.id)]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def decode_cursor(cursor: str, orders: Sequence[Order]) -> tuple[list[Any], UUID]:
    try:
        fields, values, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if fields != [o.field for o in orders] or len(values) != len(orders):
            raise BadCursor("this cursor belongs to another ordering")
        parsed = [SORT_KEYS[o.field].parse(v) for o, v in zip(orders, values, strict=True)]
        return parsed, UUID(ident)
    except (ValueError, TypeError, KeyError, binascii.Error) as error:
        raise BadCursor(f"not a cursor of this list: {error}") from None


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


def _order_by(orders: Sequence[Order], *, reverse: bool) -> Composable:
    terms = [(SORT_KEYS[o.field].expression, o.descending != reverse) for o in orders]
    terms.append((SQL("id"), (orders[-1].descending if orders else False) != reverse))
    return SQL(", ").join(SQL("{} {}").format(e, SQL("DESC" if d else "ASC")) for e, d in terms)


class PartnerDirectory:
    """Reads partners from the read model through the async pool."""

    def __init__(self, pool: AsyncConnectionPool[Any], table: str = "partners") -> None:
        self.pool = pool
        self.table = Identifier(table)
        # Rendered once: the column list is long, and this runs for every partner(id).
        self._get_many = (
            SQL("SELECT {cols} FROM {t} WHERE id = ANY(%s)")
            .format(cols=_COLUMNS, t=self.table)
            .as_string(None)
        )
        # One id (`partner(id)`, a mutation's result) without an array: psycopg adapts a
        # list in Python (~30 µs), a lone uuid in C.
        self._get_one = (
            SQL("SELECT {cols} FROM {t} WHERE id = %s")
            .format(cols=_COLUMNS, t=self.table)
            .as_string(None)
        )

    async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, PartnerRow]:
        if not ids:
            return {}
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(PartnerRow))
            if len(ids) == 1:
                await cur.execute(self._get_one, (ids[0],))
            else:
                await cur.execute(self._get_many, (list(ids),))
            return {row.id: row for row in await cur.fetchall()}

    async def page(
        self,
        where: PartnerFilter | None,
        orders: Sequence[Order],
        *,
        now: datetime,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Page:
        async with self.pool.connection() as conn:
            term = await search_term(conn, search)
            # Alphabetical unless RELEVANCE is asked for: at 1M partners a 3-letter search
            # ordered by similarity scores every match (~590 ms), by name it reads the
            # name index until the page is full (~7 ms).
            orders = list(orders) or [Order("NAME")]
            backward = last is not None and first is None
            requested = last if backward else first
            size = min(50 if requested is None else requested, MAX_PAGE)
            clause = self.clause(where, now, term, search)
            conditions: list[Composable] = [SQL("TRUE")]
            if after is not None:
                values, ident = decode_cursor(after, orders)
                conditions.append(_seek(orders, values, ident, forward=True))
            if before is not None:
                values, ident = decode_cursor(before, orders)
                conditions.append(_seek(orders, values, ident, forward=False))
            computed: list[Composable] = []  # sort keys computed per row, named as in COMPUTED
            if any(o.field == "TOTAL_INVOICED" for o in orders):
                computed.append(SQL("{} AS total_invoiced").format(total_invoiced(SQL("p.id"))))
            if any(o.field == "RELEVANCE" for o in orders):
                if not term:
                    raise BadCursor("RELEVANCE ordering needs a search")
                computed.append(
                    SQL("round(similarity(search_text, {})::numeric, 6) AS relevance").format(
                        Literal(term)
                    )
                )
            if term and await self._planner_rows(conn, clause) <= BOUNDED_SEARCH_MATCHES:
                query = self._bounded_page(clause, computed, conditions, orders, backward, size + 1)
            else:
                query = SQL(
                    "SELECT * FROM (SELECT {cols} FROM {t} p WHERE {w}) AS partners "
                    "WHERE {seek} ORDER BY {o} LIMIT {n}"
                ).format(
                    cols=SQL(", ").join([_COLUMNS, *computed]),
                    t=self.table,
                    w=clause,
                    seek=SQL(" AND ").join(conditions),
                    o=_order_by(orders, reverse=backward),
                    n=Literal(size + 1),
                )
            cur = conn.cursor(row_factory=dataclass_row(PartnerRow))
            await cur.execute(query)
            rows = await cur.fetchall()
        more = len(rows) > size
        rows = rows[:size]
        if backward:
            rows.reverse()
        return Page(
            rows=rows,
            cursors=LazyCursors(rows, lambda row: encode_cursor(row, orders)),
            has_next_page=more if not backward else before is not None,
            has_previous_page=more if backward else after is not None,
            where=clause,
        )

    def _bounded_page(
        self,
        clause: Composable,
        computed: list[Composable],
        conditions: list[Composable],
        orders: Sequence[Order],
        backward: bool,
        limit: int,
    ) -> Composable:
        """The page of a search with few matches (BOUNDED_SEARCH_MATCHES), in one
        statement: every match read by the clause's own best plan (the trigram index),
        kept as its id and sort keys only (a materialized CTE: the planner cannot turn
        it into a walk along the sort order's index), sorted, and then the page's rows
        by id in that order. Sorting whole rows cost ~4 µs a match, the keys ~1.5."""
        columns = dict.fromkeys(c for o in orders for c in SORT_KEYS[o.field].columns)
        keys = SQL(", ").join(
            [SQL("p.id"), *(SQL("p.{}").format(Identifier(c)) for c in columns), *computed]
        )
        return SQL(
            "WITH matches AS MATERIALIZED (SELECT {keys} FROM {t} p WHERE {w}) "
            "SELECT {cols} FROM unnest(ARRAY(SELECT id FROM matches AS partners "
            "WHERE {seek} ORDER BY {o} LIMIT {n})) WITH ORDINALITY AS page(id, place) "
            "JOIN {t} p USING (id) ORDER BY page.place"
        ).format(
            keys=keys,
            t=self.table,
            w=clause,
            cols=SQL(", ").join([_COLUMNS, *computed]),
            seek=SQL(" AND ").join(conditions),
            o=_order_by(orders, reverse=backward),
            n=Literal(limit),
        )

    async def _planner_rows(self, conn: Any, clause: Composable) -> int:
        """How many partners the planner expects `clause` to match (one EXPLAIN)."""
        cur = await conn.execute(
            SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {t} p WHERE {w}").format(
                t=self.table, w=clause
            )
        )
        plan = await cur.fetchone()
        return int(plan[0][0]["Plan"]["Plan Rows"]) if plan else 0

    def clause(
        self, where: PartnerFilter | None, now: datetime, term: str | None, search: str | None
    ) -> Composable:
        """The filter and the search as one condition on the partners table (alias p)."""
        clause = where_clause(where, now)
        if term or search:
            clause = SQL("{} AND {}").format(clause, search_condition(term or "", search or ""))
        return clause

    async def count(self, clause: Composable) -> tuple[int, bool]:
        """Exact up to ESTIMATE_ABOVE; beyond, the planner's estimate (flagged), so that a
        count never costs a full scan on every page."""
        capped = SQL("SELECT count(*) FROM (SELECT 1 FROM {t} p WHERE {w} LIMIT {n}) s").format(
            t=self.table, w=clause, n=Literal(ESTIMATE_ABOVE + 1)
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(capped)
            row = await cur.fetchone()
            exact = int(row[0]) if row else 0
            if exact <= ESTIMATE_ABOVE:
                return exact, False
            return max(await self._planner_rows(conn, clause), exact), True


FACETS = {
    "countries": "SELECT country_code, count(*) FROM f WHERE country_code IS NOT NULL GROUP BY 1",
    "kinds": "SELECT kind, count(*) FROM f GROUP BY 1",
    "roles": (
        "SELECT CASE WHEN is_customer AND is_supplier THEN 'BOTH' WHEN is_customer THEN "
        "'CUSTOMER' WHEN is_supplier THEN 'SUPPLIER' ELSE 'NONE' END, count(*) FROM f GROUP BY 1"
    ),
    "industries": (
        "SELECT effective_industry_id::text, count(*) FROM f "
        "WHERE effective_industry_id IS NOT NULL GROUP BY 1"
    ),
    "languages": "SELECT lang, count(*) FROM f WHERE lang IS NOT NULL GROUP BY 1",
    "salespersons": (
        "SELECT effective_salesperson_id::text, count(*) FROM f "
        "WHERE effective_salesperson_id IS NOT NULL GROUP BY 1"
    ),
    # A partner tagged "Region / EMEA" counts for "Region" too, as the tagIds filter does.
    "tags": (
        "WITH RECURSIVE tree(ancestor, id) AS (SELECT id, id FROM tags UNION "
        "SELECT tree.ancestor, t.id FROM tags t JOIN tree ON t.parent_id = tree.id) "
        "SELECT tree.ancestor::text, count(DISTINCT f.id) FROM f "
        "JOIN partner_tags pt ON pt.partner_id = f.id JOIN tree ON tree.id = pt.tag_id "
        "GROUP BY 1"
    ),
}


async def facet_counts(
    directory: PartnerDirectory, where: PartnerFilter | None, search: str | None, now: datetime
) -> dict[str, list[tuple[str, int]]]:
    """Counts by country, kind, role, industry, language, salesperson and tag of the
    partners a filter and search select: one query, the selection computed once."""
    async with directory.pool.connection() as conn:
        term = await search_term(conn, search)
        clause = directory.clause(where, now, term, search)
        parts = SQL(" UNION ALL ").join(
            SQL("SELECT {name}, v, n FROM ({q}) AS {alias}(v, n)").format(
                name=Literal(name),
                q=SQL(query),
                alias=Identifier(f"facet_{name}"),
            )
            for name, query in FACETS.items()
        )
        query = SQL(
            "WITH f AS MATERIALIZED (SELECT p.id, p.country_code, p.kind, p.is_customer, "
            "p.is_supplier, p.effective_industry_id, p.lang, p.effective_salesperson_id "
            "FROM {t} p WHERE {w}) {parts} ORDER BY 1, 3 DESC, 2"
        ).format(t=directory.table, w=clause, parts=parts)
        cur = await conn.execute(query)
        found: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
        for name, value, count in await cur.fetchall():
            found[name].append((value, int(count)))
        return found
