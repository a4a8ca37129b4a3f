"""Persisted queries over HTTP: Apollo's automatic persisted queries (a client sends the
SHA-256 of its document, and the document only when the server asks for it), and the
allow-list mode that runs registered documents only. A persisted document is an
operation like any other: the same roles and limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from app.infra import persisted_documents
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import as_key, event_count, key_for

GRAPHQL_RESPONSE = "application/graphql-response+json"
COUNT = "query Count { partners(first: 5) { totalCount } }"
CREATE = """mutation { createPartner(input: {kind: COMPANY, name: "Lumber Inc"}) {
  partner { name } userErrors { code } } }"""
COSTLY = "{ partners(first: 100) { nodes { children(first: 100) { totalCount } } } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def extensions(text: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(text)}}


def by_hash(client: TestClient, text: str, *, accept: str = "application/json") -> httpx.Response:
    """POST with the hash alone, as Apollo's link sends a document the first time."""
    body = {"extensions": extensions(text)}
    return client.post("/graphql", json=body, headers={"accept": accept})


def with_text(client: TestClient, text: str) -> httpx.Response:
    """POST with the hash and the document, as Apollo's link retries."""
    return client.post("/graphql", json={"query": text, "extensions": extensions(text)})


def get_by_hash(client: TestClient, text: str, **params: str) -> httpx.Response:
    return client.get("/graphql", params={"extensions": json.dumps(extensions(text)), **params})


def code_of(answer: httpx.Response) -> str:
    code: str = answer.json()["errors"][0]["extensions"]["code"]
    return code


def test_the_automatic_persisted_query_flow(client: TestClient) -> None:
    unknown = by_hash(client, COUNT)
    assert unknown.status_code == 200
    assert unknown.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    answered = with_text(client, COUNT)
    assert answered.json() == {"data": {"partners": {"totalCount": 0}}}
    again = get_by_hash(client, COUNT, operationName="Count")
    assert again.status_code == 200
    assert again.json() == {"data": {"partners": {"totalCount": 0}}}
    assert again.headers["cache-control"] == "private, no-store"
    assert by_hash(client, COUNT).json() == again.json()


def test_an_unknown_hash_is_a_404_in_the_graphql_media_type(client: TestClient) -> None:
    # Not 400: Apollo's older clients turn persisted queries off for good on a 400.
    answer = by_hash(client, COUNT, accept=GRAPHQL_RESPONSE)
    assert answer.status_code == 404
    assert "data" not in answer.json()
    assert code_of(answer) == "PERSISTED_QUERY_NOT_FOUND"


def test_the_document_must_match_its_hash(client: TestClient) -> None:
    body = {"query": COUNT, "extensions": extensions("{ __typename }")}
    mismatch = client.post("/graphql", json=body)
    assert mismatch.json()["errors"][0]["message"] == "provided sha does not match query"
    assert code_of(mismatch) == "BAD_REQUEST"
    assert code_of(by_hash(client, "{ __typename }")) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "persisted",
    [{"version": 2, "sha256Hash": sha256(COUNT)}, {"version": 1, "sha256Hash": "abc"}, "x"],
    ids=["version 2", "not a sha-256", "not an object"],
)
def test_a_malformed_persisted_query_is_a_bad_request(client: TestClient, persisted: Any) -> None:
    answer = client.post("/graphql", json={"extensions": {"persistedQuery": persisted}})
    assert code_of(answer) == "BAD_REQUEST"


def test_a_document_that_does_not_run_is_not_stored(client: TestClient) -> None:
    for text in ("{ noSuchField }", "{", COSTLY):
        assert with_text(client, text).json()["errors"]
        assert code_of(by_hash(client, text)) == "PERSISTED_QUERY_NOT_FOUND"


def test_without_a_key_the_answer_is_unauthenticated_whatever_the_hash(
    client: TestClient,
) -> None:
    with_text(client, COUNT)
    as_key(client, None)
    for known in (COUNT, "{ __typename }"):
        assert code_of(by_hash(client, known)) == "UNAUTHENTICATED"


def test_roles_and_limits_apply_to_persisted_documents(client: TestClient, db: Database) -> None:
    persisted_documents.register(db.conninfo(), [CREATE, COSTLY])
    as_key(client, key_for(db, "viewer"))
    assert code_of(by_hash(client, CREATE)) == "FORBIDDEN"
    assert code_of(by_hash(client, COSTLY)) == "LIMIT_EXCEEDED"
    assert event_count(db) == 0
    as_key(client, key_for(db, "editor"))
    assert get_by_hash(client, CREATE).status_code == 405  # GET never runs a mutation
    created = by_hash(client, CREATE).json()["data"]["createPartner"]
    assert created == {"partner": {"name": "Lumber Inc"}, "userErrors": []}


