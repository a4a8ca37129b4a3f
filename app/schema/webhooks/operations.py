"""createWebhookEndpoint and the other admin mutations on endpoints, webhookEndpoints and
webhookDeliveries. The secret is made here, stored sealed before the endpoint exists, and
shown once; mutations never wait for a delivery."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import Message
from app.infra.webhook_secrets import new_secret
from app.schema.commands import CommandBuilder, execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAGING, described
from app.schema.errors import ClientError, UserError, user_errors
from app.schema.ids import BadId, expect_id, record_id
from app.schema.partners.inputs import PartnerFilterInput
from app.schema.relationship.enums import TimelineKind
from app.schema.relay import Connection, check_page_args, make_connection
from app.schema.segments import filter_to_json
from app.schema.webhooks.types import WebhookDelivery, WebhookEndpoint, WebhookEndpointPayload
from app.webhooks.store import WebhookStores

_INPUT = {
    "url": "Where to POST events: https (http only where the server allows it).",
    "description": "What it is for (at most 2,000 characters).",
    "event_kinds": "The kinds to deliver (the timeline's); left out or null: every kind.",
    "filter": "Only events whose partner matches this PartnerFilter now (archived "
    "partners included unless the filter says otherwise).",
    "from_position": "Re-send every matching event after this log position.",
    "from_time": "Re-send every matching event that happened at or after this time.",
}


@described(_INPUT, COMMAND)
@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str
    description: str | None = None
    event_kinds: list[TimelineKind] | None = None
    filter: PartnerFilterInput | None = None
    reason: str | None = None


@described(_INPUT, COMMAND)
@strawberry.input(description="A patch of a webhook endpoint: left out unchanged, null clears.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    url: strawberry.Maybe[str | None] = None
    description: strawberry.Maybe[str | None] = None
    event_kinds: strawberry.Maybe[list[TimelineKind] | None] = None
    filter: strawberry.Maybe[PartnerFilterInput | None] = None


@described(_INPUT, COMMAND)
@strawberry.input(description="The webhook endpoint to act on.")
class WebhookEndpointInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(_INPUT, COMMAND)
@strawberry.input(description="Where to replay an endpoint's events from: a position or a time.")
class ReplayWebhookEndpointInput:
    id: strawberry.ID
    from_position: int | None = None
    from_time: datetime | None = None
    reason: str | None = None


def _stores(info: Info) -> WebhookStores:
    stores = info.context.services.webhooks
    if stores is None:
        raise ClientError("webhooks are not available on this server", "BAD_REQUEST")
    return stores


def _kinds(kinds: list[TimelineKind] | None) -> list[str] | None:
    return [k.value for k in kinds] if kinds is not None else None


async def _respond(
    info: Info, build: CommandBuilder, reason: str | None, secret: str | None = None
) -> WebhookEndpointPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return WebhookEndpointPayload(endpoint=None, user_errors=outcome)
    return await _payload(info, outcome.id, secret)


async def _payload(info: Info, ident: UUID, secret: str | None) -> WebhookEndpointPayload:
    rows = await _stores(info).deliveries.endpoints([ident])
    endpoint = WebhookEndpoint.from_row(rows[0], secret) if rows else None
    return WebhookEndpointPayload(endpoint=endpoint, user_errors=[])


def _refused(error: DomainError) -> WebhookEndpointPayload:
    return WebhookEndpointPayload(endpoint=None, user_errors=user_errors(error))


def _changes(input: UpdateWebhookEndpointInput) -> dict[str, object]:
    changes: dict[str, object] = {}
    if input.url is not None:
        if input.url.value is None:
            raise DomainError.single(ErrorCode.VALIDATION, "url cannot be cleared", "url")
        changes["url"] = input.url.value
    if input.description is not None:
        changes["description"] = input.description.value
    if input.event_kinds is not None:
        changes["event_kinds"] = _kinds(input.event_kinds.value)
    if input.filter is not None:
        chosen = input.filter.value
        changes["filter"] = filter_to_json(chosen) if chosen else None
    return changes


async def create_endpoint(info: Info, input: CreateWebhookEndpointInput) -> WebhookEndpointPayload:
    # Counted and created under a lock: 41 creates sent together went past the limit.
    async with _stores(info).deliveries.creating():
        return await _create_endpoint(info, input)


async def _create_endpoint(info: Info, input: CreateWebhookEndpointInput) -> WebhookEndpointPayload:
    services = info.context.services
    stores = _stores(info)
    if len(await stores.deliveries.endpoints()) >= services.settings.max_webhook_endpoints:
        limit = services.settings.max_webhook_endpoints
        message = Message("at most %(limit)s endpoints", limit=limit)
        return _refused(DomainError.single(ErrorCode.VALIDATION, message))
    ident, secret = uuid.uuid4(), new_secret()
    values = {
        "url": input.url,
        "description": input.description,
        "event_kinds": _kinds(input.event_kinds),
        "filter": filter_to_json(input.filter) if input.filter else None,
    }
    allow_http = services.settings.webhooks_allow_private

    def build(audit: Audit) -> Callable[[], CommandResult]:
        app = services.app
        return lambda: app.create_webhook_endpoint(ident, values, audit, allow_http=allow_http)

    await stores.secrets.add(ident, secret, 0)  # before any delivery can need it
    payload = await _respond(info, build, input.reason, secret)
    if payload.user_errors:
        await stores.secrets.delete(ident)
    return payload


async def update_endpoint(info: Info, input: UpdateWebhookEndpointInput) -> WebhookEndpointPayload:
    services = info.context.services
    allow_http = services.settings.webhooks_allow_private

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident, changes = record_id(input.id, "WebhookEndpoint"), _changes(input)
        app, version = services.app, input.expected_version
        return lambda: app.update_webhook_endpoint(
            ident, changes, audit, version, allow_http=allow_http
        )

    return await _respond(info, build, input.reason)


async def rotate_secret(info: Info, input: WebhookEndpointInput) -> WebhookEndpointPayload:
    services = info.context.services
    grace = services.settings.webhook_secret_grace_seconds
    try:
        ident, secret = record_id(input.id, "WebhookEndpoint"), new_secret()
    except DomainError as error:  # not an endpoint's id: nothing to rotate
        return WebhookEndpointPayload(endpoint=None, user_errors=user_errors(error))
    outcome = await execute(
        info,
        lambda audit: lambda: services.app.rotate_webhook_secret(ident, grace, audit),
        input.reason,
    )
    if isinstance(outcome, list):
        return WebhookEndpointPayload(endpoint=None, user_errors=outcome)
    await _stores(info).secrets.add(ident, secret, grace)
    return await _payload(info, ident, secret)


def endpoint_command(
    name: str,
) -> Callable[[Info, WebhookEndpointInput], Awaitable[WebhookEndpointPayload]]:
    """disable / enable / delete: commands that take only the endpoint."""

    async def run(info: Info, input: WebhookEndpointInput) -> WebhookEndpointPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident, version = record_id(input.id, "WebhookEndpoint"), input.expected_version
            if name == "disable":
                why = audit.reason or f"disabled by {audit.actor}"
                return lambda: app.disable_webhook_endpoint(ident, why, audit, version)
            if name == "enable":
                return lambda: app.enable_webhook_endpoint(ident, audit, version)
            return lambda: app.delete_webhook_endpoint(ident, audit, version)

        payload = await _respond(info, build, input.reason)
        if name == "delete" and not payload.user_errors:
            ident = record_id(input.id, "WebhookEndpoint")
            await _stores(info).secrets.delete(ident)
            await _stores(info).deliveries.forget(ident)
        return payload

    return run


async def replay(info: Info, input: ReplayWebhookEndpointInput) -> WebhookEndpointPayload:
    if (input.from_position is None) == (input.from_time is None):
        error = DomainError.single(ErrorCode.VALIDATION, "give fromPosition or fromTime", "from")
        return _refused(error)
    after = input.from_position
    if input.from_time is not None:
        after = await _stores(info).deliveries.position_at(input.from_time)
    assert after is not None
    start = after
    services = info.context.services

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident = record_id(input.id, "WebhookEndpoint")
        return lambda: services.app.replay_webhook_endpoint(ident, start, audit)

    return await _respond(info, build, input.reason)


_DISABLE = endpoint_command("disable")
_ENABLE = endpoint_command("enable")
_DELETE = endpoint_command("delete")


@described(COMMAND)
@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Creates an endpoint; its secret is shown in this answer only."
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await create_endpoint(info, input)

    @strawberry.mutation(description="Changes an endpoint (fields left out are unchanged).")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await update_endpoint(info, input)

    @strawberry.mutation(
        description="A new signing secret, shown once; the old one signs too for a grace period."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await rotate_secret(info, input)

    @strawberry.mutation(
        description="Stops deliveries; they resume where they stopped once enabled."
    )
    async def disable_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await _DISABLE(info, input)

    @strawberry.mutation(description="Resumes deliveries from the last acknowledged event.")
    async def enable_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await _ENABLE(info, input)

    @strawberry.mutation(description="Deletes an endpoint, its secret and its delivery records.")
    async def delete_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await _DELETE(info, input)

    @strawberry.mutation(
        description="Delivers again every matching event after a point of the log."
    )
    async def replay_webhook_endpoint(
        self, info: Info, input: ReplayWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await replay(info, input)


@described(PAGING, {"endpoint_id": "The endpoint whose attempts to list, newest first."})
@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Every webhook endpoint (admin only).")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        rows = await _stores(info).deliveries.endpoints()
        return [WebhookEndpoint.from_row(row) for row in rows]

    @strawberry.field(description="An endpoint's delivery attempts, newest first (admin only).")
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        return await deliveries_page(info, endpoint_id, first, after)


async def deliveries_page(
    info: Info, endpoint_id: str, first: int | None, after: str | None
) -> Connection[WebhookDelivery]:
    check_page_args(first, after, None, None)
    try:
        ident = expect_id(endpoint_id, "WebhookEndpoint")
    except BadId as error:
        raise ClientError(str(error), "BAD_REQUEST") from None
    try:
        before = int(after) if after is not None else None
    except ValueError:
        raise ClientError("not a cursor of this list", "BAD_REQUEST") from None
    size = 50 if first is None else first
    rows = await _stores(info).deliveries.attempts(ident, before, size + 1)
    page = rows[:size]

    async def count() -> int:
        return await _stores(info).deliveries.attempt_count(ident)

    return make_connection(
        [WebhookDelivery.from_row(r) for r in page],
        [str(r.id) for r in page],
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
        count=count,
    )


__all__ = ["UserError", "WebhookMutations", "WebhookQueries"]
