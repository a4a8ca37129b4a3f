"""The media types of `/graphql` answers (GraphQL over HTTP, draft spec): which one a
request's `Accept` asks for, the status code and body shape each gives a GraphQL
response, and what caches may keep of them.

`application/graphql-response+json` is served when the client prefers it: a request that
fails before it runs (does not parse or validate, variables that do not coerce, a
refusal) is a 4xx with `errors` and no `data`. `application/json` is served otherwise (an
`Accept` of `*/*`, `application/json`, or none at all, as legacy clients send): 200 for
every GraphQL response, as before. An `Accept` naming neither is refused with 406."""

from __future__ import annotations

from typing import Any

from app.schema.errors import DATABASE_UNAVAILABLE

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
CACHE_HEADERS = {"cache-control": "private, no-store", "vary": "Authorization, Accept"}
"""On every GraphQL answer: it depends on the key (its role decides which fields are
read) and on the media type asked for, and it may hold personal data that an erasure
must be able to remove, so no cache (shared or the client's own) may store it."""
REQUEST_ERROR_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "PERSISTED_QUERY_NOT_REGISTERED": 403,
    # Not 400: Apollo's older clients turn persisted queries off on a 400 or a 500.
    "PERSISTED_QUERY_NOT_FOUND": 404,
    "INTERNAL": 500,
    DATABASE_UNAVAILABLE: 503,
    "TIMEOUT": 503,
}
"""The status of an `application/graphql-response+json` answer to a request that did not
run, by the code of its first error; any other code (BAD_REQUEST, LIMIT_EXCEEDED…) is 400."""


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when `accept` names none of ours (406).

    The served type of highest quality wins; a type named outright beats one matched by
    `application/*` or `*/*`, and of two equals the one listed first. A wildcard alone
    means `application/json`."""
    if accept is None or not accept.strip():
        return JSON
    ranges: dict[str, tuple[float, int]] = {}
    for index, item in enumerate(accept.split(",")):
        parsed = _media_range(item)
        if parsed is not None:
            ranges.setdefault(parsed[0], (parsed[1], index))
    ranked: list[tuple[float, int, int, str]] = []
    for served in (JSON, GRAPHQL_RESPONSE):
        for media_range, named in ((served, 2), ("application/*", 1), ("*/*", 0)):
            if media_range in ranges:
                quality, index = ranges[media_range]
                ranked.append((quality, named, -index, served))
                break
    acceptable = [rank for rank in ranked if rank[0] > 0]
    return max(acceptable, key=lambda rank: rank[:3])[3] if acceptable else None


def _media_range(item: str) -> tuple[str, float] | None:
    """(media range, quality) of one element of `Accept`; None for one asking for an
    encoding other than UTF-8, or that does not parse."""
    media, *parameters = (part.strip() for part in item.split(";"))
    if "/" not in media:
        return None
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name == "charset" and value not in ("utf-8", "utf8"):
            return None
        if name == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
    return media.lower(), quality


def shaped(body: dict[str, Any], media: str) -> tuple[int, dict[str, Any]]:
    """The status code and body of a GraphQL response served as `media`.

    While the database is unavailable: 503 (clients and proxies retry), unless some data
    came back. In `application/json`: 200 otherwise. In `application/graphql-response+json`,
    a request that did not run (no data, and no error has a `path`: none came from a
    field) loses its `data` entry and gets a 4xx or 5xx by its first error's code; one
    that ran is 200, its field errors alongside its data."""
    errors = [e for e in body.get("errors") or () if isinstance(e, dict)]
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    if body.get("data") is not None:
        return 200, body
    if media == GRAPHQL_RESPONSE and errors and not any("path" in e for e in errors):
        status = REQUEST_ERROR_STATUS.get(codes[0] or "", 400)
        return status, {name: value for name, value in body.items() if name != "data"}
    return (503 if DATABASE_UNAVAILABLE in codes else 200), body


def content_type(media: str) -> str:
    return f"{media}; charset=utf-8"