def test_the_store_keeps_its_byte_budget(settings: Settings, admin_key: str) -> None:
    """The least recently used documents leave the database first (a process may still
    remember them: a hash names one text for ever); another process no longer finds them."""
    texts = [f"query Q{n} {{ partners(first: {n + 1}) {{ totalCount }} }}" for n in range(3)]
    budget = len(texts[0].encode()) * 2 + 5  # room for two of them
    small = settings.model_copy(update={"persisted_store_bytes": budget})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(small), headers=headers) as first:
        for text in texts:
            assert "data" in with_text(first, text).json()
    with TestClient(create_app(small), headers=headers) as other:
        assert code_of(by_hash(other, texts[0])) == "PERSISTED_QUERY_NOT_FOUND"
        assert by_hash(other, texts[1]).json()["data"]["partners"]["totalCount"] == 0
        assert by_hash(other, texts[2]).json()["data"]["partners"]["totalCount"] == 0


def test_the_store_keeps_a_count_of_documents_too(
    settings: Settings, admin_key: str, db: Database
) -> None:
    """A byte budget alone let tiny documents pile up (`{ a1: __typename }`, 20 bytes:
    16 MB held ~800,000 of them), and each store's trim summed every one of them: at
    400,000 rows a store cost ~1 s of the database, and a viewer storing in a loop
    slowed every client (an audit's finding). The store keeps at most
    PARTNERBOOK_PERSISTED_STORE_DOCUMENTS automatic documents, the least recently used
    dropped first, so a trim reads a bounded number of rows."""
    most = 5
    texts = [f"{{ a{n}: __typename }}" for n in range(most + 3)]
    capped = settings.model_copy(update={"persisted_store_documents": most})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(capped), headers=headers) as first:
        for text in texts:
            assert "data" in with_text(first, text).json()
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT count(*) FROM persisted_documents WHERE NOT registered")
        assert row.fetchone() == (most,)
    with TestClient(create_app(capped), headers=headers) as other:
        assert code_of(by_hash(other, texts[0])) == "PERSISTED_QUERY_NOT_FOUND"
        assert "data" in by_hash(other, texts[-1]).json()


def test_automatic_persisting_can_be_turned_off(settings: Settings, admin_key: str) -> None:
    off = settings.model_copy(update={"persisted_store_bytes": 0})
    with TestClient(create_app(off), headers={"Authorization": f"Bearer {admin_key}"}) as c:
        assert code_of(by_hash(c, COUNT)) == "PERSISTED_QUERY_NOT_SUPPORTED"
        assert "data" in with_text(c, COUNT).json()  # still answered, not stored
        assert code_of(by_hash(c, COUNT)) == "PERSISTED_QUERY_NOT_SUPPORTED"


@pytest.fixture
def allow_list(settings: Settings, admin_key: str) -> Iterator[TestClient]:
    """A server that runs registered documents only (PARTNERBOOK_PERSISTED_ONLY)."""
    strict = settings.model_copy(update={"persisted_only": True})
    with TestClient(create_app(strict), headers={"Authorization": f"Bearer {admin_key}"}) as c:
        yield c


def test_the_allow_list_refuses_a_document_not_registered(
    allow_list: TestClient, db: Database
) -> None:
    refused = allow_list.post(
        "/graphql", json={"query": COUNT}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert refused.status_code == 403
    assert code_of(refused) == "PERSISTED_QUERY_NOT_REGISTERED"
    assert code_of(with_text(allow_list, COUNT)) == "PERSISTED_QUERY_NOT_REGISTERED"
    assert code_of(by_hash(allow_list, COUNT)) == "PERSISTED_QUERY_NOT_FOUND"
    assert code_of(allow_list.post("/graphql", json={"query": CREATE})) == (
        "PERSISTED_QUERY_NOT_REGISTERED"
    )
    assert event_count(db) == 0


def test_the_allow_list_runs_registered_documents(allow_list: TestClient, db: Database) -> None:
    with_text(allow_list, COUNT)  # refused: being sent does not register it
    persisted_documents.register(db.conninfo(), [COUNT])
    expected = {"data": {"partners": {"totalCount": 0}}}
    assert allow_list.post("/graphql", json={"query": COUNT}).json() == expected
    assert by_hash(allow_list, COUNT).json() == expected
    assert get_by_hash(allow_list, COUNT).json() == expected


def test_a_document_with_literal_text_runs_but_is_not_stored(client: TestClient) -> None:
    """A value written into the document may be personal data that an erasure could not
    reach in the store: such a document is answered and never kept (values in variables
    are kept out of it)."""
    named = 'query Named { partners(search: "Ann Lee", first: 5) { totalCount } }'
    assert with_text(client, named).json() == {"data": {"partners": {"totalCount": 0}}}
    assert code_of(by_hash(client, named)) == "PERSISTED_QUERY_NOT_FOUND"

    described = 'query Desc($s: String = """Ann""") { partners(search: $s) { totalCount } }'
    with_text(client, described)
    assert code_of(by_hash(client, described)) == "PERSISTED_QUERY_NOT_FOUND"

    commented = "# looking for Ann Lee, ann.lee@example.org\n" + COUNT
    with_text(client, commented)
    assert code_of(by_hash(client, commented)) == "PERSISTED_QUERY_NOT_FOUND"

    with_text(client, COUNT)  # no literal text: stored as before
    assert by_hash(client, COUNT).json() == {"data": {"partners": {"totalCount": 0}}}
