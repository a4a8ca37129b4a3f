"""The HTTP request body limit, enforced before the application reads the body."""

from __future__ import annotations

import json
from typing import Any

from app.schema.limits.rules import LIMIT_EXCEEDED


class BodyLimit:
    """ASGI middleware: an HTTP request body over `max_bytes` gets 413 with a GraphQL
    error LIMIT_EXCEEDED, before the application reads any of it."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, send: Any) -> None:
        message = f"the request body is over {self.max_bytes} bytes"
        await send_error(send, 413, LIMIT_EXCEEDED, message)


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI `receive` that hands the body already read, then passes on."""
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_error(
    send: Any,
    status: int,
    code: str,
    message: str,
    *,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    extensions: dict[str, Any] | None = None,
) -> None:
    """A whole HTTP answer of one GraphQL error, sent from ASGI middleware."""
    error = {"message": message, "extensions": {"code": code, **(extensions or {})}}
    payload = json.dumps({"data": None, "errors": [error]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"private, no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
