"""One API key's WebSocket connections per process are held to
PARTNERBOOK_MAX_CONNECTIONS_PER_KEY: each connection may hold 100 subscriptions and
their queues, and one key could open any number of them. Past the cap, a key's
`connection_init` is refused (graphql-transport-ws: close 4429 with a reason naming the
limit; legacy graphql-ws: `connection_error` RATE_LIMITED, then close), and a connection
that ends, however it ends, gives its slot back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.graphql_view import PartnerbookGraphQL
from app.infra import api_keys
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import key_for

LIMIT = 2
TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_connections_per_key": LIMIT})


def _init(ws: Any, key: str) -> dict[str, Any]:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
    message: dict[str, Any] = ws.receive_json()
    return message


@contextlib.contextmanager
def _acked(client: TestClient, key: str, protocol: str = TRANSPORT) -> Iterator[Any]:
    """A connection of `key`, acknowledged."""
    with client.websocket_connect("/graphql", subprotocols=[protocol]) as ws:
        assert _init(ws, key)["type"] == "connection_ack"
        yield ws


def _refused_transport(client: TestClient, key: str) -> WebSocketDisconnect:
    with (
        client.websocket_connect("/graphql", subprotocols=[TRANSPORT]) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        _init(ws, key)
    return closed.value


def _assert_refused(client: TestClient, key: str) -> None:
    closed = _refused_transport(client, key)
    assert closed.code == 4429, (closed.code, closed.reason)
    assert str(LIMIT) in closed.reason and "connections" in closed.reason, closed.reason


def test_a_key_past_its_connections_is_refused(
    client: TestClient, admin_key: str, db: Database
) -> None:
    """Any number of connections of one key were acknowledged."""
    with contextlib.ExitStack() as held:
        for _ in range(LIMIT):
            held.enter_context(_acked(client, admin_key))
        _assert_refused(client, admin_key)
        _assert_refused(client, admin_key)  # a refused connection took no slot either
        # Another key is not counted with this one.
        with _acked(client, key_for(db, "viewer")):
            pass
        # Legacy graphql-ws: a connection_error naming the limit, then the close.
        with client.websocket_connect("/graphql", subprotocols=[LEGACY]) as ws:
            message = _init(ws, admin_key)
            assert message["type"] == "connection_error", message
            assert message["payload"]["extensions"]["code"] == "RATE_LIMITED", message
            assert str(LIMIT) in message["payload"]["message"], message
            with pytest.raises(WebSocketDisconnect):
                ws.receive_json()


def test_both_protocols_count_together(client: TestClient, admin_key: str) -> None:
    with _acked(client, admin_key, LEGACY), _acked(client, admin_key, TRANSPORT):
        _assert_refused(client, admin_key)


def _close_by_client(ws: Any) -> None:
    ws.close(1000)


def _close_by_bad_message(ws: Any) -> None:
    ws.send_json({"type": "nonsense"})  # the server closes it (4400)
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4400


def _close_by_second_init(ws: Any) -> None:
    ws.send_json({"type": "connection_init", "payload": {}})  # the server closes it (4429)
    with pytest.raises(WebSocketDisconnect):
        ws.receive_json()


@pytest.mark.parametrize(
    "close", [_close_by_client, _close_by_bad_message, _close_by_second_init, None]
)
def test_a_closed_connection_frees_its_slot(client: TestClient, admin_key: str, close: Any) -> None:
    """`None`: the connection's task is cancelled when the client leaves (the test
    client cancels it on exit), without any close message read."""
    with _acked(client, admin_key):
        with _acked(client, admin_key) as second:
            _assert_refused(client, admin_key)
            if close is not None:
                close(second)
        for _ in range(3):  # the slot is back, each time
            with _acked(client, admin_key):
                _assert_refused(client, admin_key)


def test_a_legacy_connection_frees_its_slot(client: TestClient, admin_key: str) -> None:
    with _acked(client, admin_key):
        with _acked(client, admin_key, LEGACY) as second:
            second.send_json({"type": "connection_terminate"})
            with pytest.raises(WebSocketDisconnect):
                while True:  # keep-alives may come first
                    assert second.receive_json()["type"] == "ka"
        with _acked(client, admin_key, LEGACY):
            _assert_refused(client, admin_key)


def test_a_revoked_keys_connections_free_their_slots(settings: Settings, db: Database) -> None:
    """The server closes them (4401), and their slots are free."""
    key = key_for(db, "viewer", "revoked-ws")
    uncached = settings.model_copy(update={"key_cache_seconds": 0})
    with TestClient(create_app(uncached)) as client:
        with _acked(client, key) as first, _acked(client, key) as second:
            api_keys.revoke_key(db.conninfo(), "revoked-ws")
            for ws in (first, second):
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
                assert closed.value.code == 4401
        app: Any = client.app
        view = next(r.endpoint for r in app.routes if isinstance(r.endpoint, PartnerbookGraphQL))
        assert view.key_connections.open_count() == 0, view.key_connections
