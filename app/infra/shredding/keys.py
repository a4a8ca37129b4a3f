"""The `partner_keys` table: one AES-256 data key per partner, outside the event log.

Erasing a partner's data replaces its key by a tombstone (key NULL, erased_at set): the
key's bytes are gone from the database, and no new key can ever be made for that partner
(nothing written later could be readable again under a fresh key).

Every process caches keys; an erasure is published (app/infra/notices.py) in the transaction
that deletes the key, and answers once every listening process dropped it. A process that
follows notices trusts its cache only while its LISTEN connection is up, and never caches
a key read while an erasure was being handled (the epoch): a read that began before the
deletion and ended after the notice cannot leave the old key behind."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from app.infra import notices

KEY_BYTES = 32
"""AES-256."""
_ERASED = object()


class KeyStore:
    """Data keys by partner id, with an LRU cache of ready ciphers (and of tombstones).

    Without `follow` (a CLI command) the cache is trusted for the process's life."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        table_name: str = "partner_keys",
        cache_size: int = 20_000,
    ) -> None:
        self.datastore = datastore
        self.table = Identifier(datastore.schema, table_name)
        self.cache_size = cache_size
        self._cache: OrderedDict[UUID, object] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0
        """Bumped by every erasure notice and connection change: a key read across a bump
        is used once but not cached."""
        self._trusted = True
        t = self.table
        self._create = SQL(
            "CREATE TABLE IF NOT EXISTS {t} (partner_id uuid PRIMARY KEY, key bytea, "
            "created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz, "
            "CHECK ((key IS NULL) = (erased_at IS NOT NULL)))"
        ).format(t=t)
        # One statement, one round trip (autocommit), its arrays sent in binary (no
        # escaping of the keys' bytes): new keys inserted, and the keys of
        # all the given partners returned (the inserted ones, and those already there).
        # No WAL flush of its own: the events' commit, later, flushes the log up to and
        # past this one, so no event can be durable without its key (a key whose events
        # never come may be lost in a crash, which harms nothing).
        self._insert = SQL(
            "WITH cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)), "
            "ins AS (INSERT INTO {t} (partner_id, key) SELECT u.id, u.key "
            "FROM unnest(%b::uuid[], %b::bytea[]) AS u(id, key), cfg "
            "ON CONFLICT (partner_id) DO NOTHING RETURNING partner_id, key) "
            "SELECT partner_id, key FROM ins UNION ALL "
            "SELECT partner_id, key FROM {t} WHERE partner_id = ANY(%b)"
        ).format(t=t)
        self._select = SQL("SELECT partner_id, key FROM {t} WHERE partner_id = ANY(%s)").format(t=t)
        self._erase = SQL(
            "INSERT INTO {t} (partner_id, key, erased_at) VALUES (%s, NULL, now()) "
            "ON CONFLICT (partner_id) DO UPDATE SET key = NULL, "
            "erased_at = COALESCE({t}.erased_at, now())"
        ).format(t=t)

    def create_table(self) -> None:
        # Processes starting together (serve --workers N) would race on CREATE TABLE IF
        # NOT EXISTS (a unique violation in pg_type): one creates, the others wait.
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtext('partnerbook:partner_keys'))")
            curs.execute(self._create)

    # -- reading ------------------------------------------------------------------------

    def cipher(self, partner_id: UUID, *, create: bool) -> AESGCM | None:
        """The partner's cipher; None when its key was erased (or, unless `create`, when
        it never had one). With `create`, a partner without a row gets a key first."""
        found = self._cached(partner_id)
        if found is None:
            loaded = self.ensure([partner_id]) if create else self.prefetch([partner_id])
            found = loaded.get(partner_id)
        return found if isinstance(found, AESGCM) else None

    def prefetch(self, partner_ids: Iterable[UUID]) -> dict[UUID, object]:
        """Loads the keys of these partners into the cache in one query; returns what it
        read (also when the cache may not keep it)."""
        missing = self._missing(partner_ids)
        if not missing:
            return {}
        epoch = self._epoch
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._select, (missing,))
            rows = curs.fetchall()
        return self._keep(epoch, {r["partner_id"]: _cipher_or_erased(r["key"]) for r in rows})

    def ensure(self, partner_ids: Iterable[UUID]) -> dict[UUID, object]:
        """Makes sure each partner has a key row, creating keys in one statement; the keys
        are committed before this returns (so before any event encrypted with them)."""
        missing = self._missing(partner_ids)
        if not missing:
            return {}
        fresh = [os.urandom(KEY_BYTES) for _ in missing]
        epoch = self._epoch
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._insert, (missing, fresh, missing)).fetchall()
        found = {r["partner_id"]: _cipher_or_erased(r["key"]) for r in rows}
        self._keep(epoch, found)
        # A key a concurrent writer committed after this statement began is read now.
        return found | self.prefetch(missing)

    # -- erasing ------------------------------------------------------------------------

    def erase(self, partner_id: UUID, *, setting: bool = False) -> None:
        """Deletes the partner's key for good (idempotent), publishing it in the same
        transaction; returns once every listening process dropped the key (or after
        `notices.CONFIRM_WITHIN` seconds, naming the silent ones in a warning). A
        setting's key (`setting`) goes on its own channel: processes drop the key and
        do not take it for a person's erasure."""
        with self.datastore.get_connection() as conn:
            notices.publish(
                conn,
                notices.SETTING_KEY_ERASED if setting else notices.KEY_ERASED,
                lambda curs: curs.execute(self._erase, (partner_id,)),
                lambda _: str(partner_id),
                committed=lambda _: self._put(partner_id, _ERASED),
            )

    def forget(self, partner_id: UUID) -> None:
        """Drops a cached entry (another process erased the key): the next use reads the
        table again."""
        with self._lock:
            self._epoch += 1
            self._cache.pop(partner_id, None)

    # -- following the other processes' erasures ----------------------------------------

    def follow(self, listener: notices.NoticeListener) -> None:
        """Takes erasures from `listener`; until it is connected, and whenever it is not,
        every use reads the table (a missed notice cannot leave an erased key cached)."""
        with self._lock:
            self._trusted = False
            self._epoch += 1
            self._cache.clear()
        listener.on(notices.KEY_ERASED, lambda subject: self.forget(UUID(subject)))
        listener.on(notices.SETTING_KEY_ERASED, lambda subject: self.forget(UUID(subject)))
        listener.when_connected(lambda: self._trust(True))
        listener.when_lost(lambda: self._trust(False))

    def _trust(self, trusted: bool) -> None:
        with self._lock:
            self._trusted = trusted
            self._epoch += 1
            self._cache.clear()

    # -- cache --------------------------------------------------------------------------

    def _keep(self, epoch: int, found: dict[UUID, object]) -> dict[UUID, object]:
        """Caches what was read since `epoch`, unless an erasure notice (or a connection
        change) came in between or the cache is not trusted now."""
        with self._lock:
            if self._trusted and self._epoch == epoch:
                for partner_id, value in found.items():
                    self._put_locked(partner_id, value)
        return found

    def _missing(self, partner_ids: Iterable[UUID]) -> list[UUID]:
        with self._lock:
            return sorted({i for i in partner_ids if i not in self._cache})

    def _cached(self, partner_id: UUID) -> object | None:
        with self._lock:
            found = self._cache.get(partner_id)
            if found is not None:
                self._cache.move_to_end(partner_id)
            return found

    def _put(self, partner_id: UUID, value: object) -> None:
        with self._lock:
            self._put_locked(partner_id, value)

    def _put_locked(self, partner_id: UUID, value: object) -> None:
        self._cache[partner_id] = value
        self._cache.move_to_end(partner_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def _cipher_or_erased(key: bytes | None) -> object:
    return AESGCM(bytes(key)) if key is not None else _ERASED
