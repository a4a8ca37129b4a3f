"""Attacks sent as a client would send them: plain HTTP (and WebSocket) requests to a
real uvicorn server running the app in this process, with a key of each role.

`Live.timed` measures one request; an attack test compares an ordinary request made
while the attack runs with the same request made alone in the same test (never an
absolute time: the machine is shared)."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra import api_keys
from app.infra.database import Database
from app.lane_process import LaneProcess
from app.main import create_app
from app.settings import Settings
from tests.security.instances import Instance, instance
from tests.webhooks.conftest import FAST

ROLES = ("admin", "editor", "viewer", "auditor")


@dataclass
class Live:
    base: str
    keys: dict[str, str]
    db: Database
    settings: Settings
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=120))

    @property
    def url(self) -> str:
        return f"{self.base}/graphql"

    def headers(self, role: str | None = "admin") -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.keys[role]}"}

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: str | None = "admin",
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """The raw response to one operation sent as `role`."""
        return (client or self.http).post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=self.headers(role),
        )

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """`data` of an answer that must carry no top-level error."""
        response = self.post(query, variables, **kw)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    def timed(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> float:
        """Seconds one request took, answer checked to be a success."""
        started = time.perf_counter()
        self.data(query, variables, **kw)
        return time.perf_counter() - started

    def median_time(self, query: str, n: int = 7, **kw: Any) -> float:
        return statistics.median(self.timed(query, **kw) for _ in range(n))


@pytest.fixture
def live(db: Database, settings: Settings) -> Iterator[Live]:
    """The app served by uvicorn on a free loopback port, with a key per role."""
    keys = {role: api_keys.create_key(db.conninfo(), f"sec-{role}", role) for role in ROLES}
    with instance(settings) as running:
        result = Live(base=running.base, keys=keys, db=db, settings=settings)
        try:
            yield result
        finally:
            result.http.close()


@pytest.fixture
def live_lane(db: Database, settings: Settings) -> Iterator[tuple[Live, Instance]]:
    """`live` as `partnerbook serve` runs by default: with its heavy lane (a second
    process, app/lane_process.py), ready before the test starts."""
    keys = {role: api_keys.create_key(db.conninfo(), f"lane-{role}", role) for role in ROLES}
    with_lane = settings.model_copy(update={"heavy_lane": True})
    with instance(with_lane) as running:
        assert lane_ready(running), "the heavy lane did not start"
        result = Live(base=running.base, keys=keys, db=db, settings=with_lane)
        try:
            yield result, running
        finally:
            result.http.close()


def lane_of(running: Instance) -> LaneProcess:
    lane: LaneProcess | None = running.app.state.lane
    assert lane is not None
    return lane


def lane_ready(running: Instance, seconds: float = 120) -> bool:
    future = asyncio.run_coroutine_threadsafe(lane_of(running).wait_ready(seconds), running.loop)
    return future.result(seconds + 5)


def lane_pid(running: Instance) -> int:
    process = lane_of(running)._process
    assert process is not None
    return process.pid


RACES = Audit(actor="test", request_id="r-races")


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(4, 5))
    yield application
    application.close()


@pytest.fixture
def ungrouped_app(db: Database) -> Iterator[Partnerbook]:
    """An application whose commands each commit alone (no group commit), for tests
    that write events by hand beside it."""
    application = Partnerbook(env=db.eventsourcing_env(2, 5))
    application.group_commit = False
    try:
        yield application
    finally:
        application.close()


def company(app: Partnerbook, name: str, parent: UUID | None = None) -> UUID:
    values = {"name": name, **({"parent_id": str(parent)} if parent else {})}
    return app.create_partner("COMPANY", values, RACES).id


def chain(app: Partnerbook, start: UUID) -> list[UUID]:
    seen: list[UUID] = [start]
    current: Partner = app.repository.get(start)
    while current.parent_id is not None and len(seen) < 10:
        seen.append(current.parent_id)
        if current.parent_id in seen[:-1]:
            break
        current = app.repository.get(current.parent_id)
    return seen


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every line the server logs, uvicorn's own included (its logger does not reach the
    root's when it has a handler of its own)."""
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO):
            yield caplog
    finally:
        uvicorn_log.removeHandler(caplog.handler)


def no_traceback(log: pytest.LogCaptureFixture) -> None:
    """The server logged no error and no traceback."""
    records = log.records
    assert not any(r.exc_info or r.levelno >= logging.ERROR for r in records), [
        r.getMessage() for r in records
    ]


@pytest.fixture
def hooks(settings: Settings, admin_key: str) -> Iterator[TestClient]:
    """An admin's client of an app whose webhooks may call 127.0.0.1 and retry at once."""
    with TestClient(
        create_app(settings.model_copy(update=FAST)),
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as client:
        yield client
