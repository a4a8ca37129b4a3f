"""Errors as clients see them: `userErrors` in payloads, coded top-level errors, and the
masking of bugs as "Internal error" with the request id."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import StreamExecutionResult

from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.infra.database import is_statement_timeout, is_unavailable
from app.infra.read_share import ReadShareBusy
from app.locales import translate
from app.schema.descriptions import describe_values
from app.schema.ids import BadId, expect_id, to_global_id
from app.schema.language import Translated

log = logging.getLogger("partnerbook.errors")
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
"""The code of the top-level error while PostgreSQL cannot be reached (HTTP 503)."""
TIMEOUT = "TIMEOUT"
"""The code of the top-level error of a read cancelled by PARTNERBOOK_STATEMENT_TIMEOUT."""
BUSY = "BUSY"
"""The code of a read that waited past the pool's timeout for its key's share of the pool."""


# The domain's codes are the API's enum (registered here: the domain knows no strawberry).
strawberry.enum(
    ErrorCode,
    description="Why a mutation was refused; CREDIT_LIMIT is a warning only (in `warnings`: "
    "the change was made).",
)
describe_values(
    ErrorCode,
    {
        "VALIDATION": "A value breaks a rule (`field` names it), or the record is closed.",
        "NOT_FOUND": "An id names no record of the right type; or the record was deleted.",
        "CONFLICT": "`expectedVersion` is stale, or others kept changing the record meanwhile.",
        "ARCHIVED": "The record is archived, or one being newly assigned is.",
        "FORBIDDEN": "Not allowed on this record (a company cannot be anonymized).",
        "DUPLICATE": "A value that must be unique is taken (a tag name, a code, a reference).",
        "INVALID_HIERARCHY": "The parent is a person, or the change would make a cycle.",
        "CREDIT_LIMIT": "A warning, not a refusal: the change was made and takes the commercial "
        "partner's credit exposure over its credit limit.",
    },
)


@strawberry.type(
    description="In `userErrors`, a refused input: nothing was changed. In `warnings`, "
    "something to know about a change that was made."
)
class UserError:
    field: list[str] | None = strawberry.field(
        description='The path of the input field concerned (`["email"]`); null for the whole input.'
    )
    code: ErrorCode = strawberry.field(description="What went wrong: program against this.")
    message: str = strawberry.field(
        description="What went wrong, for people, in the request's language.",
        extensions=[Translated(plain=True)],
    )


def user_errors(error: DomainError) -> list[UserError]:
    return [from_field_error(e) for e in error.errors]


def from_field_error(error: FieldError) -> UserError:
    message = error.message
    if error.refers_to is not None:
        type_name, ident = error.refers_to
        global_id = to_global_id(type_name, UUID(ident))
        message = Message(
            "%(message)s (%(type)s %(id)s)", message=message, type=type_name, id=global_id
        )
    return UserError(
        field=list(error.field) or None,
        code=error.code,
        message=message,
    )


class ClientError(GraphQLError):
    """A request-level error meant for the client, with `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def argument_id(global_id: str, type_name: str) -> UUID:
    """The uuid of a global id given as an argument; a bad one is the client's error."""
    try:
        return expect_id(global_id, type_name)
    except BadId as error:
        raise ClientError(str(error), "BAD_REQUEST") from None


_NOT_RUNNABLE = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)
"""Strawberry's errors for an operation that cannot run: the client's (a 400 over HTTP)."""


class MaskInternalErrors(SchemaExtension):
    """Bugs become "Internal error" plus the request id (the stack goes to the log);
    parse and validation errors are the client's and are kept, coded BAD_REQUEST; a read
    cancelled by the statement timeout is TIMEOUT, a lost database DATABASE_UNAVAILABLE."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except (GraphQLError, *_NOT_RUNNABLE):
            raise  # the client's: strawberry answers them with a 400
        except Exception as error:
            # Raised by an extension rather than a resolver: strawberry would answer
            # str(error). Masked like a resolver's error, and raised on as a GraphQLError.
            request_id = getattr(self.execution_context.context, "request_id", "-")
            locale = getattr(self.execution_context.context, "locale", "en")
            masked = self._masked(
                GraphQLError(str(error), original_error=error), request_id, locale
            )
            raise masked from error
        self._mask(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Each result a subscription sends, masked as it goes (on_operation only sees
        the last one)."""
        self._mask(result)
        yield

    def _mask(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if not errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "-")
        locale = getattr(self.execution_context.context, "locale", "en")
        masked = [self._masked(e, request_id, locale) for e in errors]
        result.errors = masked  # type: ignore[attr-defined]

    @staticmethod
    def _masked(error: GraphQLError, request_id: str, locale: str = "en") -> GraphQLError:
        original = error.original_error
        if isinstance(original, ClientError):
            return _like(error, translate(original.message, locale), original.extensions)
        if original is None or isinstance(original, GraphQLError):
            extensions = {"code": "BAD_REQUEST", **(error.extensions or {})}
            return _like(error, translate(error.message, locale), extensions)
        if isinstance(original, _NOT_RUNNABLE):
            # The client's, wrapped by a subscription (which re-raises nothing as such).
            return _like(error, translate(_not_runnable(original), locale), {"code": "BAD_REQUEST"})
        with_id = {"requestId": request_id}
        if isinstance(original, ReadShareBusy):
            log.info("request %s: %s", request_id, original)
            message = Message(
                "This API key's reads hold as many database connections as they may; "
                "try again shortly (request id %(request_id)s)",
                request_id=request_id,
            )
            return _like(error, translate(message, locale), {"code": BUSY, **with_id})
        if is_statement_timeout(original):
            log.warning("request %s: a statement ran out of time: %s", request_id, original)
            message = Message(
                "The query took too long and was stopped (request id %(request_id)s); "
                "ask for less (a smaller page, a narrower filter) or try again later",
                request_id=request_id,
            )
            return _like(error, translate(message, locale), {"code": TIMEOUT, **with_id})
        if is_unavailable(original):
            log.warning("request %s: database unavailable: %s", request_id, original)
            message = Message(
                "The database is unavailable; try again shortly (request id %(request_id)s)",
                request_id=request_id,
            )
            return _like(
                error, translate(message, locale), {"code": DATABASE_UNAVAILABLE, **with_id}
            )
        log.error(
            "internal error in request %s",
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = Message("Internal error (request id %(request_id)s)", request_id=request_id)
        return _like(error, translate(message, locale), {"code": "INTERNAL", **with_id})


def _not_runnable(error: Exception) -> str:
    """What to say of an operation that cannot run: HTTP answers these with a 400; over
    WebSocket they reach the mask wrapped (an unknown `operationName`; a query or a
    mutation over legacy graphql-ws, which runs subscriptions only)."""
    if isinstance(error, InvalidOperationTypeError):
        return Message(
            "only subscriptions run over graphql-ws (legacy): send queries and mutations "
            "over HTTP or graphql-transport-ws"
        )
    if isinstance(error, CannotGetOperationTypeError):
        return Message("the document has no operation of that name, or names none of several")
    return Message("the request has no query")


def _like(error: GraphQLError, message: str, extensions: dict[str, Any] | None) -> GraphQLError:
    """`error` (its place in the document and the result) with another message and code."""
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, extensions=extensions
    )
