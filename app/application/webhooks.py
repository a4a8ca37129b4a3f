"""Commands on webhook endpoints (admin only, checked by the API): created, changed,
rotated, disabled and enabled, replayed and deleted, each an event of the endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from app.application.base import CommandResult
from app.application.setting_commands import SettingCommands
from app.domain.audited import Audit
from app.domain.webhook import WebhookEndpoint


class WebhookCommands(SettingCommands):
    """An endpoint's id is chosen by the caller: its secret is stored under it first."""

    def create_webhook_endpoint(
        self,
        endpoint_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        *,
        allow_http: bool,
    ) -> CommandResult:
        """No idempotency key: a repeated request would not show the secret again, so a
        client that lost the answer deletes the endpoint it cannot sign for."""
        endpoint = WebhookEndpoint.create(
            endpoint_id=endpoint_id, values=values, audit=audit, allow_http=allow_http
        )
        return self._save_new(endpoint, None, WebhookEndpoint)

    def update_webhook_endpoint(
        self,
        endpoint_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
        *,
        allow_http: bool,
    ) -> CommandResult:
        return self._update(
            WebhookEndpoint,
            endpoint_id,
            expected_version,
            lambda e: e.update(changes, audit, allow_http=allow_http),
        )

    def rotate_webhook_secret(
        self, endpoint_id: UUID, grace_seconds: int, audit: Audit
    ) -> CommandResult:
        return self._update(
            WebhookEndpoint, endpoint_id, None, lambda e: e.rotate_secret(grace_seconds, audit)
        )

    def disable_webhook_endpoint(
        self, endpoint_id: UUID, why: str, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(
            WebhookEndpoint, endpoint_id, expected_version, lambda e: e.disable(why, audit)
        )

    def enable_webhook_endpoint(
        self, endpoint_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(
            WebhookEndpoint, endpoint_id, expected_version, lambda e: e.enable(audit)
        )

    def replay_webhook_endpoint(
        self, endpoint_id: UUID, after_position: int, audit: Audit
    ) -> CommandResult:
        return self._update(
            WebhookEndpoint, endpoint_id, None, lambda e: e.replay(after_position, audit)
        )

    def delete_webhook_endpoint(
        self, endpoint_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._delete_setting(WebhookEndpoint, endpoint_id, audit, expected_version)
