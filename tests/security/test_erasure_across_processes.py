"""Erasure reaches every process at once: a process that read a person's past (and so
cached the data key) answers `partnerAsOf` with nothing personal right after another
process erased the person; two app instances, two `serve` processes, `serve --workers 2`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from eventsourcing.postgres import PostgresDatastore

from app.application import Partnerbook
from app.database import Database
from app.notices import NoticeListener
from app.projections import api_keys
from app.settings import Settings
from app.shredding.keys import KeyStore
from tests.e2e.test_server import serving
from tests.e2e.ws_client import KEYS
from tests.security.instances import ANONYMIZE, AS_OF, PERSON, free_port, instance

OLD = {
    "name": "Zelda Quixotic-Marsh",
    "email": "zelda.qm@example.org",
    "phone": "+32470123456",
    "address": {"street": "Rue des Hirondelles 17"},
}


def shows_nothing_old(partner: dict[str, Any]) -> bool:
    """No personal value of the person, only null or a placeholder (the name's)."""
    text = json.dumps(partner)
    return partner["email"] is None and not any(
        value in text for value in ("Zelda", "zelda", "470123456", "Hirondelles")
    )


def _create(post: Any) -> str:
    variables = {k: OLD[k] for k in ("name", "email", "phone")}
    created = post(PERSON, variables)["createPartner"]
    assert created["userErrors"] == []
    person_id: str = created["partner"]["id"]
    return person_id


def test_an_erasure_through_one_instance_is_seen_by_the_other_at_once(
    db: Database, settings: Settings
) -> None:
    key = api_keys.create_key(db.conninfo(), "eraser", "admin")
    with instance(settings) as a, instance(settings) as b:
        person = _create(lambda q, v: a.data(q, v, key))
        assert b.data(AS_OF, {"id": person}, key)["partnerAsOf"] == OLD  # b caches the key
        erased = a.data(ANONYMIZE, {"id": person}, key)["anonymizePartner"]
        assert erased["userErrors"] == []
        assert shows_nothing_old(b.data(AS_OF, {"id": person}, key)["partnerAsOf"])


def test_an_erasure_through_one_serve_process_is_seen_by_the_other_at_once(
    db: Database, tmp_path: Path
) -> None:
    env = {"PARTNERBOOK_DATABASE_URL": db.url}
    with serving(env, tmp_path) as a, serving(env, tmp_path) as b:

        def post(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {KEYS[a]}"},
                timeout=60,
            )
            body: dict[str, Any] = response.json()
            assert not body.get("errors"), body
            data: dict[str, Any] = body["data"]
            return data

        person = _create(lambda q, v: post(a, q, v))
        assert post(b, AS_OF, {"id": person})["partnerAsOf"] == OLD
        assert post(a, ANONYMIZE, {"id": person})["anonymizePartner"]["userErrors"] == []
        assert shows_nothing_old(post(b, AS_OF, {"id": person})["partnerAsOf"])


@contextmanager
def _workers(tmp_path: Path, count: int) -> Iterator[tuple[str, str]]:
    """`serve --workers COUNT` on an embedded database: (base URL, the admin key)."""
    port = free_port()
    env = {
        **os.environ,
        "PARTNERBOOK_DATABASE_URL": "",
        "PARTNERBOOK_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(count)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 180  # first start: initdb, then two workers
        while len(pids) < count:
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, f"workers seen: {pids}"
            try:
                with ThreadPoolExecutor(8) as pool:
                    pids |= set(pool.map(_pid, [base] * 16))
            except (httpx.TransportError, ValueError, KeyError):
                time.sleep(0.3)
        printed = [line.strip() for line in output if line.strip().startswith("pb_")]
        assert printed, "".join(output)
        yield base, printed[0]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)


def _pid(base: str) -> int:
    with httpx.Client(timeout=5) as client:  # a fresh connection: either worker may take it
        return int(client.get(f"{base}/healthz").json()["pid"])


def test_with_two_workers_no_request_after_an_erasure_sees_the_old_values(
    tmp_path: Path,
) -> None:
    """Each worker has its own cache; a request goes to either. Before the erasure, both
    have read the person's past (16 requests over fresh connections); right after it,
    none of 16 may show an old value (before, 6 of 10 did, minutes later)."""
    with _workers(tmp_path, 2) as (base, key):

        def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            with httpx.Client(timeout=60) as client:
                response = client.post(
                    f"{base}/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {key}"},
                )
            body: dict[str, Any] = response.json()
            assert not body.get("errors"), body
            data: dict[str, Any] = body["data"]
            return data

        person = _create(post)
        with ThreadPoolExecutor(8) as pool:
            before = list(pool.map(lambda _: post(AS_OF, {"id": person}), range(16)))
        assert all(b["partnerAsOf"] == OLD for b in before)
        assert post(ANONYMIZE, {"id": person})["anonymizePartner"]["userErrors"] == []
        with ThreadPoolExecutor(8) as pool:
            after = list(pool.map(lambda _: post(AS_OF, {"id": person}), range(16)))
        assert [shows_nothing_old(a["partnerAsOf"]) for a in after] == [True] * 16


def test_a_key_read_before_the_erasure_and_kept_after_its_notice_is_not_cached(
    db: Database,
) -> None:
    """The race: B reads the key, A erases it and B handles the notice, then B would
    cache what it read. B uses it for the read already under way, but keeps nothing."""
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        assert app.keys is not None
        datastore: PostgresDatastore = app.keys.datastore
        person = uuid.uuid4()
        app.keys.ensure([person])
        b = KeyStore(datastore)  # another process: nothing cached yet
        real = datastore.transaction

        @contextmanager
        def erased_meanwhile(*, commit: bool = False) -> Iterator[Any]:
            with real(commit=commit) as curs:
                yield curs
            assert app.keys is not None
            app.keys.erase(person)
            b.forget(person)  # the notice, handled before B keeps what it read

        datastore.transaction = erased_meanwhile  # type: ignore[method-assign]
        assert b.cipher(person, create=False) is not None  # read before the erasure
        datastore.transaction = real  # type: ignore[method-assign]
        # Had B kept the key it read, this would still decrypt the person's past.
        assert b.cipher(person, create=False) is None
    finally:
        app.close()


def test_while_its_listener_is_down_a_process_reads_the_key_table_on_every_use(
    db: Database,
) -> None:
    """A notice sent while a process's LISTEN connection is down never reaches it: from
    the moment the connection is lost until it listens again, its cache keeps nothing."""
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    try:
        assert app.keys is not None
        datastore: PostgresDatastore = app.keys.datastore
        person = uuid.uuid4()
        app.keys.ensure([person])
        listener = NoticeListener(db.conninfo())  # not started: its hooks are run here
        b = KeyStore(datastore)
        b.follow(listener)
        asyncio.run(_run_all(listener.when_connected_hooks))
        assert b.cipher(person, create=False) is not None  # cached while listening
        asyncio.run(_run_all(listener.when_lost_hooks))
        with datastore.transaction(commit=True) as curs:  # erased; the notice is missed
            curs.execute(
                "UPDATE partner_keys SET key = NULL, erased_at = now() WHERE partner_id = %s",
                (person,),
            )
        assert b.cipher(person, create=False) is None
    finally:
        app.close()


async def _run_all(hooks: list[Any]) -> None:
    for hook in hooks:
        result = hook()
        if result is not None:
            await result
