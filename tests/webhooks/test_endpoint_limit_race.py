"""PARTNERBOOK_MAX_WEBHOOK_ENDPOINTS holds when admins create endpoints at once, on two
processes. The limit was a count of the endpoints, then a create: 41 creates sent
together at 93 endpoints left 133 (an audit's finding), and each event fans out to every
endpoint. Now a create counts and records under a lock that every process takes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import psycopg

from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.security.instances import instance
from tests.webhooks.conftest import CREATE_ENDPOINT, FAST

LIMIT = 3
CREATES = 12


def test_concurrent_creates_on_two_processes_keep_the_endpoint_limit(
    db: Database, settings: Settings
) -> None:
    key = api_keys.create_key(db.conninfo(), "race-admin", "admin")
    limited = settings.model_copy(update={**FAST, "max_webhook_endpoints": LIMIT})
    headers = {"Authorization": f"Bearer {key}"}

    def create(base: str, n: int) -> dict[str, Any]:
        variables = {"input": {"url": f"https://hooks.example.com/{n}"}}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            body = http.post("/graphql", json={"query": CREATE_ENDPOINT, "variables": variables})
        answer: dict[str, Any] = body.json()["data"]["createWebhookEndpoint"]
        return answer

    with instance(limited) as one, instance(limited) as two, ThreadPoolExecutor(CREATES) as pool:
        bases = [one.base, two.base]
        answers = list(pool.map(lambda n: create(bases[n % 2], n), range(CREATES)))
    created = [a for a in answers if a["endpoint"] is not None]
    refused = [a for a in answers if a["userErrors"]]
    assert len(created) == LIMIT, answers
    assert len(refused) == CREATES - LIMIT
    assert {e["code"] for a in refused for e in a["userErrors"]} == {"VALIDATION"}
    with psycopg.connect(db.conninfo()) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_endpoints").fetchone()
    assert row == (LIMIT,)
