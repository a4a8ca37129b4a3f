"""A WebSocket message of the wrong shape (after a valid `connection_init`) is refused with
a coded answer, never a traceback in the log or a dropped connection (1006):
graphql-transport-ws closes with 4400 and a reason, legacy graphql-ws answers `error`
(for an operation it can name) or `connection_error` and keeps the connection. A message
over `PARTNERBOOK_MAX_BODY_BYTES` is closed with 1009 before it is decoded, by the view
and by uvicorn as `partnerbook serve` runs it.

Each test sends all its cases to one server (one connection each, or one for a legacy
case and the operation after it): a server per case took minutes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.infra.database import Database
from app.schema.live.messages import MAX_OPERATION_ID
from app.schema.schema import build_schema
from tests.e2e.test_server import serving
from tests.e2e.ws_client import KEYS, websocket
from tests.security.conftest import Live, no_traceback
from tests.security.test_malformed_requests import PYTHON_TEXT

TYPENAME = {"query": "{ __typename }"}
INVALID = {"query": "subscription { nope }"}
"""A legacy operation answered at once (graphql-ws runs subscriptions only, and a valid
one stays silent until an event): an `error` for its id, proof the connection runs it."""
FEED = {"query": "subscription { partnerChanged { eventType } }"}


def _message(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def _junk_operations(kind: str) -> dict[str, str]:
    """Messages of type `kind` (`subscribe` or `start`) with a good id, a wrong payload."""
    return {
        "payload null": _message(kind, id="1", payload=None),
        "payload a string": _message(kind, id="1", payload="x"),
        "no payload": _message(kind, id="1"),
        "query a list": _message(kind, id="1", payload={"query": ["x"]}),
        "query a number": _message(kind, id="1", payload={"query": 5}),
        "no query": _message(kind, id="1", payload={"variables": {}}),
        "variables a list": _message(kind, id="1", payload={**TYPENAME, "variables": [1]}),
        "variables a string": _message(kind, id="1", payload={**TYPENAME, "variables": "x"}),
        "operationName a number": _message(kind, id="1", payload={**TYPENAME, "operationName": 5}),
        "extensions a list": _message(kind, id="1", payload={**TYPENAME, "extensions": [1]}),
    }


def _junk_ids(kind: str, end: str) -> dict[str, str]:
    """Operations (`kind`) and their ends (`end`: `complete` or `stop`) whose id is not an
    id: not a string, empty, or over MAX_OPERATION_ID characters."""
    ids: dict[str, Any] = {
        "a dict": {"a": 1},
        "a list": [1],
        "null": None,
        "a number": 5,
        "true": True,
        "empty": "",
        "too long": "x" * (MAX_OPERATION_ID + 1),
    }
    junk = {f"{kind} id {name}": _message(kind, id=v, payload=TYPENAME) for name, v in ids.items()}
    junk[f"{kind} without id"] = _message(kind, payload=TYPENAME)
    junk[f"{end} id a list"] = _message(end, id=[1])
    junk[f"{end} id a dict"] = _message(end, id={"a": 1})
    junk[f"{end} id a number"] = _message(end, id=5)
    return junk


NOT_MESSAGES = {
    "a list": "[1]",
    "a string": '"x"',
    "a number": "5",
    "null": "null",
    "no type": "{}",
    "type a number": '{"type": 5}',
    "type a list": '{"type": ["subscribe"], "id": "1"}',
}
TRANSPORT_JUNK = {
    **_junk_operations("subscribe"),
    **_junk_ids("subscribe", "complete"),
    **NOT_MESSAGES,
    "ping payload a string": _message("ping", payload="x"),
    "pong payload a list": _message("pong", payload=[1]),
}
LEGACY_OPERATION_JUNK = _junk_operations("start")
LEGACY_JUNK = {**_junk_ids("start", "stop"), **NOT_MESSAGES}


@dataclass
class Exchange:
    received: list[dict[str, Any]] = field(default_factory=list)
    """What the server sent, keep-alives left out."""
    closed: tuple[int, str] | None = None
    """The close code and reason, when the server closed the connection."""

    def kinds(self) -> list[tuple[str, Any]]:
        return [(m["type"], m.get("id")) for m in self.received]

    async def read(
        self,
        ws: Any,
        *,
        wait: float,
        until: tuple[str, Any] | None = None,
        most: int | None = None,
    ) -> Exchange:
        """Reads what `ws` sends until the server closes, sends `until` (type, id), has
        sent `most` messages, or stays silent for `wait` seconds."""
        try:
            while (most is None or len(self.received) < most) and (
                until is None or self.kinds()[-1:] != [until]
            ):
                async with asyncio.timeout(wait):
                    message = json.loads(await ws.recv())
                if message["type"] not in ("ka", "ping", "pong"):
                    self.received.append(message)
        except ConnectionClosed as closed:
            self.closed = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "")
        except TimeoutError:
            pass
        return self


async def _session(
    live: Live, raws: list[str], *, legacy: bool, until: tuple[str, str] | None = None
) -> Exchange:
    """Sends each of `raws` after `connection_init`; what comes back until the server
    closes, sends `until` (type, id), or stays silent for 10 s."""
    async with websocket(live.base, legacy=legacy, key=live.keys["viewer"]) as session:
        for raw in raws:
            await session.ws.send(raw)
        return await Exchange().read(session.ws, wait=10, until=until)


def _bad_request(payload: dict[str, Any], code: str = "BAD_REQUEST") -> None:
    assert payload["extensions"]["code"] == code and payload["message"], payload
    text = json.dumps(payload)
    assert not any(t in text for t in PYTHON_TEXT), text


def test_graphql_transport_ws_closes_a_malformed_message_with_4400(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """The spec's answer to an invalid message: close 4400 with a reason; nothing sent
    back before (an id that is not a string was echoed; a bad payload got `complete`)."""
    wrong: dict[str, Exchange] = {}
    for name, raw in TRANSPORT_JUNK.items():
        exchange = asyncio.run(_session(live, [raw], legacy=False))
        closed = exchange.closed
        if exchange.received or closed is None or closed[0] != 4400 or not closed[1]:
            wrong[name] = exchange
        else:
            assert not any(t in closed[1] for t in PYTHON_TEXT), closed
    assert wrong == {}
    no_traceback(log)


def test_graphql_ws_answers_a_malformed_start_with_an_error_for_its_id(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """Legacy graphql-ws reports a bad operation as an `error` for its id, BAD_REQUEST
    (as it reports one that does not validate); the connection stays open and runs the
    next operation."""
    then = _message("start", id="2", payload=INVALID)
    wrong: dict[str, Exchange] = {}
    for name, raw in LEGACY_OPERATION_JUNK.items():
        exchange = asyncio.run(_session(live, [raw, then], legacy=True, until=("error", "2")))
        if exchange.closed or exchange.kinds() != [("error", "1"), ("error", "2")]:
            wrong[name] = exchange
        else:
            _bad_request(exchange.received[0]["payload"])
    assert wrong == {}
    no_traceback(log)


def test_graphql_ws_answers_a_malformed_message_with_connection_error(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """A message legacy graphql-ws cannot take (not an object, no `type`, no usable id)
    gets `connection_error`, BAD_REQUEST, and is otherwise ignored, as the protocol says
    of a message it cannot parse: the connection stays open and runs the next one."""
    then = _message("start", id="2", payload=INVALID)
    wrong: dict[str, Exchange] = {}
    for name, raw in LEGACY_JUNK.items():
        exchange = asyncio.run(_session(live, [raw, then], legacy=True, until=("error", "2")))
        if exchange.closed or exchange.kinds() != [("connection_error", None), ("error", "2")]:
            wrong[name] = exchange
        else:
            _bad_request(exchange.received[0]["payload"])
    assert wrong == {}
    no_traceback(log)


def test_a_start_before_connection_init_is_closed_with_4401_whatever_its_shape(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """Over legacy graphql-ws, authentication comes first: an operation before the
    connection is acknowledged closes it (4401), however malformed, and gets no answer
    on its shape."""
    url = live.base.replace("http://", "ws://") + "/graphql"

    async def start_first(raw: str) -> int | None:
        async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(raw)
            try:
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
            except TimeoutError:
                return None

    for raw in (_message("start", id={"a": 1}, payload=None), _message("start", id="1")):
        assert asyncio.run(start_first(raw)) == 4401, raw
    no_traceback(log)


def test_a_document_that_does_not_parse_is_an_error_for_its_id(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """A syntax error (or a document over the token limit) escaped the subscription as a
    traceback, and graphql-transport-ws got only `complete`: now an `error` for its id
    (BAD_REQUEST, or LIMIT_EXCEEDED as over HTTP), over both protocols."""
    documents = {
        "syntax": ("z" * 300, "BAD_REQUEST"),
        "tokens": ("{" + " a" * 6000 + " }", "LIMIT_EXCEEDED"),
    }
    for name, (document, code) in documents.items():
        for kind, legacy in (("subscribe", False), ("start", True)):
            raw = _message(kind, id="1", payload={"query": document})
            exchange = asyncio.run(_session(live, [raw], legacy=legacy, until=("error", "1")))
            assert exchange.kinds() == [("error", "1")], (name, kind, exchange)
            payload = exchange.received[0]["payload"]
            _bad_request(payload if legacy else payload[0], code)
    no_traceback(log)


def test_an_operation_the_protocol_cannot_run_is_an_error_for_its_id(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """An `operationName` the document does not have (both protocols), and a query or a
    mutation over legacy graphql-ws, which runs subscriptions only: INTERNAL and a
    traceback before; now BAD_REQUEST for the operation, with what to do instead."""
    unknown = {**FEED, "operationName": "Nope"}
    cases = [
        ("subscribe", False, unknown),
        ("start", True, unknown),
        ("start", True, TYPENAME),
        ("start", True, {"query": "mutation { __typename }"}),
    ]
    for kind, legacy, payload in cases:
        raw = _message(kind, id="1", payload=payload)
        exchange = asyncio.run(_session(live, [raw], legacy=legacy, until=("error", "1")))
        assert exchange.kinds() == [("error", "1")], (kind, payload, exchange)
        answer = exchange.received[0]["payload"]
        _bad_request(answer if legacy else answer[0])
    no_traceback(log)


def test_a_close_reason_quoting_the_client_is_cut_to_fit_a_close_frame(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """strawberry's reasons quote the client (an unknown type, a duplicate id): past the
    123 bytes a close frame holds, the close failed with a traceback (1006). They are
    cut, a lone surrogate replaced."""
    widest = "\U0001f600" * MAX_OPERATION_ID  # 4 bytes each
    cases = {
        "unknown type": ([_message("y" * 300)], 4400),
        "duplicate id": ([_message("subscribe", id=widest, payload=FEED)] * 2, 4409),
        "a lone surrogate": ([_message("subscribe", id="\ud800", payload=FEED)] * 2, 4409),
    }
    wrong: dict[str, Exchange] = {}
    for name, (raws, code) in cases.items():
        exchange = asyncio.run(_session(live, raws, legacy=False))
        closed = exchange.closed
        if closed is None or closed[0] != code or not 0 < len(closed[1].encode()) <= 123:
            wrong[name] = exchange
    assert wrong == {}
    no_traceback(log)


def _padded(live: Live, kind: str, payload: dict[str, Any], size: int) -> str:
    """An operation of exactly `size` bytes (an unused variable pads it)."""
    head = _message(kind, id="1", payload={**payload, "variables": {"a": ""}})
    padding = size - len(head.encode())
    return head.replace('"a": ""', '"a": "' + "x" * padding + '"')


def test_a_message_over_the_body_limit_is_closed_with_1009(
    live: Live, log: pytest.LogCaptureFixture
) -> None:
    """The HTTP body limit holds for a WebSocket message too (one was decoded and walked up
    to uvicorn's 16 MiB): closed with 1009 naming the limit, nothing run; one at the limit
    exactly runs. Both protocols."""
    limit = live.settings.max_body_bytes
    for legacy, kind, payload, answer in (
        (False, "subscribe", TYPENAME, [("next", "1"), ("complete", "1")]),
        (True, "start", INVALID, [("error", "1")]),
    ):
        over = _padded(live, kind, payload, limit + 1)
        exchange = asyncio.run(_session(live, [over], legacy=legacy))
        assert exchange.received == [], exchange
        assert exchange.closed == (1009, f"the message is over {limit} bytes"), exchange
        at_limit = _padded(live, kind, payload, limit)
        exchange = asyncio.run(_session(live, [at_limit], legacy=legacy, until=answer[-1]))
        assert exchange.kinds() == answer, exchange
    no_traceback(log)


@pytest.mark.timeout(900)
def test_partnerbook_serve_caps_websocket_messages_in_uvicorn(db: Database, tmp_path: Path) -> None:
    """`partnerbook serve` gives uvicorn the body limit as its WebSocket message limit, so
    an oversized message is refused as it arrives (not read whole first): the close
    reason is uvicorn's, not the view's."""
    env = {
        "PARTNERBOOK_DATABASE_URL": db.dsn,
        "PARTNERBOOK_MAX_BODY_BYTES": "2048",
        "PARTNERBOOK_HEAVY_LANE": "false",
    }
    big = _message("subscribe", id="1", payload={"query": "x" * 4096})

    async def send_big(base: str) -> tuple[int, str]:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"Authorization": f"Bearer {KEYS[base]}"}
            await ws.send(_message("connection_init", payload=init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(big)
            try:
                async with asyncio.timeout(30):
                    await ws.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None, closed
                return closed.rcvd.code, closed.rcvd.reason
            raise AssertionError("the connection stayed open")

    with serving(env, tmp_path) as base:
        code, reason = asyncio.run(send_big(base))
    assert code == 1009, (code, reason)
    assert not reason.startswith("the message is over"), reason


def test_a_query_that_is_not_a_string_is_a_bad_request_in_the_schema() -> None:
    """Below the views' checks: a list reached the parse cache (`unhashable type`) and was
    answered INTERNAL."""
    result = asyncio.run(build_schema().execute(["x"]))  # type: ignore[arg-type]
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "BAD_REQUEST"}], result.errors
