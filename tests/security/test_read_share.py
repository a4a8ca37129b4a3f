"""One API key cannot hold every connection of the read pool. A request of 30 cheap
aliases (each a statement, cost 30: not the heavy lane's) ran them all at once, and a
few such requests from one viewer queued every other client's read behind them: a plain
`partner(id)` of another key went from 18 ms to 10 s, or 503 DATABASE_UNAVAILABLE once
the pool's timeout passed (an audit's finding). Now the reads of one key hold at most
PARTNERBOOK_READ_SHARE_PER_KEY connections of a process's pool at a time (half the pool
by default); the rest of the key's statements wait for its share, and answer BUSY if
they wait past the pool's timeout.

Made deterministic with a lock: another connection holds ACCESS EXCLUSIVE on the
activities table, so every statement of the attack waits on it, holding its pooled
connection, while the other key's read (of partners) needs none of it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest

from app.settings import Settings
from tests.security.conftest import Live
from tests.security.locks import GUARD, gauge, locked, waiting_on_lock

POOL = 4
SHARE = 2
ALIASES = 20
ATTACK = (
    "{ "
    + " ".join(f"a{i}: activities(first: 1) {{ nodes {{ id }} }}" for i in range(ALIASES))
    + " }"
)
PROBE = "{ partners(first: 1) { nodes { id name } } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "db_pool_size": POOL,
            "read_share_per_key": SHARE,
            "pool_timeout": 10.0,  # a generous wait: the share, not the timeout, decides
            "statement_timeout": 0.0,
        }
    )


def _reads_waiting(live: Live) -> int:
    """The attack's statements, waiting on the lock."""
    return waiting_on_lock(live, "activities")


def _share_waits(live: Live) -> float:
    return gauge(live, "partnerbook_read_share_waiting")


def test_one_key_cannot_hold_the_whole_read_pool(live: Live) -> None:
    live.data("""mutation { createPartner(input: {kind: COMPANY, name: "Harbour Lights"}) {
      partner { id } } }""")
    with ThreadPoolExecutor(2) as threads, httpx.Client(timeout=GUARD) as attacker:
        with locked(live, "activities"):
            attacks = [
                threads.submit(live.post, ATTACK, role="viewer", client=attacker) for _ in range(2)
            ]
            deadline = time.monotonic() + GUARD
            # Progress: the key holds its share and every other statement of the attack
            # waits for it (the gauge), so nothing more of it is coming; or (without
            # shares) the attack holds the whole pool.
            while not (
                _reads_waiting(live) >= POOL
                or (_reads_waiting(live) >= SHARE and _share_waits(live) >= 2 * ALIASES - SHARE)
            ):
                assert time.monotonic() < deadline, "the attack's reads never all started"
                time.sleep(0.02)
            probe = live.post(PROBE, role="admin")
            held = _reads_waiting(live)
            # Answered while the attack still waits on the lock (it did not have to fail
            # first and give its connections back).
            assert not any(a.done() for a in attacks)
        answers = [a.result().json() for a in attacks]  # the lock is gone: they finish

    body = probe.json()
    assert body.get("errors") is None, body
    assert body["data"]["partners"]["nodes"][0]["name"] == "Harbour Lights"
    assert held <= SHARE, f"one key held {held} of the pool's {POOL} connections"
    for answer in answers:
        codes = {e["extensions"]["code"] for e in answer.get("errors") or []}
        assert codes <= {"BUSY"}, answer
        answered = [k for k, v in (answer.get("data") or {}).items() if v is not None]
        assert len(answered) + len(answer.get("errors") or []) == ALIASES, answer
