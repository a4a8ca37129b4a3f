"""Persisted documents in a request: Apollo's automatic persisted queries (the SHA-256 of
the document in `extensions.persistedQuery`, its text sent only when the server does not
know it yet) and the allow-list mode (PARTNERBOOK_PERSISTED_ONLY), which runs only the
documents registered with `partnerbook persisted register`.

Resolving gives the request its document text; from there it is an operation like any
other (the same key check, roles, limits and validation). A document a client persisted
is stored only once it has run, so no text that does not parse, validate or pass the
checks ever enters the store."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from graphql.language import Lexer, Source, Token, TokenKind
from strawberry.types import ExecutionResult

from app.infra.persisted_documents import StoredDocument, sha256_of
from app.schema.errors import ClientError

log = logging.getLogger("partnerbook.persisted")

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
PERSISTED_QUERY_NOT_REGISTERED = "PERSISTED_QUERY_NOT_REGISTERED"
NO_DOCUMENT = "{ __typename }"
"""Stands for the document of a request that has no principal: the Guard refuses it
(UNAUTHENTICATED) before anything runs, and nothing of the store is revealed."""
_HASH = re.compile(r"[0-9a-fA-F]{64}")


class Documents(Protocol):
    """The store of persisted documents (app/infra/persisted_documents.py)."""

    async def find(self, sha256: str, *, registered: bool = False) -> StoredDocument | None: ...

    async def remember(self, sha256: str, text: str) -> None: ...


class PersistedQueryError(ClientError):
    """A persisted-query request that cannot run; Apollo's clients read the message."""


def not_found() -> PersistedQueryError:
    # Apollo's exact message and code: its clients then send the document with the hash.
    return PersistedQueryError("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)


@dataclass(frozen=True)
class Resolved:
    """The document to run, and the hash to store it under once it has run (None: keep
    nothing)."""

    query: str | None
    remember: str | None = None


def requested_hash(extensions: object) -> str | None:
    """The SHA-256 a request names in `extensions.persistedQuery` (lowercase hex), or None
    when it names none; a malformed `persistedQuery` is the client's BAD_REQUEST."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise ClientError(
            "`extensions.persistedQuery` must be an object: {version: 1, sha256Hash}",
            "BAD_REQUEST",
        )
    if persisted.get("version") != 1:
        raise ClientError("Unsupported persisted query version", "BAD_REQUEST")
    given = persisted.get("sha256Hash")
    if not isinstance(given, str) or not _HASH.fullmatch(given):
        raise ClientError(
            "`extensions.persistedQuery.sha256Hash` must be the SHA-256 of the document "
            "(64 hexadecimal digits)",
            "BAD_REQUEST",
        )
    return given.lower()


async def resolve(
    query: str | None,
    extensions: dict[str, Any] | None,
    documents: Documents | None,
    *,
    authenticated: bool,
    persisted_only: bool,
    automatic: bool,
) -> Resolved:
    """The document of a request. `automatic`: clients may persist documents (APQ);
    `persisted_only`: only registered documents run. Raises ClientError."""
    sha256 = requested_hash(extensions)
    if not authenticated:
        return Resolved(query or (NO_DOCUMENT if sha256 else None))
    if sha256 is None:
        if persisted_only and query and not await _registered(documents, sha256_of(query)):
            raise _not_registered()
        return Resolved(query)
    if not query:
        found = await documents.find(sha256, registered=persisted_only) if documents else None
        if found is not None:
            return Resolved(found.text)
        if not automatic and not persisted_only:
            raise PersistedQueryError("PersistedQueryNotSupported", PERSISTED_QUERY_NOT_SUPPORTED)
        raise not_found()
    if sha256_of(query) != sha256:
        raise ClientError("provided sha does not match query", "BAD_REQUEST")
    if persisted_only:
        if not await _registered(documents, sha256):
            raise _not_registered()
        return Resolved(query)
    return Resolved(query, sha256 if automatic and documents is not None else None)


async def _registered(documents: Documents | None, sha256: str) -> bool:
    return documents is not None and await documents.find(sha256, registered=True) is not None


def _not_registered() -> PersistedQueryError:
    return PersistedQueryError(
        "Only registered documents run on this server (PARTNERBOOK_PERSISTED_ONLY); this "
        "one is not registered: register it with `partnerbook persisted register`",
        PERSISTED_QUERY_NOT_REGISTERED,
    )


def ran(result: ExecutionResult) -> bool:
    """Whether the operation was executed: it then parsed, validated and passed every
    check (a refusal before execution has no data and no error with a path)."""
    return result.data is not None or any(e.path for e in result.errors or ())


_FREE_TEXT = (TokenKind.STRING, TokenKind.BLOCK_STRING, TokenKind.COMMENT)


def holds_literal_text(text: str) -> bool:
    """Whether a document writes a string value into its text (`name: "Ann Lee"`) instead
    of passing it in variables, or a comment (`# looking for Ann Lee`). Such text may be
    personal data, which an erasure could not reach in the stored document, so it is
    never stored. (The lexer's `advance` skips comments; its token list holds them.)"""
    lexer = Lexer(Source(text))
    while lexer.advance().kind != TokenKind.EOF:
        pass
    token: Token | None = lexer.token
    while token is not None:
        if token.kind in _FREE_TEXT:
            return True
        token = token.prev
    return False


async def remember(documents: Documents | None, sha256: str, text: str) -> None:
    """Stores a document a client persisted; a failure to store is logged, not answered
    (the client sends the text again next time), and a document holding literal text is
    not stored (it runs, and the client keeps sending its text)."""
    if documents is None or holds_literal_text(text):
        return
    try:
        await documents.remember(sha256, text)
    except Exception:
        log.warning("could not store the persisted document %s", sha256, exc_info=True)
