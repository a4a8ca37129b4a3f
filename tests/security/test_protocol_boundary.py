"""The HTTP boundary, attacked with raw requests: a request's head (line and headers)
held to a size by `partnerbook serve`, a body cut short never run, a body's media type
and charset checked exactly, JSON that names a key twice refused, and the metrics'
operation names out of reach of clients without a key."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from app.infra import api_keys
from app.infra.database import Database
from app.observability import MAX_OPERATION_NAMES_PER_KEY
from app.schema.limits.request import MAX_REQUEST_HEAD_BYTES
from tests.conftest import event_count
from tests.security.conftest import Live
from tests.security.instances import serve_process

TAG = 'mutation { createTag(input: {name: "%s"}) { tag { id } userErrors { code } } }'
TAGS = "{ tags(first: 100) { nodes { name } } }"


def _exchange(base: str, head: bytes, rest: bytes = b"") -> bytes:
    """Sends `head` in pieces of 8 KB, then `rest`; everything the server answers, up to
    its close (each request here says `Connection: close`)."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=120) as sock:
        for start in range(0, len(head), 8192):
            sock.sendall(head[start : start + 8192])
        sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _refused(answer: bytes, status: int) -> None:
    got, body = _status_and_body(answer)
    assert got == status, answer[:300]
    error = json.loads(body)["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert str(MAX_REQUEST_HEAD_BYTES) in error["message"], error


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`partnerbook serve` as run in production (its own process), and an admin key."""
    key = api_keys.create_key(db.conninfo(), "protocol", "admin")
    with serve_process({"PARTNERBOOK_DATABASE_URL": db.url}, tmp_path) as (base, _):
        yield base, key


def test_a_request_head_over_its_limit_is_refused_before_the_app(
    served: tuple[str, str],
) -> None:
    """Headers and URL were kept however large (200 MB of headers were held by one
    connection): past MAX_REQUEST_HEAD_BYTES, 431 or 414 with a GraphQL error."""
    base, key = served
    start = b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    end = b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    many = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 8000) for n in range(13))
    _refused(_exchange(base, start + many, end), 431)
    one = b"X-Pad: " + b"a" * 100_000 + b"\r\n"
    _refused(_exchange(base, start + one, end), 431)
    url = b"GET /graphql?query=" + b"%20" * 35_000 + b"%7B__typename%7D"
    _refused(_exchange(base, url, b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 414)

    # Under the limit, a large header, a long GET and a large body are served as before.
    auth = b"Authorization: Bearer " + key.encode() + b"\r\n"
    body = json.dumps({"query": "{ __typename }", "extensions": {"pad": "a" * 900_000}})
    for request in (
        start + auth + b"X-Pad: " + b"a" * 30_000 + b"\r\n" + end[:-4] + b"\r\n\r\n{}",
        start + auth + b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()),
        b"GET /graphql?query=" + b"%20" * 10_000 + b"%7B__typename%7D HTTP/1.1\r\n"
        b"Host: x\r\nConnection: close\r\n" + auth + b"\r\n",
    ):
        status, answer = _status_and_body(_exchange(base, request))
        assert status in (200, 400), answer[:300]
        assert b"LIMIT_EXCEEDED" not in answer, answer[:300]
    assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200


def test_the_head_is_told_from_the_body_however_the_request_arrives(
    served: tuple[str, str],
) -> None:
    """A read may hold a whole request: counting what the parser had taken by the end of
    a read counted a request of 70 KB, body too, as its head (its connection was closed
    unanswered), and let a 100 KB header that came in one read reach the app. Each is
    sent here in one piece and in pieces of 8 KB: the answer is the same."""
    base, key = served
    auth = b"Authorization: Bearer " + key.encode() + b"\r\n"
    body = json.dumps({"query": "{ __typename }", "extensions": {"pad": "a" * 70_000}})
    whole = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + auth
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body.encode())
    )
    big_head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + auth
        + b"X-Pad: "
        + b"a" * 100_000
        + b"\r\nContent-Length: 2\r\n\r\n{}"
    )
    for one_piece in (True, False):
        sent = _exchange_whole if one_piece else _exchange
        status, answer = _status_and_body(sent(base, whole))
        assert status == 200 and b"__typename" in answer, answer[:300]
        _refused(sent(base, big_head), 431)


def _exchange_whole(base: str, request: bytes) -> bytes:
    """`_exchange`, the request sent in one `sendall`."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=120) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_cut_short_is_not_run(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    """A Content-Length 500 bytes over a complete mutation, then the client closes: the
    mutation ran (its body was taken as what came)."""
    body = json.dumps({"query": TAG % "cut-short"}).encode()
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
        % (live.keys["editor"].encode(), len(body) + 500)
    )
    address = urlsplit(live.base)
    with caplog.at_level(logging.INFO, logger="partnerbook.http"):
        with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
            sock.sendall(head + body)
        deadline = time.monotonic() + 60  # a guard only: either outcome ends the wait
        while not any("abandoned" in r.getMessage() for r in caplog.records):
            if "cut-short" in json.dumps(live.data(TAGS)):
                break
            assert time.monotonic() < deadline, "the request was neither run nor abandoned"
            time.sleep(0.05)
    assert "cut-short" not in json.dumps(live.data(TAGS))
    assert event_count(live.db) == 0


def _post(live: Live, body: bytes, content_type: str) -> httpx.Response:
    headers = live.headers("editor") | {"content-type": content_type}
    return live.http.post(live.url, content=body, headers=headers)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/jsonx",
        "application/json-patch+json",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/json; charset=klingon",
    ],
)
def test_a_body_of_another_media_type_or_charset_is_refused(live: Live, content_type: str) -> None:
    """Any type containing `application/json` was read as JSON, and any charset as
    UTF-8: Latin-1 `Ã©` (bytes C3 A9) was recorded as `é`."""
    body = json.dumps({"query": TAG % "Caf\u00c3\u00a9"}, ensure_ascii=False)
    encoding = "utf-16" if "utf-16" in content_type else "latin-1"
    response = _post(live, body.encode(encoding), content_type)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Unsupported content type" in error["message"], error
    assert event_count(live.db) == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=UTF-8", 'application/json;charset="utf8"'],
)
def test_json_in_utf8_is_read_however_it_is_written(live: Live, content_type: str) -> None:
    response = _post(live, json.dumps({"query": TAG % "Café"}).encode(), content_type)
    assert response.json()["data"]["createTag"]["userErrors"] == [], response.text


@pytest.mark.parametrize("mutation_first", [True, False])
def test_json_naming_a_key_twice_is_refused(live: Live, mutation_first: bool) -> None:
    """`{"query": A, "query": B}` ran B; a proxy or log reading A saw another request."""
    queries = [json.dumps(TAG % "twice"), json.dumps("{ __typename }")]
    if not mutation_first:
        queries.reverse()
    body = f'{{"query": {queries[0]}, "query": {queries[1]}}}'
    response = _post(live, body.encode(), "application/json")
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "`query` twice" in error["message"], error
    got = live.http.get(
        live.url,
        params={"query": "query($a: Int) { __typename }", "variables": '{"a": 1, "a": 2}'},
        headers=live.headers("viewer"),
    )
    assert got.status_code == 400 and "`a` twice" in got.text, got.text
    assert event_count(live.db) == 0


def test_clients_without_a_key_cannot_take_the_metrics_operation_names(live: Live) -> None:
    """The first 200 names became labels for good: 201 requests without a key made every
    later operation count as `other`."""
    for n in range(205):
        response = live.post(f"query Junk{n} {{ __typename }}", role=None)
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    live.data("query RealDashboard { __typename }", role="viewer")
    metrics = live.http.get(f"{live.base}/metrics").text
    assert 'operation_name="RealDashboard"' in metrics
    assert "Junk" not in metrics
    assert 'operation_name="unauthenticated"' in metrics


def test_one_key_cannot_take_the_metrics_operation_names_of_the_others(live: Live) -> None:
    """A client that names each request anew (`Query_<uuid>`, as some client libraries
    do) took the first 200 names as labels for good: every operation of every other
    client then counted as `other`, and the dashboards went blind."""
    for n in range(205):
        live.data(f"query Junk{n} {{ __typename }}", role="viewer")
    live.data("query RealDashboard { __typename }", role="editor")
    metrics = live.http.get(f"{live.base}/metrics").text
    assert 'operation_name="RealDashboard"' in metrics
    junk = {
        line.split('operation_name="')[1].split('"')[0]
        for line in metrics.splitlines()
        if 'operation_name="Junk' in line
    }
    assert 0 < len(junk) <= MAX_OPERATION_NAMES_PER_KEY
    assert 'operation_name="other"' in metrics


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain-said-gzip"])
def test_a_body_with_a_content_encoding_is_refused(live: Live, compressed: bool) -> None:
    """Content-Encoding was ignored: a gzip body was refused as `not valid UTF-8`, and a
    plain one declared gzip ran (what a proxy that inflates bodies saw was not what ran)."""
    body = json.dumps({"query": TAG % "encoded"}).encode()
    headers = live.headers("editor") | {
        "content-type": "application/json",
        "content-encoding": "gzip",
    }
    response = live.http.post(
        live.url, content=gzip.compress(body) if compressed else body, headers=headers
    )
    assert response.status_code == 415, response.text
    assert response.headers["accept-encoding"] == "identity"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Content-Encoding `gzip`" in error["message"], error
    assert event_count(live.db) == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_another_method_gets_a_graphql_error(live: Live, method: str) -> None:
    """Starlette answered these `Method Not Allowed` in plain text."""
    response = live.http.request(
        method, live.url, content=b'{"query": "{ __typename }"}', headers=live.headers("viewer")
    )
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
