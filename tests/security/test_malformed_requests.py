"""A client's mistake is a 400 with a BAD_REQUEST error, never a 500, a traceback in the
log or raw Python text in the answer; nothing is recorded."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import event_count
from tests.e2e.ws_client import websocket
from tests.security.conftest import Live

CREATE = """mutation($name: String!) {
  createPartner(input: {kind: COMPANY, name: $name}) { partner { id } userErrors { code } }
}"""
PAGE = "query($f: Int) { partners(first: $f) { totalCount } }"
PYTHON_TEXT = (
    "invalid literal",
    "Traceback",
    "object has no attribute",
    "Exceeds the limit",
    "maximum recursion",
    "codec can't decode",
    "Internal Server Error",
    "NoneType",
    "Expecting value",
)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


MALFORMED_BODIES: dict[str, tuple[bytes, str]] = {
    "invalid utf-8": (b'{"query": "{ partners { totalCount } }\xff\xfe"}', "application/json"),
    "deep json": (
        ('{"query": "{ __typename }", "variables": {"a": ' + _deep(100_000) + "}}").encode(),
        "application/json",
    ),
    "deep json as the body": (_deep(5_000).encode(), "application/json"),
    "a string": (b'"{ __typename }"', "application/json"),
    "a number": (b"42", "application/json"),
    "null": (b"null", "application/json"),
    "not json": (b"{query: oops", "application/json"),
    "empty": (b"", "application/json"),
    "NaN": (b'{"query": "{ __typename }", "variables": {"f": NaN}}', "application/json"),
    "a 5000-digit number": (
        b'{"query": "' + PAGE.encode() + b'", "variables": {"f": ' + b"9" * 5000 + b"}}",
        "application/json",
    ),
    "text/plain": (b'{"query": "{ __typename }"}', "text/plain"),
    "no content type": (b'{"query": "{ __typename }"}', ""),
    "form": (b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
    "multipart": (b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    "query not a string": (b'{"query": 12}', "application/json"),
    "variables not an object": (
        b'{"query": "{ __typename }", "variables": [1]}',
        "application/json",
    ),
    "a batch of junk": (b'[1, "x", null, {"query": 3}]', "application/json"),
    "an empty batch": (b"[]", "application/json"),
    "no query": (b'{"variables": {}}', "application/json"),
}


def _assert_bad_request(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict), body
    errors = body["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_REQUEST"], body
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)
    assert not any(text in response.text for text in PYTHON_TEXT), response.text
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert not any("Traceback" in r.getMessage() for r in caplog.records)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


@pytest.mark.parametrize("role", ["viewer", None])
@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
def test_a_malformed_body_gets_400_bad_request(
    live: Live, caplog: pytest.LogCaptureFixture, case: str, role: str | None
) -> None:
    """With a key or without one: the body is refused before anything else."""
    body, content_type = MALFORMED_BODIES[case]
    headers = live.headers(role) | ({"content-type": content_type} if content_type else {})
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.http.post(live.url, content=body, headers=headers)
    _assert_bad_request(response, caplog)


@pytest.mark.parametrize(
    "params",
    [
        {"query": PAGE, "variables": "{not json"},
        {"query": PAGE, "variables": "[1, 2]"},
        {"query": PAGE, "variables": "[" * 5000},
        {"query": PAGE, "variables": _deep(5_000)},
        {"query": PAGE, "variables": '{"f": ' + "9" * 5000 + "}"},
        {"query": PAGE, "extensions": "oops"},
        {"query": "{ __typename }", "variables": '"a string"'},
    ],
    ids=["not-json", "a-list", "unclosed", "deep", "huge-number", "bad-extensions", "a-string"],
)
def test_a_get_with_malformed_params_gets_400_bad_request(
    live: Live, caplog: pytest.LogCaptureFixture, params: dict[str, str]
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.http.get(live.url, params=params, headers=live.headers("viewer"))
    _assert_bad_request(response, caplog)


def test_a_get_with_undecodable_params_gets_400_bad_request(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.http.get(
            f"{live.url}?query=%7B__typename%7D&variables=%FF%FE", headers=live.headers("viewer")
        )
    _assert_bad_request(response, caplog)


def _coded_without_python_text(response: httpx.Response) -> list[str]:
    body = response.json()
    assert body.get("errors"), body
    assert not any(text in response.text for text in PYTHON_TEXT), response.text
    assert response.status_code in (200, 400), response.status_code
    codes: list[str] = [e["extensions"]["code"] for e in body["errors"]]
    return codes


@pytest.mark.parametrize(
    "value",
    ["abc", 2**31, -(2**31) - 1, 2**70, 1.5, 1e308, [1], {"a": 1}, True],
    ids=["text", "int32+1", "int32-1", "2^70", "fraction", "1e308", "list", "object", "bool"],
)
def test_a_wrong_or_oversized_variable_is_a_coded_error(
    live: Live, caplog: pytest.LogCaptureFixture, value: Any
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.post(PAGE, {"f": value}, role="viewer")
    assert _coded_without_python_text(response) == ["BAD_REQUEST"]
    assert "$f" in response.json()["errors"][0]["message"]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    "raw",
    [b"1e400", b"-1e400", b"1" + b"0" * 400, b"1" + b"0" * 5000],
    ids=["1e400", "-1e400", "10^400", "10^5000"],
)
def test_an_oversized_json_number_is_refused(
    live: Live, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    body = b'{"query": "' + PAGE.encode() + b'", "variables": {"f": ' + raw + b"}}"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.http.post(
            live.url,
            content=body,
            headers=live.headers("viewer") | {"content-type": "application/json"},
        )
    assert response.status_code == 400, response.text
    assert _coded_without_python_text(response) == ["BAD_REQUEST"]
    assert not any(r.exc_info for r in caplog.records)


def test_a_mutation_with_a_wrong_variable_records_nothing(live: Live) -> None:
    before = event_count(live.db)
    for value in (12, ["x"], {"a": "b"}, None):
        response = live.post(CREATE, {"name": value}, role="editor")
        assert _coded_without_python_text(response) == ["BAD_REQUEST"]
    assert event_count(live.db) == before


def test_a_malformed_batch_item_is_refused_whole(live: Live) -> None:
    before = event_count(live.db)
    body = json.dumps([{"query": CREATE, "variables": {"name": "Batch Co"}}, 5]).encode()
    response = live.http.post(
        live.url,
        content=body,
        headers=live.headers("editor") | {"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_REQUEST"]
    assert event_count(live.db) == before


async def _ws_exchange(live: Live, *, legacy: bool, raw: str) -> list[Any]:
    """What the server sends back (messages, then the close code) after `raw`."""
    received: list[Any] = []
    async with websocket(live.base, legacy=legacy, key=live.keys["viewer"]) as session:
        await session.ws.send(raw)
        try:
            while True:
                async with asyncio.timeout(10):
                    message = json.loads(await session.ws.recv())
                if message["type"] in ("ka", "ping", "pong"):
                    continue
                received.append(message)
                if message["type"] in ("error", "complete"):
                    break
        except ConnectionClosed as closed:
            received.append(closed.rcvd.code if closed.rcvd else None)
        except TimeoutError:
            received.append("silence")
    return received


@pytest.mark.parametrize("legacy", [False, True], ids=["transport-ws", "legacy-ws"])
def test_websocket_junk_is_refused_cleanly(
    live: Live, caplog: pytest.LogCaptureFixture, legacy: bool
) -> None:
    """Deep JSON closes the connection (graphql-ws ignores it) without a traceback; a
    wrong variable type is a coded error without Python text."""
    kind = "start" if legacy else "subscribe"
    wrong = json.dumps(
        {
            "id": "1",
            "type": kind,
            "payload": {
                "query": "subscription($ids: [ID!]) { partnerChanged(partnerIds: $ids) { id } }",
                "variables": {"ids": [{"a": 1}]},
            },
        }
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        deep = asyncio.run(_ws_exchange(live, legacy=legacy, raw=_deep(100_000)))
        typed = asyncio.run(_ws_exchange(live, legacy=legacy, raw=wrong))
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert deep == (["silence"] if legacy else [4400]), deep
    text = json.dumps(typed)
    assert not any(t in text for t in PYTHON_TEXT), typed
    assert typed and typed[0]["type"] == "error", typed


def test_a_deeply_nested_document_is_a_coded_error(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """Within the token limit, braces nested past Python's stack in the parser."""
    query = "{" + "a {" * 2000 + "id" + "}" * 2000 + "}"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = live.post(query, role="viewer")
    codes = _coded_without_python_text(response)
    assert codes in (["BAD_REQUEST"], ["LIMIT_EXCEEDED"]), response.text
    assert not any(r.exc_info for r in caplog.records)
