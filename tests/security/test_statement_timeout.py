"""A read that runs past PARTNERBOOK_STATEMENT_TIMEOUT is stopped and answered TIMEOUT;
requests that do not need it are answered as usual, and the projector (which has no such
limit) is not cancelled. The read is made slow deterministically: another connection holds
an ACCESS EXCLUSIVE lock on the partners table, so the read waits for it."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
import psycopg
import pytest

from app.settings import Settings
from tests.e2e.ws_client import websocket
from tests.security.conftest import Live

PARTNERS = "{ partners(first: 5) { totalCount edges { node { id name } } } }"
UNRELATED = "{ tags(first: 5) { edges { node { id } } } }"
CREATE = """mutation($name: String!) {
  createPartner(input: {kind: COMPANY, name: $name}) { partner { id name } userErrors { code } }
}"""
TIMEOUT = 0.5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"statement_timeout": TIMEOUT})


@contextmanager
def partners_locked(live: Live) -> Iterator[None]:
    with psycopg.connect(live.db.conninfo()) as locker:
        locker.execute("LOCK TABLE partners IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            locker.rollback()


def test_a_read_past_the_statement_timeout_answers_timeout(live: Live) -> None:
    live.data(CREATE, {"name": "Before Lock Co"})
    assert live.data(PARTNERS, role="viewer")["partners"]["totalCount"] == 1
    alone = live.median_time(UNRELATED, role="viewer")
    with partners_locked(live), ThreadPoolExecutor(1) as pool, httpx.Client(timeout=60) as other:
        blocked = pool.submit(live.post, PARTNERS, role="viewer", client=other)
        time.sleep(0.05)  # the blocked read is waiting for the lock
        during = statistics.median(live.timed(UNRELATED, role="viewer") for _ in range(5))
        response = blocked.result()
    body = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT", body
    request_id = error["extensions"]["requestId"]
    assert request_id == response.headers["x-request-id"]
    assert request_id in error["message"]
    assert "canceling statement" not in error["message"]
    assert during < max(10 * alone, alone + 0.5), (during, alone)
    # Once the lock is gone, the same read is answered again.
    assert live.data(PARTNERS, role="viewer")["partners"]["totalCount"] == 1


def test_the_projector_outlasts_the_statement_timeout(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """A projector batch waits for the lock longer than a read may; it is not cancelled,
    so the change made meanwhile is projected as soon as the lock goes."""
    live.data(CREATE, {"name": "Warm Up Co"})
    with caplog.at_level(logging.INFO):
        with ThreadPoolExecutor(1) as pool:
            with partners_locked(live):
                created = pool.submit(live.data, CREATE, {"name": "During Lock Co"}, role="editor")
                time.sleep(3 * TIMEOUT)
            assert created.result()["createPartner"]["userErrors"] == []
        names = {e["node"]["name"] for e in live.data(PARTNERS, role="viewer")["partners"]["edges"]}
    assert names == {"Warm Up Co", "During Lock Co"}
    projector = [r for r in caplog.records if "project" in r.name and r.levelno >= logging.WARNING]
    assert projector == [], [r.getMessage() for r in projector]


def test_a_read_over_websocket_past_the_timeout_answers_timeout(live: Live) -> None:
    """graphql-transport-ws runs queries too; its answer is masked the same way."""

    async def read_over_websocket() -> dict[str, Any]:
        async with websocket(live.base, key=live.keys["viewer"]) as session:
            await session.subscribe(PARTNERS)
            while True:
                async with asyncio.timeout(30):
                    message: dict[str, Any] = json.loads(await session.ws.recv())
                if message["type"] in ("next", "error"):
                    return message

    with partners_locked(live):
        message = asyncio.run(read_over_websocket())
    payload = message["payload"]
    errors = payload["errors"] if isinstance(payload, dict) else payload
    assert [e["extensions"]["code"] for e in errors] == ["TIMEOUT"], message
    assert "canceling statement" not in json.dumps(message)


def test_reads_are_never_jit_compiled(client: Any) -> None:
    """A read connection runs without JIT: a facets statement whose estimated cost passed
    PostgreSQL's thresholds (tables without statistics) spent 2.5 s compiling on 15."""

    async def settings_of_a_read_connection() -> tuple[str, str]:
        runtime = client.app.state.runtime
        async with runtime.pool.connection() as conn:
            jit = await (await conn.execute("SHOW jit")).fetchone()
            timeout = await (await conn.execute("SHOW statement_timeout")).fetchone()
        return str(jit[0]), str(timeout[0])

    jit, timeout = client.portal.call(settings_of_a_read_connection)
    assert jit == "off" and timeout != "0"
