"""A URL whose host is no IDNA name (an empty label, a label over 63 characters) parses,
but neither the resolver nor TLS can encode its host: it is refused as an endpoint's
address, and an endpoint saved with one before that check fails its attempts like any
unreachable one (recorded, retried, then disabled), with no traceback in the log."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.domain import webhook
from app.settings import Settings
from app.webhooks.sender import RefusedAddress, Session, resolve
from tests.conftest import gql
from tests.webhooks.conftest import CREATE_ENDPOINT, FAST, endpoint, partner

NO_IDNA = [
    "https://a..b/hook",
    "https://" + "a" * 64 + ".example.com/hook",
    "https://.example.com/hook",
    "https://example.com../hook",
]
IDNA = [
    "https://" + "a" * 63 + ".example.com/hook",
    "https://example.com./hook",  # the root's empty label, at the end
    "https://bücher.example/hook",
]
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
  nodes { attempt statusCode error } } }"""
ENDPOINTS = "{ webhookEndpoints { id enabled disabledReason } }"


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**FAST, "webhook_max_attempts": 3})


@pytest.mark.parametrize("url", NO_IDNA)
def test_a_host_that_is_no_idna_name_is_refused_as_an_endpoint(hooks: TestClient, url: str) -> None:
    payload = gql(hooks, CREATE_ENDPOINT, {"input": {"url": url}})["createWebhookEndpoint"]
    assert payload["endpoint"] is None
    assert payload["userErrors"] == [
        {
            "field": ["url"],
            "code": "VALIDATION",
            "message": "the URL's host is not a valid host name",
        }
    ]
    assert webhook.url_problem(url.replace("https", "http"), allow_http=True) is not None


@pytest.mark.parametrize("url", IDNA)
def test_a_host_that_is_an_idna_name_is_accepted(url: str) -> None:
    assert webhook.url_problem(url, allow_http=False) is None


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example.com"])
def test_resolving_a_host_that_is_no_idna_name_is_a_refused_address(host: str) -> None:
    with pytest.raises(RefusedAddress, match="not a valid host name"):
        asyncio.run(resolve(host, 443, allow_private=True))


def test_posting_to_such_a_url_is_a_failed_attempt() -> None:
    async def post() -> Any:
        session = Session()
        try:
            return await session.post(
                NO_IDNA[1], {}, b"{}", within=5.0, response_cap=1024, allow_private=False
            )
        finally:
            await session.close()

    outcome = asyncio.run(post())
    assert outcome.status is None and not outcome.ok
    assert "not a valid host name" in str(outcome.error)


@pytest.mark.parametrize("url", NO_IDNA[:2])
def test_an_endpoint_saved_before_the_check_fails_is_retried_then_disabled(
    hooks: TestClient,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with monkeypatch.context() as before:  # as saved by a release without the check
        before.setattr(webhook, "url_problem", lambda url, allow_http: None)
        hook = endpoint(hooks, url=url)
    partner(hooks, "Undeliverable")
    deadline = time.monotonic() + 60  # three attempts 0.05 s apart, on a busy machine
    while (found := gql(hooks, ENDPOINTS)["webhookEndpoints"][0])["enabled"]:
        assert time.monotonic() < deadline, "the endpoint was never disabled"
        time.sleep(0.1)
    assert "3 attempts" in found["disabledReason"], found
    assert "not a valid host name" in found["disabledReason"], found
    attempts = gql(hooks, DELIVERIES, {"id": hook["id"]})["webhookDeliveries"]["nodes"]
    assert [(n["attempt"], n["statusCode"]) for n in reversed(attempts)] == [
        (1, None),
        (2, None),
        (3, None),
    ]
    assert all("not a valid host name" in n["error"] for n in attempts), attempts
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert logged == [], [r.getMessage() for r in logged]
