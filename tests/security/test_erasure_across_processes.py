"""Erasure reaches every process at once: a process that read a person's past (and so
cached the data key) answers `partnerAsOf` with nothing personal right after another
process erased the person; two app instances, two `serve` processes, `serve --workers 2`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from eventsourcing.postgres import PostgresDatastore

from app.application import Partnerbook
from app.infra import api_keys
from app.infra.database import Database
from app.infra.notices import NoticeListener
from app.infra.shredding.keys import KeyStore
from app.settings import Settings
from tests.security.instances import ANONYMIZE, AS_OF, PERSON, instance, serve_process

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
    key = api_keys.create_key(db.conninfo(), "eraser", "admin")
    env = {"PARTNERBOOK_DATABASE_URL": db.url}
    with serve_process(env, tmp_path) as (a, _), serve_process(env, tmp_path) as (b, _):

        def post(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
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


def test_with_two_workers_no_request_after_an_erasure_sees_the_old_values(
    tmp_path: Path, embedded_home: Path
) -> None:
    """Each worker has its own cache; a request goes to either. Before the erasure, both
    have read the person's past (16 requests over fresh connections); right after it,
    none of 16 may show an old value (before, 6 of 10 did, minutes later)."""
    env = {"PARTNERBOOK_DATABASE_URL": "", "PARTNERBOOK_DATA_DIR": str(embedded_home)}
    with serve_process(env, tmp_path, workers=2) as (base, output):
        key = next(w for line in output for w in line.split() if w.startswith("pb_"))

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
