"""One webhook attempt: an HTTP POST to an endpoint, with what a server calling strangers'
addresses must hold to. The host is resolved here and every address it resolves to must
be public (unless private ones are allowed); the connection goes to an address checked
so, never to a second resolution (no DNS rebinding); TLS still verifies the host's name.
Redirects are not followed (a 3xx is a failed attempt); the answer is read up to a cap;
the whole attempt has one deadline. Connections are kept alive between attempts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.webhook import is_public_address
from app.webhooks import http1
from app.webhooks.http1 import StaleConnection


@dataclass(frozen=True)
class Outcome:
    status: int | None
    """The HTTP status, None when no answer came."""
    error: str | None
    """Why it failed (None: a 2xx)."""
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


class RefusedAddress(Exception):
    """The URL points where webhooks may not go."""


async def resolve(host: str, port: int, *, allow_private: bool) -> list[tuple[int, str]]:
    """(family, address) of `host`, every one of them checked."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise RefusedAddress(f"cannot resolve {host}: {error.strerror}") from None
    except ValueError:  # UnicodeError: a name IDNA cannot encode (saved before url_problem said so)
        raise RefusedAddress(f"cannot resolve {host}: not a valid host name") from None
    found = [(int(family), str(sockaddr[0])) for family, _, _, _, sockaddr in infos]
    if not found:
        raise RefusedAddress(f"{host} resolves to no address")
    if not allow_private:
        for _, address in found:
            if not is_public_address(address):
                raise RefusedAddress(f"{host} resolves to a non-public address ({address})")
    return found


@dataclass
class _Open:
    url: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    head: bytes
    """What every request on it starts with (app/webhooks/http1.py)."""


class Session:
    """One endpoint's HTTP/1.1 connection, kept alive between attempts (one request at a
    time). It is opened to a checked address of the URL's host (resolved when it opens)
    and dropped after an error, a timeout, an answer that asks to close or one cut at the
    cap, or a change of URL. A request on a kept-alive connection that the receiver had
    closed before answering anything is sent once more on a new connection (the same
    webhook-id: a receiver that did get it de-duplicates)."""

    def __init__(self) -> None:
        self._open: _Open | None = None

    async def post(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        within: float,
        response_cap: int,
        allow_private: bool,
    ) -> Outcome:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(within):
                status = await self._exchange(url, headers, body, response_cap, allow_private)
            if not 200 <= status < 300:
                error = f"HTTP {status}" + (
                    " (redirects are not followed)" if 300 <= status < 400 else ""
                )
        except TimeoutError:
            error = f"no answer within {within:g} s"
        except RefusedAddress as refused:
            error = str(refused)
        except (OSError, ssl.SSLError, http1.ProtocolError, UnicodeError) as failure:
            # UnicodeError: a name TLS cannot encode (IDNA, as the resolver: resolve()
            # refuses it first); a failed attempt all the same, never the worker's error.
            error = f"{type(failure).__name__}: {failure}"[:300]
        if error is not None and status is None:
            await self.close()
        return Outcome(status, error, (time.perf_counter() - started) * 1000)

    async def close(self) -> None:
        found, self._open = self._open, None
        if found is not None:
            found.writer.close()
            with contextlib.suppress(Exception):
                await found.writer.wait_closed()

    async def _exchange(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        response_cap: int,
        allow_private: bool,
    ) -> int:
        found = self._open
        if found is not None and (found.url != url or found.reader.at_eof()):
            await self.close()
            found = None
        if found is not None:
            try:
                return await self._request(found, headers, body, response_cap)
            except StaleConnection:
                await self.close()
        self._open = await _connect(url, allow_private)
        return await self._request(self._open, headers, body, response_cap)

    async def _request(
        self, conn: _Open, headers: Mapping[str, str], body: bytes, response_cap: int
    ) -> int:
        status, reusable = await _request(conn, headers, body, response_cap)
        if not reusable:
            await self.close()
        return status


async def _connect(url: str, allow_private: bool) -> _Open:
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    if not secure and not allow_private:
        raise RefusedAddress("webhooks go over https")
    port = parts.port or (443 if secure else 80)
    head = http1.request_head(url)
    addresses = await resolve(host, port, allow_private=allow_private)
    context = ssl.create_default_context() if secure else None
    last: OSError | None = None
    for _, address in addresses:
        try:
            reader, writer = await asyncio.open_connection(
                address, port, ssl=context, server_hostname=host if secure else None
            )
        except OSError as error:
            last = error
            continue
        return _Open(url, reader, writer, head)
    raise last or OSError(f"cannot connect to {host}")


async def _request(
    conn: _Open, headers: Mapping[str, str], body: bytes, response_cap: int
) -> tuple[int, bool]:
    """The answer's status, and whether the connection may carry the next request."""
    try:
        conn.writer.write(http1.request(conn.head, headers, body))
        await conn.writer.drain()
    except (ConnectionError, RuntimeError) as error:
        raise StaleConnection(str(error)) from None
    return await http1.read_answer(conn.reader, response_cap)
