"""The heavy lane (app/schema/lane.py, app/lane_process.py): expensive operations run in
a second process of lower CPU priority, so that an ordinary request is not held up by
them; a key gets a bounded share of that lane; the lane comes back when it dies and ends
with its API process."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

from app.infra.database import Database
from app.schema.lane import Admission, LaneFull, LanePolicy
from app.settings import Settings
from tests.security.conftest import Live, lane_of, lane_pid, lane_ready
from tests.security.fake_lane import CHEAP, CREATE, HEAVY, IMPORT, held_lane
from tests.security.instances import Instance, instance


def test_a_heavy_operation_is_answered_by_the_lane_and_a_cheap_one_here(
    live_lane: tuple[Live, Instance],
) -> None:
    live, running = live_lane
    for n in range(3):
        live.data(CREATE, {"i": {"kind": "COMPANY", "name": f"Lane Co {n}"}}, role="editor")
    heavy = live.post(HEAVY, role="viewer")
    cheap = live.post(CHEAP, role="viewer")
    assert heavy.status_code == cheap.status_code == 200
    assert heavy.headers.get("x-partnerbook-lane") == "heavy"
    assert "x-partnerbook-lane" not in cheap.headers
    assert heavy.headers.get("x-request-id")
    # The same answer, wherever it was computed.
    assert heavy.json()["data"]["partners"]["totalCount"] == 3
    assert {n["name"] for n in heavy.json()["data"]["partners"]["nodes"]} == {
        n["name"] for n in cheap.json()["data"]["partners"]["nodes"]
    }
    # The same over GET: no way around the lane.
    got = live.http.get(live.url, params={"query": HEAVY}, headers=live.headers("viewer"))
    assert got.status_code == 200 and got.headers.get("x-partnerbook-lane") == "heavy"
    assert got.json() == heavy.json()
    metrics = live.http.get(f"{live.base}/metrics").text
    assert 'partnerbook_heavy_lane_requests_total{outcome="forwarded"} 2.0' in metrics
    # The lane runs at the configured niceness (or at this process's own, when the suite
    # itself runs under a higher `nice`).
    own = os.getpriority(os.PRIO_PROCESS, 0)
    expected = max(own, live.settings.heavy_nice)
    assert os.getpriority(os.PRIO_PROCESS, lane_pid(running)) == expected


def test_the_lane_checks_keys_and_roles_as_the_api_does(live_lane: tuple[Live, Instance]) -> None:
    live, _ = live_lane
    unknown = live.http.post(
        live.url, json={"query": HEAVY}, headers={"Authorization": "Bearer pb_nope"}
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    rows = [{"externalId": f"x{n}", "name": f"Row {n}"} for n in range(3)]
    refused = live.post(IMPORT, {"i": {"rows": rows}}, role="viewer")
    assert refused.headers.get("x-partnerbook-lane") == "heavy"
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    imported = live.data(IMPORT, {"i": {"rows": rows}}, role="editor")["importPartners"]
    assert imported["created"] == 3 and imported["userErrors"] == []
    # Read-your-writes holds across the two processes: the rows are visible at once.
    assert live.data(CHEAP, role="viewer")["partners"]["totalCount"] == 3


def test_a_large_body_goes_to_the_lane_undecoded_and_is_refused_there(
    live_lane: tuple[Live, Instance],
) -> None:
    live, _ = live_lane
    body = b'{"query": "{ __typename }", "variables": {"x": "' + b"a" * 20_000 + b'\xff"}}'
    answer = live.http.post(
        live.url,
        content=body,
        headers={**live.headers("viewer"), "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.headers.get("x-partnerbook-lane") == "heavy"
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_an_ordinary_request_is_not_held_up_by_heavy_ones(
    live_lane: tuple[Live, Instance],
) -> None:
    """An editor imports 1,000 rows at a time in a loop (each runs for a good while in
    the lane); a viewer's ordinary request meanwhile takes about its time alone."""
    live, _ = live_lane
    alone = live.median_time(CHEAP, n=7, role="viewer")
    done: list[int] = []
    stop = threading.Event()

    def attack() -> None:
        with httpx.Client(timeout=300) as client:
            i = 0
            while not stop.is_set():
                rows = [
                    {"externalId": f"a{i}_{n}", "name": f"Attack {i}-{n} " + "x" * 100}
                    for n in range(1000)
                ]
                answer = client.post(
                    live.url,
                    json={"query": IMPORT, "variables": {"i": {"rows": rows}}},
                    headers=live.headers("editor"),
                )
                assert answer.headers.get("x-partnerbook-lane") == "heavy", answer.text
                done.append(1)
                i += 1

    thread = threading.Thread(target=attack, daemon=True)
    thread.start()
    try:
        # Measured while imports run: the first one is under way (its rows not yet
        # visible), and the measure goes on until at least one more has completed.
        during: list[float] = []
        while not done or len(during) < 7:
            during.append(live.timed(CHEAP, role="viewer"))
            if len(during) > 2000:
                break
    finally:
        stop.set()
        thread.join(300)
    assert done, "no import completed"
    typical = sorted(during)[len(during) // 2]
    assert typical < max(5 * alone, alone + 0.25), (typical, alone, len(during))


def test_the_lane_comes_back_after_it_dies_and_heavy_requests_are_answered_meanwhile(
    live_lane: tuple[Live, Instance],
) -> None:
    live, running = live_lane
    first = lane_pid(running)
    os.kill(first, signal.SIGKILL)
    answer = live.post(HEAVY, role="viewer")  # here or in the new lane: answered either way
    assert answer.status_code == 200 and answer.json()["data"]["partners"]["totalCount"] == 0
    deadline = time.monotonic() + 120
    while lane_pid(running) == first or not lane_ready(running, 1):
        assert time.monotonic() < deadline, "no new lane process"
        time.sleep(0.1)
    assert live.post(HEAVY, role="viewer").headers.get("x-partnerbook-lane") == "heavy"


def test_the_lane_ends_with_its_api_process(db: Database, settings: Settings) -> None:
    with instance(settings.model_copy(update={"heavy_lane": True})) as running:
        assert lane_ready(running)
        pid = lane_pid(running)
        socket_dir = Path(lane_of(running)._directory)
        assert socket_dir.stat().st_mode & 0o777 == 0o700
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and _zombie_free(pid):
        assert time.monotonic() < deadline, "the lane outlived its API process"
        time.sleep(0.05)
    assert not socket_dir.exists()


def _zombie_free(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


# -- admission: a key's share of the lane, and the lane's bound -------------------------


def test_a_key_has_at_most_its_share_of_the_lane_and_the_lane_a_bound() -> None:
    # Three requests in the lane (one running, two waiting for the one running place).
    async def concurrent() -> list[Any]:
        admission = Admission(LanePolicy(concurrency=1, per_key=2, queue=3))
        release = asyncio.Event()
        entered: list[str] = []

        async def hold(key: str) -> None:
            async with admission.admit(key):
                entered.append(key)
                await release.wait()

        tasks = [asyncio.create_task(hold(k)) for k in ("a", "a", "b")]
        for _ in range(10):  # each task takes its place at its first step
            await asyncio.sleep(0)
        assert admission.in_lane == 3
        outcomes: list[Any] = []
        for key in ("a", "c"):  # a: over its share; c: the lane is full (3 in it)
            try:
                async with admission.admit(key):
                    outcomes.append(f"{key} admitted")
            except LaneFull as full:
                outcomes.append((key, full.status, full.code))
        outcomes.append(len(entered))  # one running, two waiting
        release.set()
        await asyncio.gather(*tasks)
        outcomes.append((admission.in_lane, dict(admission.per_key)))
        return outcomes

    assert asyncio.run(concurrent()) == [("a", 429, "RATE_LIMITED"), ("c", 503, "BUSY"), 1, (0, {})]
    roomy = Admission(LanePolicy(concurrency=4, per_key=2, queue=10))

    async def sequential() -> list[Any]:
        admission = roomy
        seen: list[Any] = []
        async with admission.admit("a"), admission.admit("a"):
            try:
                async with admission.admit("a"):
                    seen.append("third admitted")
            except LaneFull as full:
                seen.append((full.status, full.code))
        return seen

    assert asyncio.run(sequential()) == [(429, "RATE_LIMITED")]


def test_an_over_share_request_gets_429_with_a_code_over_http(
    live_lane: tuple[Live, Instance],
) -> None:
    """Two heavy requests of one key held in the lane (a fake lane that answers only
    when told): the key's third gets 429 RATE_LIMITED at once, another key gets in."""
    live, running = live_lane
    results: list[httpx.Response] = []
    with held_lane(running) as lane:
        threads = [
            threading.Thread(target=lambda: results.append(live.post(HEAVY, role="viewer")))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        assert lane.held.wait(60), "the two heavy requests did not reach the lane"
        third = live.post(HEAVY, role="viewer")
        assert third.status_code == 429
        assert third.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert third.headers.get("retry-after") == "1"
        assert third.headers["content-type"].startswith("application/json")
        # Asked for the GraphQL media type: the refusal comes in it, as the view's do.
        graphql = live.http.post(
            live.url,
            json={"query": HEAVY},
            headers={**live.headers("viewer"), "Accept": "application/graphql-response+json"},
        )
        assert graphql.status_code == 429
        assert graphql.headers["content-type"].startswith("application/graphql-response+json")
        assert "data" not in graphql.json() and graphql.json()["errors"]
        lane.release.set()
        for thread in threads:
            thread.join(60)
        assert [r.status_code for r in results] == [200, 200]
        # The places are given back: the same key gets in again.
        assert live.post(HEAVY, role="viewer").status_code == 200
