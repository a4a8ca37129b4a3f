"""/metrics, /readyz and logs that carry the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from app.observability import JsonFormatter, RequestIdFilter, TextFormatter, WithoutQuery
from app.settings import Settings
from tests.conftest import gql, gql_raw

CREATE = """mutation Create($name: String!, $email: String) {
  createPartner(input: { kind: COMPANY, name: $name, email: $email }) {
    partner { id } userErrors { code }
  }
}"""


def test_metrics_expose_latency_errors_commands_lag_and_subscribers(client: TestClient) -> None:
    gql(client, "query Listing { partners(first: 5) { totalCount } }")
    gql(client, "query Listing { partners(first: 1) { totalCount } }")
    gql(client, CREATE, {"name": "Azure Interior"})
    gql(client, CREATE, {"name": "Deco Addict", "email": "not-an-email"})
    assert gql_raw(client, "{ partners(first: 500) { totalCount } }")["errors"]
    assert gql_raw(client, "{ nope }")["errors"]

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'partnerbook_graphql_request_duration_seconds_count{operation_name="Listing",'
        'operation_type="query"} 2.0' in text
    )
    assert 'operation_name="Create",operation_type="mutation"} 2.0' in text
    assert 'partnerbook_commands_total{command="createPartner",outcome="ok"} 1.0' in text
    assert 'partnerbook_commands_total{command="createPartner",outcome="user_error"} 1.0' in text
    assert 'partnerbook_user_errors_total{code="VALIDATION"} 1.0' in text
    assert 'partnerbook_graphql_errors_total{code="LIMIT_EXCEEDED"} 1.0' in text
    assert 'partnerbook_graphql_errors_total{code="BAD_REQUEST"} 1.0' in text
    assert "partnerbook_projection_lag_events 0.0" in text
    assert "partnerbook_subscribers 0.0" in text
    assert "partnerbook_projector_active 1.0" in text


def test_readyz_is_200_when_the_projections_keep_up(client: TestClient) -> None:
    gql(client, CREATE, {"name": "Azure Interior"})
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "lag": 0, "maxLag": 1000}


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Log lines as the JSON and the text format write them."""
    streams = (io.StringIO(), io.StringIO())
    handlers = []
    for stream, formatter in zip(streams, (JsonFormatter(), TextFormatter()), strict=True):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
    try:
        yield streams
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)


def test_lag_makes_readyz_503_and_log_lines_carry_the_request_id(
    settings: Settings, captured: tuple[io.StringIO, io.StringIO], admin_key: str
) -> None:
    lagging = settings.model_copy(
        update={"run_projector": False, "read_your_writes_timeout": 0.05, "ready_max_lag": 0}
    )
    with TestClient(create_app(lagging), headers=_auth(admin_key)) as client:
        assert client.get("/readyz").status_code == 200
        response = client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"name": "Azure Interior"}},
            headers={"x-request-id": "req-json-1"},
        )
        assert response.json()["data"]["createPartner"]["userErrors"] == []

        ready = client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["lag"] >= 1
        assert "PARTNERBOOK_READY_MAX_LAG=0" in body["reason"]
        assert "partnerbook_projection_lag_events 0.0" not in client.get("/metrics").text

    json_stream, text_stream = captured
    lines = [json.loads(line) for line in json_stream.getvalue().splitlines()]
    waited = [line for line in lines if "did not reach position" in line["message"]]
    assert waited, lines
    assert waited[0]["request_id"] == "req-json-1"
    assert waited[0]["level"] == "WARNING"
    assert "[request req-json-1]" in text_stream.getvalue()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_served_app_collects_its_youngest_objects_less_often(settings: Settings) -> None:
    """The server raises the youngest generation's threshold (app/main.py: 9 % of a
    facets request's instructions went to collections), and leaves a higher one as it is."""
    import gc

    from app.main import GC_FIRST_THRESHOLD

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        with TestClient(create_app(settings)):
            assert gc.get_threshold() == (GC_FIRST_THRESHOLD, *before[1:])
        gc.set_threshold(GC_FIRST_THRESHOLD * 5, *before[1:])
        with TestClient(create_app(settings)):
            assert gc.get_threshold()[0] == GC_FIRST_THRESHOLD * 5
    finally:
        gc.set_threshold(*before)


def test_the_access_log_leaves_out_query_strings() -> None:
    """A GET carries its variables (a person's name searched, an email) in the query
    string, and uvicorn's access log wrote the whole of it: the lines outlive an erasure
    in whatever keeps the server's logs. The path is kept, the query is not."""
    from app.observability import log_config

    stream = io.StringIO()
    logger = logging.getLogger("tests.access-log")
    handler = logging.StreamHandler(stream)
    config = log_config("text")
    assert "without_query" in config["loggers"]["uvicorn.access"]["filters"]
    handler.addFilter(WithoutQuery())
    logger.addHandler(handler)
    try:
        path = "/graphql?query=%7B+partners%28search%3A+%22Zq+Quernby%22%29+%7D&x=1"
        logger.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", path, "1.1", 200)
        logger.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/healthz", "1.1", 200)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        '127.0.0.1:5 - "GET /graphql?… HTTP/1.1" 200',
        '127.0.0.1:5 - "GET /healthz HTTP/1.1" 200',
    ]
