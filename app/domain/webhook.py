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
from app.domain.saved_text import PersonTexts, Resealable, ResealedEvent
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
    if not _encodes_as_idna(parts.hostname):
        return Message("the URL's host is not a valid host name")
    if parts.username is not None or parts.password is not None:
        return Message("the URL may not carry a user name or password")
    if parts.fragment:
        return Message("the URL may not have a fragment")
    if not allow_http and _names_a_private_host(parts.hostname):
        return Message("the URL points at a loopback or private address")
    return None


def _encodes_as_idna(host: str) -> bool:
    """Whether `host` encodes as the resolver and TLS encode a name (IDNA: no empty label
    but the root's, none over 63 characters, no character nameprep forbids): "a..b"
    parses as a URL, then fails at every delivery."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def _names_a_private_host(host: str) -> bool:
    """A literal address that is not public, or localhost (names are checked again when
    they are resolved, at each delivery)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return not is_public_address(host)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local use: never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
_IETF_GLOBAL = (ipaddress.ip_address("192.0.0.9"), ipaddress.ip_address("192.0.0.10"))


def is_public_address(address: str) -> bool:
    """Whether a webhook may connect to `address` (an IP address's text, maybe with an IPv6
    zone): globally reachable, not multicast, and, for an IPv6 address that carries an IPv4
    address (IPv4-mapped or -compatible, 6to4, NAT64, Teredo), the IPv4 address it carries
    public too: a relay or a translator would deliver it there."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_public_v4(ip)
    inner: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        return _is_public_v4(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE:
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        inner.append(ip.sixtofour)
    if ip.teredo is not None:
        inner.extend(ip.teredo)
    if ip in _NAT64_LOCAL:
        return False
    if ip in _NAT64:
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if inner:
        return all(_is_public_v4(v4) for v4 in inner)
    return ip.is_global and not ip.is_multicast


def _is_public_v4(ip: ipaddress.IPv4Address) -> bool:
    if ip in _IETF_PROTOCOL and ip not in _IETF_GLOBAL:
        return False  # IANA: 192.0.0.0/24 is not globally reachable (Python 3.11 lists less)
    return ip.is_global and not ip.is_multicast


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


class WebhookEndpoint(Resealable, Aggregate):
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
            aggregate.disabled_reason = self.why

    class Enabled(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.enabled = True
            aggregate.disabled_reason = None

    class ReplayRequested(AuditedEvent):
        """Deliver again every matching event after `after_position`."""

        after_position: int

    class Deleted(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.deleted = True

    class Resealed(ResealedEvent):
        """Description, filter and the reason it was disabled (`why`) with an erased
        person's values erased (the address is not searched: it is where events go)."""

        why: str | None

        def apply(self, aggregate: Aggregate) -> None:
            super().apply(aggregate)
            assert isinstance(aggregate, WebhookEndpoint)
            aggregate.disabled_reason = self.why

    def __init__(self, values: dict[str, Any]) -> None:
        self.values: dict[str, Any] = {
            "url": None,
            "description": None,
            "event_kinds": None,
            "filter": None,
        } | values
        self.enabled = True
        self.disabled_reason: str | None = None
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

    def reseal(self, person: PersonTexts, seal_key: UUID, audit: Audit) -> None:
        why = self.disabled_reason
        self.trigger_event(
            self.Resealed,
            **self.reseal_fields(person, seal_key),
            why=person.erased(why) if why is not None else None,
            **audit.as_event_fields(),
        )

    def _check_exists(self) -> None:
        if self.deleted:
            raise DomainError.single(ErrorCode.NOT_FOUND, "this webhook endpoint was deleted", "id")
