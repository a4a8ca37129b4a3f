"""Fuzzing the GraphQL API with schemathesis: queries and mutations generated from the
schema (schema.graphql) sent to the ASGI app over a real database. No answer may be a
5xx, break the GraphQL response shape, or hide a bug as "Internal error".

Bounded for CI: PARTNERBOOK_FUZZ_EXAMPLES examples per operation (default 50, ~1.5 min on 2 cores); for a
longer run: `make fuzz` (300 per operation) or `make fuzz-long` (2,000)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from starlette.testclient import TestClient

from app.infra import api_keys, database
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings

EXAMPLES = int(os.environ.get("PARTNERBOOK_FUZZ_EXAMPLES", "50"))
SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
        st.text(max_size=30),
    ).map(nodes.String),
)
# Strings in full Unicode: astral characters, NUL and lone surrogates too (schemathesis
# leaves out surrogates and stops at U+FFFF), sent as JSON escapes the way any client can.
schemathesis.graphql.scalar(
    "String",
    st.text(
        st.one_of(
            st.characters(codec=None, min_codepoint=0),
            st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]),
        ),
        max_size=40,
    ).map(nodes.String),
)
schema = schemathesis.graphql.from_file(SDL)


@pytest.fixture(scope="module")
def fuzz_client(server: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app and database for the whole run: state built by earlier examples (ids,
    names) makes later ones reach deeper."""
    name = f"pb_fuzz_{uuid.uuid4().hex[:12]}"
    db = database.create_database(server, name)
    database.prepare(db, 5)
    settings_ = Settings(
        database_url=db.dsn,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        read_your_writes_timeout=10,
    )
    key = api_keys.create_key(db.conninfo(), "fuzz-admin", "admin")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with TestClient(
            create_app(settings_), raise_server_exceptions=False, headers=headers
        ) as client:
            yield client
            # Nothing accepted may stop the projector (a poison event): it caught up.
            last = _last_position(db)
            # Stuck means no progress for 30 s (it retries a failing batch every 5 s),
            # not "slower than 30 s in all": a loaded machine is slow, not stuck.
            position, deadline = -1, 0.0
            while (now := client.get("/healthz").json()["projectedPosition"]) < last:
                if now > position:
                    position, deadline = now, time.monotonic() + 30
                assert time.monotonic() < deadline, "the projector is stuck behind the log"
                time.sleep(0.1)
    finally:
        database.drop_database(server, name)


def _last_position(db: Database) -> int:
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT max(notification_id) FROM partnerbook_events").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@pytest.fixture(scope="module")
def auth_headers() -> dict[str, str]:
    """Headers a request carries besides the client's (which sends an admin key, so the
    fuzzing reaches every operation)."""
    return {}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_breaks_the_api(
    case: Any, fuzz_client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = fuzz_client.post(
        "/graphql",
        content=json.dumps(
            {"query": case.body}
        ),  # ASCII JSON: a lone surrogate travels as its escape
        headers={"Content-Type": "application/json", **auth_headers},
    )
    assert response.status_code < 500, (case.body, response.text)
    assert response.status_code in (200, 400), (case.body, response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) <= {"data", "errors", "extensions"}, body
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        assert isinstance(error, dict) and isinstance(error.get("message"), str), error
        assert not error["message"].startswith("Internal error"), (case.body, error)
        assert (error.get("extensions") or {}).get("code"), (case.body, error)
    if body.get("data") is None:  # a request refused before execution says why
        assert body.get("errors"), body
    else:
        assert isinstance(body["data"], dict), body
