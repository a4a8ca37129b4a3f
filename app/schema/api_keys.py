"""API keys in the GraphQL API (admin only): list, create (the secret shown once), revoke.

The keys' table is changed by app/infra/key_admin.py, in the thread pool; each change is
recorded as an event (app/domain/api_key.py) with the admin's key as the actor."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from uuid import UUID

import strawberry

from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.infra import key_admin
from app.infra.api_keys import KeyRow
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError, user_errors
from app.schema.ids import record_id, to_global_id
from app.schema.use_cases import audit

_ROLE_DOCS = {
    "ADMIN": "Everything, including erasure, merge undo and API keys.",
    "EDITOR": "Reads and changes records.",
    "VIEWER": "Reads records as they are today (not past values).",
    "AUDITOR": "Reads records and their history; changes nothing.",
}


@described(_ROLE_DOCS)
@strawberry.enum(description="What an API key may do.")
class ApiKeyRole(Enum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"
    AUDITOR = "auditor"


@strawberry.type(description="An API key (never its secret, which is shown once, at creation).")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Its global id.")
    name: str = strawberry.field(description="Its name, recorded as the actor of its changes.")
    role: ApiKeyRole = strawberry.field(description="What it may do.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null: never."
    )
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used (written at most once a minute)."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null: not revoked."
    )
    active: bool = strawberry.field(description="Neither revoked nor expired.")

    @classmethod
    def from_row(cls, row: KeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", row.id)),
            name=row.name,
            role=ApiKeyRole(row.role),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            active=row.state(datetime.now(UTC)) == "active",
        )


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="A unique name (1 to 200 characters).")
    role: ApiKeyRole = strawberry.field(description="What it may do.")
    expires_in_days: int | None = strawberry.field(
        default=None, description="Days until it stops working (1 to 3650); null: never."
    )


@described(COMMAND)
@strawberry.input(description="The API key to revoke.")
class RevokeApiKeyInput:
    id: strawberry.ID
    reason: str | None = None


@described(PAYLOAD)
@strawberry.type(description="The outcome of createApiKey.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key made; null when refused.")
    secret: str | None = strawberry.field(
        description="The key to send as `Authorization: Bearer …`: shown this once, never stored."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of revokeApiKey.")
class RevokeApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key, revoked; null when refused.")
    user_errors: list[UserError]


def _refusal(code: ErrorCode, message: str, field: str) -> list[UserError]:
    return user_errors(DomainError([FieldError((field,), code, message)]))


def _checked_new_key(input: CreateApiKeyInput) -> str:
    """The name to store, or DomainError."""
    name = input.name.strip()
    if not name or len(name) > key_admin.MAX_NAME:
        raise DomainError.single(ErrorCode.VALIDATION, "the name takes 1 to 200 characters", "name")
    days = input.expires_in_days
    if days is not None and not 0 < days <= key_admin.MAX_EXPIRES_DAYS:
        message = Message("expiresInDays must be between 1 and 3650")
        raise DomainError.single(ErrorCode.VALIDATION, message, "expiresInDays")
    return name


def _conninfo(info: Info) -> str:
    keys = info.context.services.keys
    assert keys is not None  # no key store: every request is refused before this
    conninfo = keys.pool.conninfo
    assert isinstance(conninfo, str)  # the runtime opens its pool with a string
    return conninfo


async def create_api_key(info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
    app, who = info.context.services.app, audit(info, None)

    def record(row: KeyRow) -> None:
        expires = row.expires_at.isoformat() if row.expires_at else None
        app.record_key_created(row.id, row.name, row.role, expires, who)

    try:
        name = _checked_new_key(input)
        row, secret = await info.context.run(
            key_admin.create, _conninfo(info), name, input.role.value, input.expires_in_days, record
        )
    except DomainError as error:
        return CreateApiKeyPayload(api_key=None, secret=None, user_errors=user_errors(error))
    except key_admin.DuplicateName as error:
        refused = _refusal(ErrorCode.DUPLICATE, str(error), "name")
        return CreateApiKeyPayload(api_key=None, secret=None, user_errors=refused)
    return CreateApiKeyPayload(api_key=ApiKey.from_row(row), secret=secret, user_errors=[])


async def revoke_api_key(info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
    app = info.context.services.app
    try:
        who = audit(info, input.reason)
    except DomainError as error:
        return RevokeApiKeyPayload(api_key=None, user_errors=user_errors(error))

    def record(row: KeyRow) -> None:
        app.record_key_revoked(row.id, row.name, row.role, who)

    try:
        key_id: UUID = record_id(input.id, "ApiKey")
        row, _ = await info.context.run(key_admin.revoke, _conninfo(info), key_id, record)
    except DomainError as error:
        return RevokeApiKeyPayload(api_key=None, user_errors=user_errors(error))
    except key_admin.KeyNotFound as error:
        return RevokeApiKeyPayload(
            api_key=None, user_errors=_refusal(ErrorCode.NOT_FOUND, str(error), "id")
        )
    except key_admin.LastAdmin as error:
        return RevokeApiKeyPayload(
            api_key=None, user_errors=_refusal(ErrorCode.FORBIDDEN, str(error), "id")
        )
    return RevokeApiKeyPayload(api_key=ApiKey.from_row(row), user_errors=[])


@described(COMMAND)
@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description="Admin only. Creates an API key; the payload's `secret` is the only copy."
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        return await create_api_key(info, input)

    @strawberry.mutation(
        description=(
            "Admin only. Revokes an API key: refused by every server process once this "
            "answers, its WebSockets closed. The last active admin key cannot be revoked."
        )
    )
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        return await revoke_api_key(info, input)


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(description="Admin only. Every API key, oldest first (revoked ones too).")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        rows = await info.context.run(key_admin.list_all, _conninfo(info))
        return [ApiKey.from_row(row) for row in rows]
