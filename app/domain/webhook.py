"""Webhook endpoints: where the events of the log are delivered (Standard Webhooks), which
kinds and which partners each wants, and whether delivery is on. Its secret is not here:
events are kept forever, a secret only while the endpoint lives (app/infra/webhook_secrets.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.segment import MAX_FILTER_DEPTH, _depth

MAX_URL = 2000
MAX_DESCRIPTION = 2000
MAX_KINDS = 100
MAX_DISABLED_REASON = 500


def url_problem(url: Any, *, allow_http: bool) -> str | None:
    """Why `url` cannot be an endpoint's address (its form only; where it points is
    checked when it is called), or None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        return Message("a URL of 1 to %(max)s characters is required", max=MAX_URL)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return Message("the URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return Message("not a URL")
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        if allow_http:
            return Message("the URL must be https or http")
        return Message("the URL must be https")
    if not parts.hostname:
        return Message("the URL has no host")
    if parts.username is not None or parts.password is not None:
        return Message("the URL may not carry a user name or password")
    if parts.fragment:
        return Message("the URL may not have a fragment")
    if not allow_http and _names_a_private_host(parts.hostname):
        return Message("the URL points at a loopback or private address")
    return None


def _names_a_private_host(host: str) -> bool:
    """A literal address that is not public, or localhost (names are checked again when
    they are resolved, at each delivery)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not ip.is_global


def _error(field: str, message: str) -> FieldError:
    return FieldError((field,), ErrorCode.VALIDATION, message)


def _clean(field: str, value: Any, allow_http: bool, errors: list[FieldError]) -> Any:
    if field == "url":
        problem = url_problem(value, allow_http=allow_http)
        if problem:
            errors.append(_error("url", problem))
        return value
    if field == "description":
        text = value.strip() if isinstance(value, str) else None
        if text is not None and len(text) > MAX_DESCRIPTION:
            errors.append(
                _error(field, Message("description is longer than %(max)s", max=MAX_DESCRIPTION))
            )
        return text or None
    if field == "event_kinds":
        kinds = list(value) if isinstance(value, list | tuple) else None
        if kinds is not None and (
            len(kinds) > MAX_KINDS or not all(isinstance(k, str) and k for k in kinds)
        ):
            errors.append(
                _error("eventKinds", Message("at most %(max)s event kinds", max=MAX_KINDS))
            )
        return sorted(set(kinds)) if kinds else None
    if field == "filter":
        if value is not None and (
            not isinstance(value, Mapping) or _depth(value) > MAX_FILTER_DEPTH
        ):
            errors.append(
                _error(
                    field,
                    Message(
                        "a filter nests at most %(max_filter_depth)s deep",
                        max_filter_depth=MAX_FILTER_DEPTH,
                    ),
                )
            )
        return dict(value) if value else None
    errors.append(_error(field, Message("unknown field %(field)s", field=field)))
    return None


def _validate(changes: Mapping[str, Any], allow_http: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean = {field: _clean(field, value, allow_http, errors) for field, value in changes.items()}
    if errors:
        raise DomainError(errors)
    return clean


class WebhookEndpoint(Aggregate):
    class Created(AuditedCreated):
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """URL, description, event kinds or filter changed."""

    class SecretRotated(AuditedEvent):
        """A new signing secret; the previous one still signs until `grace_until`."""

        grace_seconds: int

    class Disabled(AuditedEvent):
        """Delivery stopped: by an admin, or after the last retry failed (`why`)."""

        why: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.enabled = False

    class Enabled(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.enabled = True

    class ReplayRequested(AuditedEvent):
        """Deliver again every matching event after `after_position`."""

        after_position: int

    class Deleted(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.deleted = True

    def __init__(self, values: dict[str, Any]) -> None:
        self.values: dict[str, Any] = {
            "url": None,
            "description": None,
            "event_kinds": None,
            "filter": None,
        } | values
        self.enabled = True
        self.deleted = False

    @classmethod
    def create(
        cls, *, endpoint_id: UUID, values: Mapping[str, Any], audit: Audit, allow_http: bool
    ) -> WebhookEndpoint:
        clean = _validate({"url": None} | dict(values), allow_http)
        return cls._create(
            cls.Created,
            id=endpoint_id,
            values={k: v for k, v in clean.items() if v is not None},
            **audit.as_event_fields(),
        )

    def update(self, changes: Mapping[str, Any], audit: Audit, *, allow_http: bool) -> bool:
        self._check_exists()
        clean = _validate(changes, allow_http)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    def rotate_secret(self, grace_seconds: int, audit: Audit) -> None:
        self._check_exists()
        self.trigger_event(
            self.SecretRotated, grace_seconds=grace_seconds, **audit.as_event_fields()
        )

    def disable(self, why: str, audit: Audit) -> bool:
        self._check_exists()
        if not self.enabled:
            return False
        why = (why.strip() or "disabled")[:MAX_DISABLED_REASON]
        self.trigger_event(self.Disabled, why=why, **audit.as_event_fields())
        return True

    def enable(self, audit: Audit) -> bool:
        self._check_exists()
        if self.enabled:
            return False
        self.trigger_event(self.Enabled, **audit.as_event_fields())
        return True

    def replay(self, after_position: int, audit: Audit) -> None:
        self._check_exists()
        if after_position < 0:
            raise DomainError.single(ErrorCode.VALIDATION, "a position is 0 or more", "from")
        self.trigger_event(
            self.ReplayRequested, after_position=after_position, **audit.as_event_fields()
        )

    def delete(self, audit: Audit) -> None:
        self._check_exists()
        self.trigger_event(self.Deleted, **audit.as_event_fields())

    def _check_exists(self) -> None:
        if self.deleted:
            raise DomainError.single(ErrorCode.NOT_FOUND, "this webhook endpoint was deleted", "id")
