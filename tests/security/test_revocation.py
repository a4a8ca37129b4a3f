"""API keys: a revocation is refused by every process from the next request on and
closes the key's WebSockets (4401) at once; an expired key is refused from its cached
row; a flood of unknown or malformed keys neither evicts a good key from the cache nor,
when malformed, reaches the database. The look-up cache is set to 300 s in these tests:
nothing here may wait for it."""

from __future__ import annotations

import asyncio
import random
import secrets
import string
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from app.cli import cli
from app.infra import api_keys
from app.infra.database import Database
from app.settings import Settings
from tests.e2e.ws_client import Subscription, websocket
from tests.security.instances import instance, serve_process

LIST = "{ partners(first: 1) { totalCount } }"
SUBSCRIBE = "subscription { partnerChanged { partner { id } } }"
CACHED = {"key_cache_seconds": 300}


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def _post(base: str, key: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": LIST},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    body: dict[str, Any] = response.json()
    return body


async def _closed_with(ws: Subscription, within: float) -> int | None:
    """The close code the server sends within `within` seconds (keep-alives skipped)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def test_keys_revoke_then_a_request_through_another_process_is_refused(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`partnerbook keys revoke` (this process) answers once the server process dropped
    the key: the request sent right after it is refused, and the open WebSocket closes
    with 4401 (its cached look-up would have lasted 300 s)."""
    key = api_keys.create_key(db.conninfo(), "leaving", "viewer")
    env = {"PARTNERBOOK_DATABASE_URL": db.url, "PARTNERBOOK_KEY_CACHE_SECONDS": "300"}
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", db.url)
    with serve_process(env, tmp_path) as (base, _):
        assert _code(_post(base, key)) is None  # looked up and cached

        async def scenario() -> tuple[str | None, float, int | None]:
            async with websocket(base, key=key) as ws:
                await ws.subscribe(SUBSCRIBE)
                result = await asyncio.to_thread(
                    CliRunner().invoke, cli, ["keys", "revoke", "leaving"]
                )
                assert result.exit_code == 0, result.output
                revoked = time.monotonic()
                code = _code(await asyncio.to_thread(_post, base, key))
                sent_after = time.monotonic() - revoked
                return code, sent_after, await _closed_with(ws, within=30)

        code, sent_after, closed = asyncio.run(scenario())
    assert code == "UNAUTHENTICATED"
    assert closed == 4401
    del sent_after  # the request left at once; its answer, not its timing, is the point


def test_a_revocation_reaches_an_instance_that_cached_the_key(
    db: Database, settings: Settings
) -> None:
    """Two instances: the key is cached in both; revoked (the api_keys function) while
    one instance holds a WebSocket; the other refuses the next request, the socket closes."""
    key = api_keys.create_key(db.conninfo(), "two-places", "editor")
    with (
        instance(settings.model_copy(update=CACHED)) as a,
        instance(settings.model_copy(update=CACHED)) as b,
    ):
        assert _code(_post(a.base, key)) is None and _code(_post(b.base, key)) is None

        async def scenario() -> tuple[str | None, str | None, int | None]:
            async with websocket(a.base, key=key) as ws:
                await ws.subscribe(SUBSCRIBE)
                await asyncio.to_thread(api_keys.revoke_key, db.conninfo(), "two-places")
                on_b = _code(await asyncio.to_thread(_post, b.base, key))
                on_a = _code(await asyncio.to_thread(_post, a.base, key))
                return on_a, on_b, await _closed_with(ws, within=30)

        assert asyncio.run(scenario()) == ("UNAUTHENTICATED", "UNAUTHENTICATED", 4401)


def test_an_expired_key_is_refused_from_its_cached_row_and_its_socket_closed(
    db: Database, settings: Settings
) -> None:
    """A key used (and so cached) and a WebSocket opened with it shortly before it
    expires: at its expiry the socket closes with 4401 and the next request is refused,
    from the cached row. (The expiry is a few seconds ahead; on a machine too slow to
    use the key before, the test tries again with a longer one.)"""
    with instance(settings.model_copy(update=CACHED)) as app:
        keys = app.runtime.services.keys
        assert keys is not None

        async def scenario(key: str) -> int | None:
            """The close code, or None when the key expired before it was used."""
            if _code(await asyncio.to_thread(_post, app.base, key)) is not None:
                return None
            try:
                async with websocket(app.base, key=key) as ws:
                    await ws.subscribe(SUBSCRIBE)
                    return await _closed_with(ws, within=120)
            except (AssertionError, ConnectionClosed):
                return None

        for seconds in (3, 6, 12, 24, 48):
            name = f"short-lived-{seconds}"
            key = api_keys.create_key(db.conninfo(), name, "viewer")
            with psycopg.connect(db.conninfo(), autocommit=True) as conn:
                conn.execute(
                    "UPDATE api_keys SET expires_at = now() + make_interval(secs => %s) "
                    "WHERE name = %s",
                    (seconds, name),
                )
            lookups = keys.lookups
            closed = asyncio.run(scenario(key))
            if closed is not None:
                break
        assert closed == 4401  # at its expiry
        assert _code(_post(app.base, key)) == "UNAUTHENTICATED"
        # Refused by the clock, from the row cached before: no look-up was needed.
        assert keys.lookups == lookups + 1


_PRINTABLE = string.ascii_letters + string.digits + string.punctuation
"""What a header carries (no control characters, which the HTTP client refuses)."""


def _malformed(rng: random.Random) -> str:
    well = f"pb_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
    match rng.randrange(6):
        case 0:
            return "pk" + well[2:]  # another prefix
        case 1:
            return well[: rng.randrange(len(well))]  # too short
        case 2:
            return well + rng.choice(string.ascii_letters)  # too long
        case 3:
            return well[:3] + "ZZZZZZZZZZZZ" + well[15:]  # not hex
        case 4:
            return well[:-1] + rng.choice("!.~+/=")  # outside the alphabet
        case _:
            return "".join(rng.choice(_PRINTABLE) for _ in range(rng.randrange(1, 80)))


def test_a_flood_of_bad_keys_neither_evicts_a_good_one_nor_queries_for_malformed_ones(
    db: Database, settings: Settings
) -> None:
    good = api_keys.create_key(db.conninfo(), "steady", "viewer")
    rng = random.Random(16)
    with instance(settings.model_copy(update=CACHED)) as app:
        keys = app.runtime.services.keys
        assert keys is not None
        assert _code(_post(app.base, good)) is None
        before = keys.lookups

        # Over HTTP, as an attacker sends them: malformed keys never reach the database.
        for _ in range(200):
            assert _code(_post(app.base, _malformed(rng))) == "UNAUTHENTICATED"
        assert keys.lookups == before

        # Then 50,000 at the server's look-up (HTTP would only make the test slow):
        # 38,000 malformed, 12,000 well formed and unknown (more than the old cache held).
        unknown = [f"pb_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}" for _ in range(12_000)]
        flood = [_malformed(rng) for _ in range(38_000)] + unknown
        rng.shuffle(flood)

        async def send() -> list[object]:
            answers: list[object] = []
            for start in range(0, len(flood), 16):  # as 16 clients would send them
                batch = flood[start : start + 16]
                answers += await asyncio.gather(*(keys.authenticate(k) for k in batch))
            return answers

        assert set(app.call(send())) == {None}
        assert keys.lookups == before + len(unknown)  # one indexed query per unknown key
        after = keys.lookups
        assert _code(_post(app.base, good)) is None
        assert keys.lookups == after  # the good key is still cached


def test_a_revocation_missed_while_reconnecting_closes_the_socket_once_reconnected(
    db: Database, settings: Settings
) -> None:
    """The key is revoked behind the server's back (no notice) while its LISTEN
    connection is cut: once it listens again it checks its sockets' keys and closes
    them (4401), and trusts no look-up it cached before."""
    key = api_keys.create_key(db.conninfo(), "missed", "viewer")
    with instance(settings.model_copy(update=CACHED)) as app:
        assert _code(_post(app.base, key)) is None
        listener = app.runtime.listener
        assert listener is not None

        async def scenario() -> int | None:
            async with websocket(app.base, key=key) as ws:
                await ws.subscribe(SUBSCRIBE)
                with psycopg.connect(db.conninfo(), autocommit=True) as conn:
                    conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = 'missed'")
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        (listener.name,),
                    )
                return await _closed_with(ws, within=60)

        assert asyncio.run(scenario()) == 4401
        assert _code(_post(app.base, key)) == "UNAUTHENTICATED"
