"""One API key replays at most PARTNERBOOK_REPLAYS_PER_KEY subscriptions at once. Each
subscription given `after` replays the log in batches of 500 rows with their records
before it goes live; one viewer's 8 connections of 100 replays each (every limit kept)
held ~850 MB in the server and the read pool with them (an audit's finding). Now the
key's other replays wait their turn, holding nothing, and then replay in full.

Made deterministic with a lock: ACCESS EXCLUSIVE on activities (which the feed joins)
holds the replays that have their turn on their first batch."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.schema.live.cursors import encode_cursor
from app.settings import Settings
from tests.e2e.ws_client import websocket
from tests.security.conftest import Live
from tests.security.locks import GUARD, gauge, locked, waiting_on_lock
from tests.security.test_one_connection import seed

REPLAY = (
    f'subscription {{ partnerChanged(after: "{encode_cursor(0)}") {{ cursor eventType'
    " partner { id name } } }"
)
TURNS = 2
REPLAYS = 6


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"replays_per_key": TURNS, "statement_timeout": 0.0})


def _replaying(live: Live) -> int:
    """The replays that have their turn: their reads of the feed wait on the lock."""
    return waiting_on_lock(live, "FROM timeline t")


def test_one_key_replays_a_few_subscriptions_at_once_and_every_one_in_full(live: Live) -> None:
    seed(live, contacts=3)
    events = 4  # the company and its contacts

    async def run() -> tuple[int, float, list[int]]:
        async with websocket(live.base, key=live.keys["viewer"]) as sub:
            with locked(live, "activities"):
                ids = [await sub.subscribe(REPLAY) for _ in range(REPLAYS)]
                deadline = time.monotonic() + GUARD
                # Progress: every replay started, TURNS of them reading, the rest waiting
                # (or, without turns, more than TURNS reading).
                while not (
                    await asyncio.to_thread(_replaying, live) > TURNS
                    or (
                        await asyncio.to_thread(_replaying, live) == TURNS
                        and await asyncio.to_thread(gauge, live, "partnerbook_replays_waiting")
                        == REPLAYS - TURNS
                    )
                ):
                    assert time.monotonic() < deadline, "the replays never all started"
                    await asyncio.sleep(0.02)
                reading = await asyncio.to_thread(_replaying, live)
                waiting = await asyncio.to_thread(gauge, live, "partnerbook_replays_waiting")
            received = dict.fromkeys(ids, 0)
            while sum(received.values()) < REPLAYS * events:
                async with asyncio.timeout(GUARD):
                    message = json.loads(await sub.ws.recv())
                if message.get("type") == "next":
                    assert not message["payload"].get("errors"), message
                    received[message["id"]] += 1
            return reading, waiting, list(received.values())

    reading, waiting, received = asyncio.run(run())
    assert reading == TURNS
    assert waiting == REPLAYS - TURNS
    assert received == [events] * REPLAYS
