"""`/healthz` and `/readyz` answer anyone, without a key: they say which projection is
stuck, where and since when, and that the database does not answer, but never the text
of an error (a PostgreSQL error can quote row values: `Key (email)=(jane@example.com)
already exists`; a connection error names the host and the user). Operators read that
text in the log and in `partnerbook projections status`."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app import health
from app.application import Partnerbook
from app.cli import cli
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra.database import Database
from app.infra.replicas import Replica, ReplicaSet
from tests.security.conftest import Live

AUDIT = Audit(actor="health-test", request_id="r-health")
PERSONAL = "jane.doe.4711@example.com"


@pytest.fixture
def app(ungrouped_app: Partnerbook) -> Partnerbook:
    return ungrouped_app


def _poisoned_event(app: Partnerbook, partner_id: UUID) -> StoredEvent:
    """A `Partner.Updated` of the partner (as the mapper stores it) whose timestamp
    holds a personal value: decoding it fails with an error that quotes the value."""
    partner: Partner = app.repository.get(partner_id)
    assert isinstance(partner, Partner)
    partner.update({"ref": "placeholder"}, AUDIT)
    [event] = partner.collect_events()
    stored = app.mapper.to_stored_event(event)
    state = json.loads(stored.state)
    assert state["timestamp"]["_type_"] == "datetime_iso", state["timestamp"]
    state["timestamp"]["_data_"] = PERSONAL
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def test_readyz_names_a_stuck_projection_but_not_its_error(
    live: Live, app: Partnerbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner_id = app.create_partner("COMPANY", {"name": "Before"}, AUDIT).id
    poisoned = _poisoned_event(app, partner_id)
    positions = app.recorder.insert_events([poisoned])
    assert positions is not None
    [position] = positions

    deadline = time.monotonic() + 60
    while True:
        response = live.http.get(f"{live.base}/readyz")  # no key
        stuck = [s for s in response.json().get("stuck", []) if s["projection"] == "registry"]
        if stuck:
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    # The error is recorded, with the value: /readyz would say it if it said the error.
    with psycopg.connect(live.db.conninfo()) as conn:
        row = conn.execute("SELECT error FROM projection_stuck WHERE name = 'registry'")
        recorded = row.fetchone()
    assert recorded is not None and PERSONAL in recorded[0], recorded

    assert PERSONAL not in response.text and recorded[0] not in response.text, response.text
    assert "isoformat" not in response.text, response.text
    [entry] = stuck
    assert entry["position"] == position
    assert entry["topic"] == poisoned.topic
    assert datetime.fromisoformat(entry["since"]).tzinfo is not None
    assert "projections status" in entry["error"]

    # Operators read it in `partnerbook projections status`.
    monkeypatch.setenv("PARTNERBOOK_DATABASE_URL", live.db.dsn)
    monkeypatch.setenv("PARTNERBOOK_DATA_DIR", str(live.settings.data_dir))
    result = CliRunner().invoke(cli, ["projections", "status"])
    assert result.exit_code == 2, result.output
    assert f"STUCK: registry cannot apply event {position}" in result.output
    assert PERSONAL in result.output, result.output


SECRET = (
    'connection failed: connection to server at "db-secret.internal" (10.9.8.7), port 5432 '
    'failed: FATAL: password authentication failed for user "pb_secret_user"'
)


class _Pool:
    def connection(self, *args: Any, **kwargs: Any) -> Any:
        raise psycopg.OperationalError(SECRET)


def _unreachable() -> TestClient:
    """/healthz and /readyz of a process whose database refuses it."""
    runtime = SimpleNamespace(
        pool=_Pool(),
        services=SimpleNamespace(
            settings=SimpleNamespace(ready_max_lag=1000),
            app=SimpleNamespace(
                recorder=SimpleNamespace(events_table_name="stored_events"), name="Partnerbook"
            ),
        ),
        projector=SimpleNamespace(
            projection=SimpleNamespace(view=SimpleNamespace(tracking_table_name="tracking"))
        ),
        replicas=None,
    )
    served = Starlette(routes=[Route("/healthz", health.healthz), Route("/readyz", health.readyz)])
    served.state.runtime = runtime
    served.state.lane = None
    return TestClient(served)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_database_failure_is_said_without_its_text(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="partnerbook")
    with _unreachable() as client:
        response = client.get(path)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    for secret in ("db-secret", "10.9.8.7", "pb_secret_user", "password"):
        assert secret not in response.text, response.text
    assert any("pb_secret_user" in r.getMessage() for r in caplog.records), caplog.records


def test_readyz_says_a_standby_is_down_without_its_error(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standby's connection error names its address and the user (and a failed query's
    error can quote values): /readyz, which answers anyone, says the standby is down and
    where to read why; the log says why."""
    caplog.set_level(logging.WARNING, logger="partnerbook")
    standby = Replica(
        name="standby1:5432/partnerbook",
        db=Database.from_url("postgresql://reader@standby1:5432/partnerbook"),
        pool=cast(Any, None),
        state="up",
        replayed=10,
        lag_bytes=0,
    )
    replicas = ReplicaSet(
        cast(Any, None),
        [standby],
        max_lag_bytes=1000,
        wait_timeout=1,
        check_interval=1,
        connect_timeout=1,
    )
    replicas.failed(standby, psycopg.OperationalError(SECRET))

    async def positions(runtime: Any) -> tuple[int, int]:
        return 7, 7

    async def none_stuck(runtime: Any) -> list[Any]:
        return []

    monkeypatch.setattr(health, "_projection_positions", positions)
    monkeypatch.setattr(health, "_stuck_projections", none_stuck)
    with _unreachable() as client:
        client.app.state.runtime.replicas = replicas  # type: ignore[attr-defined]
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    [entry] = response.json()["replicas"]
    assert (entry["name"], entry["state"], entry["serving"]) == (
        "standby1:5432/partnerbook",
        "down",
        False,
    )
    for secret in ("db-secret", "10.9.8.7", "pb_secret_user", "password"):
        assert secret not in response.text, response.text
    assert "log" in entry["error"], entry
    assert any("pb_secret_user" in r.getMessage() for r in caplog.records), caplog.records
