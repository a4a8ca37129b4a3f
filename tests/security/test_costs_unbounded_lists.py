"""Lists a viewer could read without the operation's cost counting them: a partner's
opportunities (a plain list, every one of them, for each partner of a page) and the
duplicate candidates of a partner in a large group (every member read, 50 answered).
Each is now bounded before it is read: counted by the cost walk, or limited in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra.database import Database
from app.queries.duplicates import MAX_CANDIDATES
from app.schema.ids import from_global_id
from tests.conftest import as_key, gql, gql_raw, key_for
from tests.schema.partner_ops import create

OPPORTUNITIES = "query($id: ID!) { partner(id: $id) { opportunities { id name } } }"


def add_opportunities(db: Database, partner_id: str, n: int) -> None:
    """`n` opportunities of the partner in the read model (a big customer's years of
    deals): what the 360° view reads."""
    _, ident = from_global_id(partner_id)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with psycopg.connect(db.conninfo()) as conn:
        conn.cursor().executemany(
            "INSERT INTO opportunities (id, partner_id, name, stage, version, created_at, "
            "updated_at) VALUES (%s, %s, %s, 'NEW', 1, %s, %s)",
            [
                (uuid.uuid4(), ident, f"Deal {i:04}", start + timedelta(days=i), start)
                for i in range(n)
            ],
        )


def limit_refusal(client: TestClient, query: str, variables: dict[str, Any]) -> str:
    body = gql_raw(client, query, variables)
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    message: str = error["message"]
    return message


def test_a_partners_opportunities_are_a_bounded_page(client: TestClient, db: Database) -> None:
    company = create(client, kind="COMPANY", name="Big Customer")
    add_opportunities(db, company["id"], 150)
    as_key(client, key_for(db, "viewer"))

    found = gql(client, OPPORTUNITIES, {"id": company["id"]})["partner"]["opportunities"]
    assert len(found) == 50  # was 150: every one, counted 0 by the cost
    assert [o["name"] for o in found[:2]] == ["Deal 0149", "Deal 0148"]  # newest first
    query = "query($id: ID!, $n: Int) { partner(id: $id) { opportunities(first: $n) { name } } }"
    page = gql(client, query, {"id": company["id"], "n": 100})["partner"]["opportunities"]
    assert [o["name"] for o in page] == [f"Deal {i:04}" for i in range(149, 49, -1)]
    assert gql(client, query, {"id": company["id"], "n": 0})["partner"]["opportunities"] == []

    body = gql_raw(client, query, {"id": company["id"], "n": 101})
    assert body["data"]["partner"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert "`first` must be between 0 and 100" in error["message"]


def test_opportunities_count_in_the_operation_cost(client: TestClient, db: Database) -> None:
    as_key(client, key_for(db, "viewer"))
    nested = "query($n: Int) { partners(first: 100) { nodes { opportunities(first: $n) { id } } } }"
    # 100 partners x 100 opportunities: refused before anything is read.
    assert "10100 nodes" in limit_refusal(client, nested, {"n": 100})
    # Left out, a page counts 50 for each partner: 100 + 100 x 50.
    default = (
        "{ partners(first: 100) { nodes { a: opportunities { id } b: opportunities { id } } } }"
    )
    assert "10100 nodes" in limit_refusal(client, default, {})


@contextmanager
def rows_read(marker: str) -> Iterator[list[int]]:
    """The rows fetched by each statement whose text holds `marker`."""
    counts: list[int] = []
    marked: set[int] = set()  # ids of cursors running such a statement (they have slots)
    execute, fetchall = psycopg.AsyncCursor.execute, psycopg.AsyncCursor.fetchall

    async def counting_execute(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(None)
        if marker in text:
            marked.add(id(self))
        else:
            marked.discard(id(self))
        return await execute(self, query, *args, **kw)

    async def counting_fetchall(self: Any) -> Any:
        rows = await fetchall(self)
        if id(self) in marked:
            counts.append(len(rows))
        return rows

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg.AsyncCursor, "execute", counting_execute)
        patch.setattr(psycopg.AsyncCursor, "fetchall", counting_fetchall)
        yield counts


CANDIDATES = """query($id: ID!) { duplicateCandidates(partnerId: $id) {
  partner { name } score reasons } }"""
IMPORT = """mutation($rows: [PartnerImportRow!]!) { importPartners(input: {rows: $rows}) {
  created rejected { message } userErrors { message } } }"""


def test_duplicate_candidates_of_a_large_group_read_one_page(
    client: TestClient, db: Database
) -> None:
    rows = [
        {"externalId": f"x{i}", "name": f"Person {i:03}", "email": "info@shared.example"}
        for i in range(3 * MAX_CANDIDATES)
    ]
    done = gql(client, IMPORT, {"rows": rows})["importPartners"]
    assert done["created"] == len(rows), done
    me = create(client, kind="PERSON", name="Person Me", email="INFO@shared.example")
    as_key(client, key_for(db, "viewer"))

    with rows_read("name_similarity") as counts:
        found = gql(client, CANDIDATES, {"id": me["id"]})["duplicateCandidates"]

    assert len(found) == MAX_CANDIDATES
    assert {c["score"] for c in found} == {0.8}
    assert counts and max(counts) <= MAX_CANDIDATES, counts  # was 150: the whole group


def test_rebuilding_partners_from_their_events_counts_in_the_cost(
    client: TestClient, db: Database
) -> None:
    company = create(client, kind="COMPANY", name="Old Customer")
    as_key(client, key_for(db, "auditor"))
    # Each `history` rebuilds the partner from its events (up to the snapshot interval):
    # 30 aliases on a page of 100 counted 3,100 nodes and replayed 3,000 aggregates.
    histories = " ".join(f"h{i}: history(first: 0) {{ totalCount }}" for i in range(30))
    query = f"{{ partners(first: 100) {{ nodes {{ {histories} }} }} }}"
    assert "123100 nodes" in limit_refusal(client, query, {})
    as_of = " ".join(f"a{i}: partnerAsOf(id: $id, version: 1) {{ name }}" for i in range(30))
    # 30 as-of states of one partner stay allowed (1,200: the heavy lane's size).
    found = gql(client, f"query($id: ID!) {{ {as_of} }}", {"id": company["id"]})
    assert found["a29"] == {"name": "Old Customer"}
    one = "query($id: ID!) { partner(id: $id) { history(first: 5) { totalCount } } }"
    assert gql(client, one, {"id": company["id"]})["partner"]["history"]["totalCount"] == 1
