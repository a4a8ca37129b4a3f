"""What a request makes the database do stays in proportion to what it asks for.

1. A forged keyset cursor with a repeated `orderBy`: 100 x `{field: NAME}` and a cursor
   of 100 names of 5,000 characters (668 KB) built 25.8 MB of SQL per seek condition
   (51.7 MB with `after` and `before`), 3.7 s and +280 MB in a PostgreSQL backend for one
   alias. A field named twice is refused (BAD_REQUEST), a cursor value longer than any
   row's is refused as forged, and the seek condition is linear in the keys.
2. `Partner.stats` for a page of partners read every document for every partner (a
   scope correlated to each partner in a join condition: a subplan per document and
   partner; 99 partners, 3,266 documents: past the 5 s statement timeout). The
   statements now read each record a bounded number of times, and say the same.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from app.projections.partner_resolution import searchable
from app.queries.activity_queries import local_today
from app.queries.due_queries import overdue_amount
from app.queries.figure_queries import COUNTED, MONEY, stats_statements
from app.queries.partner_scope import scope_of
from app.queries.partners.ordering import (
    SORT_KEYS,
    UNACCENT_MOST,
    Order,
    between_cursors,
)
from tests.conftest import gql, gql_raw
from tests.databases import DatabaseSupply

PAGE = """query($c: String, $o: [PartnerOrder!]) {
  partners(first: 1, orderBy: $o, after: $c, before: $c) { nodes { id } } }"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", e) for e in body.get("errors") or []]


def cursor(fields: list[str], values: list[Any], ident: str | None = None) -> str:
    payload = [fields, values, ident or str(uuid.uuid4())]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every SQL statement the read side sends."""
    seen: list[int] = []
    original = psycopg.AsyncCursor.execute

    async def measuring(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        text = query.as_string(self) if isinstance(query, Composable) else query
        seen.append(len(text if isinstance(text, str | bytes) else str(text)))
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", measuring)
    return seen


# ------------------------------------------------------ 1. orderBy and forged cursors


def test_the_audits_request_is_refused_and_builds_no_big_statement(
    client: TestClient, statements: list[int]
) -> None:
    orders = [{"field": "NAME"}] * 100
    forged = cursor(["NAME"] * 100, ["m" * 5000] * 100)
    assert len(forged) > 600_000
    body = gql_raw(client, PAGE, {"o": orders, "c": forged})
    assert codes(body) == ["BAD_REQUEST"], body
    assert body["data"] is None or body["data"]["partners"] is None
    assert max(statements, default=0) < 20_000, statements


def test_an_order_by_naming_a_field_twice_is_refused(
    client: TestClient, statements: list[int]
) -> None:
    for orders in (
        [{"field": "NAME"}, {"field": "NAME"}],
        [{"field": "NAME"}, {"field": "COUNTRY"}, {"field": "NAME", "direction": "DESC"}],
    ):
        body = gql_raw(client, PAGE, {"o": orders})
        assert codes(body) == ["BAD_REQUEST"], body
        assert "`orderBy` names a field twice" in body["errors"][0]["message"]
    assert max(statements, default=0) < 20_000, statements
    every = [{"field": f} for f in SORT_KEYS if f != "RELEVANCE"]
    assert gql(client, PAGE, {"o": every})["partners"]["nodes"] == []


@pytest.mark.parametrize("field", ["NAME", "DISPLAY_NAME", "COUNTRY", "CREATED_AT"])
def test_a_cursor_value_longer_than_a_row_holds_is_forged(
    client: TestClient, statements: list[int], field: str
) -> None:
    longest = SORT_KEYS[field].longest
    forged = cursor([field], ["m" * max(5000, longest + 1)])
    body = gql_raw(client, PAGE, {"o": [{"field": field}], "c": forged})
    assert codes(body) == ["BAD_REQUEST"], body
    assert body["errors"][0]["message"] == "not a cursor of this list"
    too_long = cursor([field], ["m" * (longest + 1)])
    assert codes(gql_raw(client, PAGE, {"o": [{"field": field}], "c": too_long})) == ["BAD_REQUEST"]
    assert max(statements, default=0) < 20_000, statements
    if field in ("NAME", "DISPLAY_NAME"):  # the longest a row holds still pages
        at_most = cursor([field], ["m" * longest])
        assert gql(client, PAGE, {"o": [{"field": field}], "c": at_most})["partners"] == {
            "nodes": []
        }


def test_the_seek_condition_grows_linearly_with_the_keys() -> None:
    values = {
        "NAME": "n" * SORT_KEYS["NAME"].longest,
        "DISPLAY_NAME": "d" * SORT_KEYS["DISPLAY_NAME"].longest,
        "CREATED_AT": "2024-01-01T00:00:00.123456+00:00",
        "UPDATED_AT": "2024-01-01T00:00:00.123456+00:00",
        "COUNTRY": "BE",
        "TOTAL_INVOICED": "1" * 1000 + "." + "5" * 6,
        "RELEVANCE": "1",
    }
    fields = list(values)
    orders = [Order(f) for f in fields] + [Order("NAME")]  # RELEVANCE's tie order
    given = [*values.values(), values["NAME"]]
    encoded = cursor([o.field for o in orders], given)
    size = len(between_cursors(orders, encoded, encoded).as_string(None))
    text = sum(len(v) for v in given)
    # Each value twice in each of the two conditions, plus a little per key.
    assert size <= 4 * text + 400 * len(orders), (size, text)


def test_no_ordering_has_more_keys_than_fields() -> None:
    orders = [Order("NAME")] * (len(SORT_KEYS) + 2)
    with pytest.raises(ValueError, match="not a cursor"):
        between_cursors(orders, cursor(["NAME"] * len(orders), ["a"] * len(orders)), None)


def test_searchable_makes_at_most_unaccent_most_characters_of_one(db: Database) -> None:
    """The bound of the name keys: lower(unaccent()) of every character the server's
    unaccent rules know (outside the surrogates) is at most UNACCENT_MOST characters."""
    one = SQL("length({})").format(searchable(SQL("chr(c)")))
    query = SQL(
        "SELECT max({}) FROM generate_series(1, 196607) c WHERE c NOT BETWEEN 55296 AND 57343"
    ).format(one)
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        row = conn.execute(query).fetchone()
    assert row is not None and row[0] == UNACCENT_MOST


PAGED = """query($o: [PartnerOrder!], $after: String, $before: String, $first: Int, $last: Int) {
  partners(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    nodes { name } pageInfo { endCursor startCursor } } }"""
CREATE = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { message } } }"""


