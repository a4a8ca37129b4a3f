"""PostgreSQL stopped and started under a running server and a client loop: while it is
down every answer is a 503 with code DATABASE_UNAVAILABLE; it recovers by itself; every
acknowledged create is there afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.test_server import _free_port
from tests.fault_tools.pg import PrivatePostgres

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id } userErrors { code } } }"""
COUNT = "{ partners(first: 1) { totalCount } }"
GET = "query($id: ID!) { partner(id: $id) { id name } }"
GUARD = 300
"""Seconds before a wait is declared hung: a bound for a hang, not a timing (a loaded
machine took minutes where an idle one takes seconds)."""


@dataclass
class Outcome:
    at: float
    kind: str  # "ok", "unavailable", "other"
    detail: str = ""
    done: float = field(default_factory=time.monotonic)


HEADERS: dict[str, str] = {}
"""Sent with every request: the server's admin key, once it printed it."""


@dataclass
class ClientLoop:
    base: str
    acknowledged: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Creates in one thread, queries in another: a slow create (eventsourcing retries
        its writes ~10 times before it gives up) does not hold the queries back."""
        queries = threading.Thread(target=self._queries, daemon=True)
        queries.start()
        i = 0
        with httpx.Client(timeout=120, headers=HEADERS) as http:
            while not self.stop.is_set():
                i += 1
                name = f"Partner {i}"
                self._call(http, CREATE, {"name": name}, name)
        queries.join()

    def _queries(self) -> None:
        with httpx.Client(timeout=120, headers=HEADERS) as http:
            while not self.stop.is_set():
                self._call(http, COUNT, {}, None)
                time.sleep(0.05)

    def _call(self, http: Any, query: str, variables: dict[str, Any], name: str | None) -> None:
        at = time.monotonic()
        try:
            response = http.post(
                f"{self.base}/graphql", json={"query": query, "variables": variables}
            )
        except httpx.TransportError as error:
            self.outcomes.append(Outcome(at, "other", repr(error)))
            return
        try:
            body = response.json()
        except ValueError:  # not JSON (a bare 500, say): reported, and the loop goes on
            self.outcomes.append(Outcome(at, "other", f"{response.status_code} {response.text}"))
            return
        if response.status_code == 200 and not body.get("errors"):
            if name is not None:
                payload = body["data"]["createPartner"]
                if payload["userErrors"] or payload["partner"] is None:
                    self.outcomes.append(Outcome(at, "other", f"create answered {payload}"))
                    return
                self.acknowledged[payload["partner"]["id"]] = name
            self.outcomes.append(Outcome(at, "ok", f"{time.monotonic() - at:.1f}s"))
            return
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        if response.status_code == 503 and codes == {"DATABASE_UNAVAILABLE"}:
            self.outcomes.append(Outcome(at, "unavailable", f"{time.monotonic() - at:.1f}s"))
        else:
            self.outcomes.append(Outcome(at, "other", f"{response.status_code} {body}"))


@pytest.fixture
def private_pg(embedded_home: Path) -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(embedded_home)  # not under tmp_path: see tests/conftest.py
    try:
        yield pg
    finally:
        pg.close()


@pytest.mark.timeout(900)  # ~60 s idle; the bound is for a hang
def test_postgres_stopped_and_started_under_load(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    env = {
        **os.environ,
        "PARTNERBOOK_DATABASE_URL": private_pg.uri,
        "PARTNERBOOK_DATA_DIR": str(tmp_path / "data"),
        "PARTNERBOOK_CONNECT_TIMEOUT": "2",
        "PARTNERBOOK_READ_YOUR_WRITES_TIMEOUT": "5",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _healthy(base), GUARD, server, tmp_path)
        # The admin key the first start printed.
        printed = (tmp_path / "server.log").read_text().split()
        HEADERS["Authorization"] = "Bearer " + next(w for w in printed if w.startswith("pb_"))
        loop = ClientLoop(base)
        client = threading.Thread(target=loop.run, daemon=True)
        client.start()
        _wait_until(lambda: len(loop.acknowledged) >= 20, GUARD, server, tmp_path)

        private_pg.stop()
        down_from = time.monotonic()
        time.sleep(15)
        down_until = time.monotonic()
        private_pg.start()
        acknowledged_before = len(loop.acknowledged)
        _wait_until(
            lambda: len(loop.acknowledged) >= acknowledged_before + 20, GUARD, server, tmp_path
        )
        loop.stop.set()
        client.join(60)
        assert not client.is_alive()

        # Requests sent after the stop and answered before the start were answered without
        # a database: 503 DATABASE_UNAVAILABLE, nothing else. (Not "answered from a moment
        # after the stop": on a loaded machine an answer made before the stop can take
        # longer than any such moment to arrive.)
        while_down = [o for o in loop.outcomes if down_from <= o.at and o.done < down_until]
        assert while_down, "no request was made while the database was down"
        assert {o.kind for o in while_down} == {"unavailable"}, while_down[:5]
        others = [o for o in loop.outcomes if o.kind == "other"]
        assert others == [], (others[:5], (tmp_path / "server.log").read_text()[-6000:])
        assert server.poll() is None, "the server must not have restarted"

        # Every acknowledged create is there, and visible to queries.
        with httpx.Client(timeout=30, headers=HEADERS) as http:
            for partner_id, name in loop.acknowledged.items():
                body = http.post(
                    f"{base}/graphql", json={"query": GET, "variables": {"id": partner_id}}
                ).json()
                assert body.get("data", {}).get("partner") == {"id": partner_id, "name": name}
        # How long answers to requests sent while it was down took (some end after).
        waits = sorted(o.done - o.at for o in loop.outcomes if down_from <= o.at < down_until)
        print(
            f"\n{len(loop.acknowledged)} creates acknowledged; {len(while_down)} requests "
            f"while down, all 503; those sent while down took {waits[len(waits) // 2]:.2f} s "
            f"(median), {waits[-1]:.2f} s (max)"
        )
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _wait_until(
    condition: Any, seconds: float, server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if server.poll() is not None or time.monotonic() > deadline:
            tail = (tmp_path / "server.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"condition not met in {seconds} s; server log:\n{tail}")
        time.sleep(0.2)
