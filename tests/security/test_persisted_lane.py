"""A persisted query sent by its hash alone is judged by the document the hash names: a
heavy one runs in the heavy lane like its text would, and the lane process finds the
document the API process's client persisted (they share the database's store)."""

from __future__ import annotations

import hashlib
import json

from tests.security.conftest import Live
from tests.security.instances import Instance

HEAVY = "query Heavy { partners(first: 100) { totalCount nodes { id name } } }"
PERSISTED = {
    "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(HEAVY.encode()).hexdigest()}
}


def test_a_heavy_persisted_query_runs_in_the_lane(live_lane: tuple[Live, Instance]) -> None:
    live, _ = live_lane
    headers = live.headers("viewer")
    unknown = live.http.post(live.url, json={"extensions": PERSISTED}, headers=headers)
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "x-partnerbook-lane" not in unknown.headers  # nothing to judge: answered here
    stored = live.http.post(
        live.url, json={"query": HEAVY, "extensions": PERSISTED}, headers=headers
    )
    assert stored.headers.get("x-partnerbook-lane") == "heavy"  # stored by the lane
    assert stored.json() == {"data": {"partners": {"totalCount": 0, "nodes": []}}}
    for answer in (
        live.http.post(live.url, json={"extensions": PERSISTED}, headers=headers),
        live.http.get(live.url, params={"extensions": json.dumps(PERSISTED)}, headers=headers),
    ):
        assert answer.headers.get("x-partnerbook-lane") == "heavy"
        assert answer.json() == stored.json()