def test_real_cursors_page_through_a_multi_key_ordering(client: TestClient) -> None:
    for i, (name, country) in enumerate(
        [("Émile", "BE"), ("emile", "FR"), ("Zoë", "BE"), ("Ana", None), ("ana", "BE")]
        + [(f"P{n:02}", ["BE", "FR", None][n % 3]) for n in range(9)]
    ):
        fields: dict[str, Any] = {"kind": "COMPANY", "name": name}
        if country:
            fields["countryCode"] = country
        assert gql(client, CREATE, {"input": fields})["createPartner"]["userErrors"] == [], i
    orders = [
        {"field": "COUNTRY", "direction": "DESC"},
        {"field": "NAME"},
        {"field": "CREATED_AT", "direction": "DESC"},
    ]
    everyone = [n["name"] for n in gql(client, PAGED, {"o": orders})["partners"]["nodes"]]
    assert len(everyone) == 14
    forward: list[str] = []
    after = None
    while True:
        page = gql(client, PAGED, {"o": orders, "first": 3, "after": after})["partners"]
        forward += [n["name"] for n in page["nodes"]]
        if not page["nodes"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == everyone
    backward: list[str] = []
    before = None
    while True:
        page = gql(client, PAGED, {"o": orders, "last": 4, "before": before})["partners"]
        backward = [n["name"] for n in page["nodes"]] + backward
        if not page["nodes"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == everyone


# ------------------------------------------------------------- 2. a page's figures

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(databases: DatabaseSupply) -> Iterator[Database]:
    """A registry of demo partners (companies with contacts, documents, activities,
    opportunities), shared by this module's figure tests (which only read it)."""
    fresh = databases.take()
    try:
        result = CliRunner().invoke(
            cli,
            ["demo", "--partners", "300", "--seed", "7"],
            env={"PARTNERBOOK_DATABASE_URL": fresh.dsn},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        with psycopg.connect(fresh.conninfo(), autocommit=True) as conn:
            conn.execute("ANALYZE")
        yield fresh
    finally:
        databases.give_back(fresh)


def _reference(ids: list[uuid.UUID], now: datetime) -> list[Composed]:
    """The statements of the release the audit measured, per partner `r.id` (a correlated
    scope), kept to compare results with."""
    s = scope_of(SQL("r.id"))
    lit = Literal(ids)
    counts = SQL(", ").join(
        SQL("count(*) FILTER (WHERE d.status <> 'CANCELLED' AND {}) AS {}").format(SQL(c), SQL(n))
        for n, c in COUNTED.items()
    )
    view = SQL("(a.partner_id = ANY(ARRAY{s}) OR a.company_id = ANY(ARRAY{s}))").format(s=s)
    timeline = SQL(
        "(SELECT * FROM timeline WHERE partner_id IN {s} UNION ALL SELECT * FROM timeline "
        "WHERE subject_type = 'Activity' AND subject_id IN (SELECT named.id FROM activities "
        "named WHERE named.company_id IN {s}) AND partner_id NOT IN {s})"
    ).format(s=s)
    return [
        SQL(
            "SELECT r.id, {c} FROM unnest({i}::uuid[]) r(id) "
            "LEFT JOIN documents d ON d.partner_id IN {s} GROUP BY r.id"
        ).format(c=counts, i=lit, s=s),
        SQL(
            "SELECT r.id, d.currency, {sums} FROM unnest({i}::uuid[]) r(id) "
            "JOIN documents d ON d.partner_id IN {s} AND d.currency IS NOT NULL "
            "GROUP BY r.id, d.currency"
        ).format(
            sums=SQL(", ").join(SQL("sum({})").format(m) for m in (*MONEY, overdue_amount(now))),
            i=lit,
            s=s,
        ),
        SQL(
            "SELECT r.id, "
            "(SELECT count(*) FROM activities a WHERE {a} AND a.status = 'OPEN'), "
            "(SELECT count(*) FROM activities a WHERE {a} AND a.status = 'OPEN' "
            " AND a.due_date < {today}), "
            "(SELECT count(*) FROM opportunities o WHERE o.partner_id IN {s}), "
            "(SELECT max(t.occurred_at) FROM {t} t WHERE t.subject_type <> 'Partner') "
            "FROM unnest({i}::uuid[]) r(id)"
        ).format(a=view, t=timeline, s=s, today=local_today(now), i=lit),
    ]


def _partners(db: Database, kind: str | None, limit: int) -> list[uuid.UUID]:
    where = SQL("WHERE kind = {}").format(Literal(kind)) if kind else SQL("")
    with psycopg.connect(db.conninfo()) as conn:
        rows = conn.execute(
            SQL("SELECT id FROM partners {} ORDER BY name_key, id LIMIT {}").format(
                where, Literal(limit)
            )
        ).fetchall()
    return [r[0] for r in rows]


RECORDS = ("documents", "activities", "opportunities", "timeline", "partners")


def _rows_read(plan: dict[str, Any], found: dict[str, float]) -> None:
    """Rows each relation's scans read in an EXPLAIN ANALYZE plan, every loop counted."""
    relation = plan.get("Relation Name")
    if relation:
        loops = plan.get("Actual Loops", 1)
        per_loop = (
            plan.get("Actual Rows", 0)
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
        found[relation] = found.get(relation, 0) + loops * per_loop
    for child in plan.get("Plans", ()):
        _rows_read(child, found)


def _read(conn: psycopg.Connection[Any], statement: Composed) -> dict[str, float]:
    row = conn.execute(SQL("EXPLAIN (ANALYZE, FORMAT JSON) {}").format(statement)).fetchone()
    assert row is not None
    read: dict[str, float] = {}
    _rows_read(row[0][0]["Plan"], read)
    return read


def _size(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(SQL("SELECT count(*) FROM {}").format(Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def test_a_page_of_figures_reads_each_record_a_bounded_number_of_times(demo: Database) -> None:
    """One test, so that the demo registry is made once (a module fixture is made again by
    each xdist worker that runs a test of the module)."""
    ids = _partners(demo, None, 10_000)
    companies = _partners(demo, "COMPANY", 99)
    assert len(companies) >= 30
    with psycopg.connect(demo.conninfo()) as conn:
        assert _size(conn, "documents") > 100
        # The same figures as the correlated statements, for pages of all sorts.
        for batch in (ids[:150], companies, ids[-40:], ids[:1], [uuid.uuid4()], []):
            new = [
                sorted(map(repr, conn.execute(q).fetchall())) for q in stats_statements(batch, NOW)
            ]
            old = [sorted(map(repr, conn.execute(q).fetchall())) for q in _reference(batch, NOW)]
            assert new == old, batch
        rows = conn.execute(stats_statements(companies, NOW)[2]).fetchall()
        assert any(r[1] for r in rows) and any(r[3] for r in rows) and any(r[4] for r in rows)

        # A record shows in a few views at most (its partner's, that partner's commercial
        # partner's, the company an activity names): each is read a few times at most,
        # never once per partner of the page, whatever plan the planner picks.
        for seqscan in ("on", "off"):
            conn.execute(SQL("SET enable_seqscan = {}").format(SQL(seqscan)))
            for statement in stats_statements(companies, NOW):
                for table, n in _read(conn, statement).items():
                    if table not in RECORDS:  # catalog_entries: a time zone per activity
                        continue
                    assert n <= 3 * _size(conn, table) + 200, (seqscan, table, n, statement)

        # One partner's scope (its documents, activities, timeline pages): found by the
        # primary key and `commercial_partner_id`, not by reading every partner (a join
        # on `id = root OR commercial_partner_id = root`).
        conn.execute("SET enable_seqscan = off")
        for company in companies[:5]:
            members = conn.execute(
                "SELECT count(*) FROM partners WHERE id = %s OR commercial_partner_id = %s",
                (company, company),
            ).fetchone()
            assert members is not None
            scope = SQL("SELECT * FROM partners WHERE id IN {}").format(scope_of(Literal(company)))
            assert _read(conn, scope)["partners"] <= 3 * members[0] + 3
