"""One API key cannot hold every thread that runs commands. A process runs its event-store
calls (mutations) on PARTNERBOOK_COMMAND_THREADS threads, first come, first served: an
editor sending that many slow mutations at once (a bulk edit of many partners, a commit
stuck behind a lock) queued every other client's mutations behind them, a plain
`createTag` of another key included. Now the commands of one key run on at most
PARTNERBOOK_COMMAND_SHARE_PER_KEY threads at a time (half of them by default); its other
commands wait for its share, holding no thread, and run in their turn.

Made deterministic by holding the attack's commands: `create_tag` of a tag named
"hold-…" waits, on its thread, until the test lets it go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import pytest

from app.application import Partnerbook
from app.settings import Settings
from tests.security.conftest import Live
from tests.security.locks import GUARD, gauge

THREADS = 4
SHARE = 2
TAG = 'mutation { createTag(input: {name: "%s"}) { tag { name } userErrors { code } } }'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"command_threads": THREADS, "command_share_per_key": SHARE})


class Held:
    """`create_tag` of "hold-…" tags waits until `release`; `running` counts those on a
    thread now."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.running = 0
        self._lock = threading.Lock()
        original: Callable[..., Any] = Partnerbook.create_tag

        def create_tag(app: Partnerbook, values: Any, *args: Any, **kwargs: Any) -> Any:
            if str(values.get("name")).startswith("hold-"):
                with self._lock:
                    self.running += 1
                try:
                    assert self.release.wait(GUARD)
                finally:
                    with self._lock:
                        self.running -= 1
            return original(app, values, *args, **kwargs)

        monkeypatch.setattr(Partnerbook, "create_tag", create_tag)


def test_one_key_cannot_hold_every_command_thread(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held(monkeypatch)
    with ThreadPoolExecutor(THREADS) as threads, httpx.Client(timeout=GUARD) as attacker:
        try:
            attacks = [
                threads.submit(live.post, TAG % f"hold-{i}", role="editor", client=attacker)
                for i in range(THREADS)
            ]
            deadline = time.monotonic() + GUARD
            # Progress: the key runs its share and its other commands wait for it (the
            # gauge), so nothing more of the attack is coming; or (without shares) the
            # attack holds every thread.
            while not (
                held.running >= THREADS
                or (
                    held.running >= SHARE
                    and gauge(live, "partnerbook_command_share_waiting") >= THREADS - SHARE
                )
            ):
                assert time.monotonic() < deadline, "the attack's commands never all started"
                time.sleep(0.02)
            running = held.running
            probe = live.post(TAG % "Gold", role="admin")
            # Answered while the attack is still held (it did not have to finish first).
            assert not any(a.done() for a in attacks)
        finally:
            held.release.set()
        answers = [a.result().json() for a in attacks]

    assert running <= SHARE, f"one key ran {running} of the {THREADS} command threads"
    body = probe.json()
    assert body.get("errors") is None, body
    assert body["data"]["createTag"]["tag"]["name"] == "Gold"
    for answer in answers:  # waited their turn; none refused
        assert answer.get("errors") is None, answer
        assert answer["data"]["createTag"]["userErrors"] == [], answer
