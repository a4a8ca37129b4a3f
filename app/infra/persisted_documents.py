"""Persisted GraphQL documents in PostgreSQL, found by the SHA-256 of their text.

Two kinds share one table: documents *registered* by `partnerbook persisted register` (the
allow-list of PARTNERBOOK_PERSISTED_ONLY; never dropped), and documents a client
persisted *automatically* (Apollo's APQ: sent once with their hash, then by hash alone),
kept within a byte budget and a count, the least recently used dropped first.

A table rather than each process's memory: a client's next request may reach another
worker, another machine or the heavy lane process, which must all know the hash the
first one stored. Each process keeps a small cache in front of it (a hash names one text
for ever, so a cached text is never stale; only whether it is registered may change)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.infra import schema_marks

_CREATE = (
    "CREATE TABLE IF NOT EXISTS persisted_documents ("
    " sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),"
    " document text NOT NULL,"
    " registered boolean NOT NULL DEFAULT false,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " used_at timestamptz NOT NULL DEFAULT now())"
)
_INDEX = (
    "CREATE INDEX IF NOT EXISTS persisted_documents_automatic"
    " ON persisted_documents (used_at DESC) WHERE NOT registered"
)
# The automatic documents past the budget or past the count, most recently used kept
# first. It reads every automatic row: the count bounds what it reads.
_TRIM = (
    "DELETE FROM persisted_documents d USING ("
    " SELECT sha256 FROM ("
    "  SELECT sha256, row_number() OVER w AS n, sum(octet_length(document)) OVER w AS kept"
    "  FROM persisted_documents WHERE NOT registered"
    "  WINDOW w AS (ORDER BY used_at DESC, sha256)) running"
    " WHERE kept > %s OR n > %s) old "
    "WHERE d.sha256 = old.sha256 AND NOT d.registered"
)
TRIM_SHARE = 100
"""A process trims once it has stored a hundredth of the count or of the budget since its
last trim (at once for a small store): the table stays within about 1 % of both, and a
store in a loop runs the trim once in a hundred."""
CACHED_CHARS = 4_000_000
"""Characters of document text one process keeps in memory (least recently used dropped)."""


def sha256_of(text: str) -> str:
    """The hash a client sends for `text`: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredDocument:
    text: str
    registered: bool


@dataclass(frozen=True)
class RegisteredDocument:
    sha256: str
    document: str
    created_at: datetime


def ensure_table(conninfo: str) -> None:
    """The table and its index, unless they are there as made (app/infra/schema_marks.py:
    CREATE INDEX locks the table even when the index exists)."""
    schema_marks.ensure(conninfo, "persisted_documents", (_CREATE, _INDEX), ["persisted_documents"])


def register(conninfo: str, texts: list[str]) -> int:
    """Registers every text (one transaction); returns how many were not registered yet."""
    ensure_table(conninfo)
    new = 0
    with psycopg.connect(conninfo) as conn, conn.transaction():
        for text in texts:
            sha256 = sha256_of(text)
            before = conn.execute(
                "SELECT registered FROM persisted_documents WHERE sha256 = %s", (sha256,)
            ).fetchone()
            conn.execute(
                "INSERT INTO persisted_documents (sha256, document, registered)"
                " VALUES (%s, %s, true) ON CONFLICT (sha256) DO UPDATE SET registered = true",
                (sha256, text),
            )
            new += before is None or not before[0]
    return new


def registered_documents(conninfo: str) -> list[RegisteredDocument]:
    ensure_table(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT sha256, document, created_at FROM persisted_documents"
            " WHERE registered ORDER BY created_at, sha256"
        ).fetchall()
    return [RegisteredDocument(*row) for row in rows]


class DocumentStore:
    """The server's side: `find` a text by its hash, `remember` one a client persisted."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], budget_bytes: int, most_documents: int
    ) -> None:
        self.pool = pool
        self.budget_bytes = budget_bytes
        self.most_documents = most_documents
        self._since_trim = (0, 0)
        """(documents, bytes) this process stored since it last trimmed."""
        self.lookups = 0
        """Queries made to find a hash (a test sees what the cache spared)."""
        self._cache: OrderedDict[str, StoredDocument] = OrderedDict()
        self._cached_chars = 0

    async def find(self, sha256: str, *, registered: bool = False) -> StoredDocument | None:
        """The document of that hash (with `registered`, only a registered one), or None."""
        cached = self._cache.get(sha256)
        if cached is not None and (cached.registered or not registered):
            self._cache.move_to_end(sha256)
            return cached
        self.lookups += 1
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE persisted_documents SET used_at = now() WHERE sha256 = %s"
                " RETURNING document, registered",
                (sha256,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        found = StoredDocument(text=row[0], registered=row[1])
        self._keep(sha256, found)
        return found if found.registered or not registered else None

    async def remember(self, sha256: str, text: str) -> None:
        """Stores a document a client persisted (its hash already checked), then drops
        the least recently used ones past the budget."""
        documents, size = self._since_trim
        documents, size = documents + 1, size + len(text.encode())
        trim = (
            documents >= self.most_documents // TRIM_SHARE
            or size >= self.budget_bytes // TRIM_SHARE
        )
        self._since_trim = (0, 0) if trim else (documents, size)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO persisted_documents (sha256, document) VALUES (%s, %s)"
                " ON CONFLICT (sha256) DO UPDATE SET used_at = now()",
                (sha256, text),
            )
            if trim:
                await conn.execute(_TRIM, (self.budget_bytes, self.most_documents))
        self._keep(sha256, StoredDocument(text=text, registered=False))

    def _keep(self, sha256: str, document: StoredDocument) -> None:
        previous = self._cache.pop(sha256, None)
        if previous is not None:
            self._cached_chars -= len(previous.text)
        if len(document.text) > CACHED_CHARS:
            return
        self._cache[sha256] = document
        self._cached_chars += len(document.text)
        while self._cached_chars > CACHED_CHARS:
            _, dropped = self._cache.popitem(last=False)
            self._cached_chars -= len(dropped.text)
