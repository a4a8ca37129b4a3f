"""An app whose webhooks may call 127.0.0.1 and retry at once (tiny backoff): retry
tests are driven by the receiver's progress, never by the clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import gql

FAST = {
    "webhooks_allow_private": True,
    "webhook_backoff_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.2,
    "webhook_timeout_seconds": 5.0,
}

CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url secret enabled eventKinds disabledReason }
    userErrors { field code message } } }"""
CREATE_PARTNER = """mutation($name: String!, $customer: Boolean) {
  createPartner(input: {kind: COMPANY, name: $name, isCustomer: $customer}) {
    partner { id } userErrors { code message } } }"""
UPDATE_PARTNER = """mutation($id: ID!, $name: String!) {
  updatePartner(input: {id: $id, name: $name}) { partner { id } userErrors { code } } }"""


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


@pytest.fixture
def hooks(hook_settings: Settings, admin_key: str) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(hook_settings), headers=headers) as client:
        yield client


def endpoint(client: TestClient, **input: Any) -> dict[str, Any]:
    payload = gql(client, CREATE_ENDPOINT, {"input": input})["createWebhookEndpoint"]
    assert payload["userErrors"] == [], payload
    created: dict[str, Any] = payload["endpoint"]
    return created


def partner(client: TestClient, name: str, customer: bool | None = None) -> str:
    payload = gql(client, CREATE_PARTNER, {"name": name, "customer": customer})["createPartner"]
    assert payload["userErrors"] == [], payload
    ident: str = payload["partner"]["id"]
    return ident
