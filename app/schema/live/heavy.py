"""Heavy queries and mutations sent over a WebSocket go to the heavy lane, as over HTTP
(app/schema/lane.py): a graphql-transport-ws `subscribe` of a query or a mutation whose
walk makes it heavy is sent to the lane as an HTTP request with the connection's key,
language and request id, and the lane's answer becomes the operation's `next` and
`complete` (or its `error`, for a request error). It takes a place among the key's heavy
requests, HTTP's included: one past the key's share gets an `error` RATE_LIMITED, one past
the lane's queue BUSY. While the lane is not running, it runs here, as over HTTP.
Subscriptions stay here: the hub that feeds them is this process's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema
from starlette.types import Message

from app.schema.context import Context
from app.schema.lane import Admission, Lane, LaneFull, LanePolicy, forward, is_heavy_operation
from app.schema.limits import Limits

BROKEN_OFF = "the heavy lane broke off its answer; try again shortly"


@dataclass
class Answer:
    """The lane's answer to one operation: a GraphQL response (`data` and/or `errors`),
    or the refusal of a place in the lane."""

    response: dict[str, Any] = field(default_factory=dict)

    @property
    def is_request_error(self) -> bool:
        """Nothing ran (no `data`): the operation's `error`, with these errors."""
        return "data" not in self.response

    @property
    def errors(self) -> list[Any]:
        errors = self.response.get("errors")
        return errors if isinstance(errors, list) else []


def _refusal(code: str, message: str) -> Answer:
    return Answer({"errors": [{"message": message, "extensions": {"code": code}}]})


class _Collected:
    """What `forward` sends back, kept (an ASGI `send`)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def answer(self) -> Answer:
        try:
            response = json.loads(b"".join(self.chunks))
        except ValueError:  # cut short: the lane died mid-answer
            return _refusal("BUSY", BROKEN_OFF)
        return Answer(response) if isinstance(response, dict) else _refusal("BUSY", BROKEN_OFF)


@dataclass
class WebSocketLane:
    """What a WebSocket's operations need of the lane; the admission is HTTP's."""

    lane: Lane
    admission: Admission
    schema: Callable[[], GraphQLSchema]
    policy: LanePolicy
    limits: Limits
    max_tokens: int
    count: Callable[[str], None] = lambda outcome: None

    async def answer(self, context: Context, payload: dict[str, Any]) -> Answer | None:
        """The lane's answer to a heavy operation of the connection; None when it runs
        here (not heavy, no lane, or the lane unreachable before it answered)."""
        socket_path = self.lane.socket_path
        key = context.bearer
        if socket_path is None or key is None or context.principal is None:
            return None
        schema = self.schema()
        if not is_heavy_operation(schema, payload, self.policy, self.limits, self.max_tokens):
            return None
        request_id = context.request_id.encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": [
                (b"authorization", b"Bearer " + key.encode("latin-1")),
                (b"content-type", b"application/json"),
                # Without `data` when nothing ran (a request error), unlike application/json.
                (b"accept", b"application/graphql-response+json"),
                (b"accept-language", context.locale.encode("latin-1")),
            ],
        }
        try:
            # As compact as the client's message (escaped, 500 accented letters were
            # 3,000 bytes: a message within the body limit was refused by the lane).
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate: refused here, naming where
            return None
        collected = _Collected()
        try:
            async with self.admission.admit(key):
                if await forward(socket_path, scope, body, request_id, collected.send):
                    self.count("forwarded")
                    return collected.answer()
        except LaneFull as full:
            self.count(full.code.lower())
            return _refusal(full.code, full.message)
        self.count("here")
        return None
