"""What a WebSocket message must be before strawberry's protocol handlers see it: at
most the request body limit in bytes (checked before it is decoded), then a JSON object
of the protocol's shape. strawberry indexes messages as it finds them: an id that is a
list or an object, a payload that is null, failed with a traceback and dropped the
connection (1006); a `query` that is not a string reached the parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from json import JSONDecodeError
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived

from app.schema.http import OFF_LOOP_BYTES

MAX_OPERATION_ID = 128
"""Characters of an operation id (clients send a counter or a UUID): an id is kept for
as long as its operation runs and echoed in each of its messages."""
MESSAGE_TOO_BIG = 1009
"""WebSocket close code for a message over the limit (RFC 6455), as uvicorn closes one
over its own `ws_max_size`."""
MAX_REASON_BYTES = 123
"""UTF-8 bytes of a close reason (a control frame holds 125, the code takes 2)."""

_NOT_A_MESSAGE = "a message must be a JSON object with a string `type`"
_OPTIONAL = {
    "variables": (dict, "an object"),
    "operationName": (str, "a string"),
    "extensions": (dict, "an object"),
}


class BoundedWebSocketAdapter(ASGIWebSocketAdapter):
    """strawberry's, with each text message held to `PARTNERBOOK_MAX_BODY_BYTES`, as an
    HTTP body is: one over it closes the connection with 1009 before it is decoded (it was
    parsed and walked up to uvicorn's 16 MiB). `partnerbook serve` also gives uvicorn the
    limit, which then refuses such a message as it arrives (app/cli.py); this holds for
    any other server."""

    def __init__(self, view: Any, request: WebSocket, response: WebSocket) -> None:
        super().__init__(view, request, response)
        state = getattr(request.scope.get("app"), "state", None)
        runtime = getattr(state, "runtime", None)  # none outside the app's lifespan
        self.max_bytes: int | None = (
            runtime.services.settings.max_body_bytes if runtime is not None else None
        )

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if self.max_bytes is not None and _over(text, self.max_bytes):
                    reason = f"the message is over {self.max_bytes} bytes"
                    await self.close(MESSAGE_TOO_BIG, reason)
                    return
                try:
                    decoded = (
                        await asyncio.to_thread(self.view.decode_json, text)
                        if len(text) > OFF_LOOP_BYTES
                        else self.view.decode_json(text)
                    )
                except JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
                    continue
                yield decoded
        except KeyError as error:  # a binary frame
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass

    async def close(self, code: int, reason: str) -> None:
        """strawberry's reasons may quote the client (an unknown type, a duplicate id, an
        operation name, a token in a syntax error): one too long for a close frame failed
        the close with a traceback (1006). Cut to fit."""
        await super().close(code, _fitting(reason))


def _fitting(reason: str) -> str:
    # A lone surrogate (a JSON escape in what the client sent) would not encode: "?".
    encoded = reason.encode("utf-8", "replace")
    if len(encoded) <= MAX_REASON_BYTES:
        return encoded.decode()
    return encoded[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "…"


def _over(text: str, max_bytes: int) -> bool:
    """Whether `text` is over `max_bytes` in UTF-8 (at most 4 bytes a character: most
    texts are decided by their length alone)."""
    if len(text) > max_bytes:
        return True
    return len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes


def transport_ws_fault(message: object) -> str | None:
    """Why `message` is not a graphql-transport-ws message the server takes (the close
    reason, sent with 4400), or None. Types the protocol does not have are left to
    strawberry (4400 `Unknown message type`), `connection_init` too (4400, 4401, 4429)."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return _NOT_A_MESSAGE
    kind = message["type"]
    if kind in ("subscribe", "complete"):
        fault = _id_fault(message)
        if fault is None and kind == "subscribe":
            fault = _payload_fault(message)
        return f"`{kind}`: {fault}" if fault else None
    if kind in ("ping", "pong") and not isinstance(message.get("payload"), dict | None):
        return f"`{kind}`: `payload` must be an object or null"
    return None


def legacy_ws_fault(message: object) -> tuple[str | None, str] | None:
    """Why `message` is not a graphql-ws (legacy) message the server takes, as (the id of
    the operation to report it for, or None for the connection; the reason), or None.
    Types the protocol does not have are left to strawberry, which ignores them."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None, _NOT_A_MESSAGE
    kind = message["type"]
    if kind not in ("start", "stop"):
        return None
    fault = _id_fault(message)
    if fault is not None:
        return None, f"`{kind}`: {fault}"
    fault = _payload_fault(message) if kind == "start" else None
    return (message["id"], f"`{kind}`: {fault}") if fault else None


def _id_fault(message: dict[str, Any]) -> str | None:
    given = message.get("id")
    if not isinstance(given, str) or not 0 < len(given) <= MAX_OPERATION_ID:
        return f"`id` must be a string of 1 to {MAX_OPERATION_ID} characters"
    return None


def _payload_fault(message: dict[str, Any]) -> str | None:
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "`payload` must be an object with a `query` string"
    if not isinstance(payload.get("query"), str):
        return "`payload.query` must be a string"
    for name, (kind, described) in _OPTIONAL.items():
        if not isinstance(payload.get(name), kind | None):
            return f"`payload.{name}` must be {described} or null"
    return None
