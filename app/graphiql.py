"""GraphiQL, served from the package: the page a browser gets at `/graphql`, and its
assets (app/static/graphiql/: GraphiQL, React and the explorer plugin vendored by
app/graphiql_vendor.py, with Partnerbook's own start-up script and styles) under a path
named by their content, so they are cached for good and a new release is a new path.

The page loads nothing from another origin, and its Content-Security-Policy allows only
these assets, requests to this server (HTTP and WebSocket) and no framing: on a network
that reaches nothing but this server, GraphiQL still works."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

FOLDER = Path(__file__).resolve().parent / "static" / "graphiql"
PREFIX = "/graphiql"
"""Where the assets are served: `/graphiql/<version>/<name>`."""

_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "explorer.umd.js",
    "partnerbook.js",
)
_STYLES = ("graphiql.min.css", "explorer.css", "partnerbook.css")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_IMMUTABLE = {
    "cache-control": "public, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "same-origin",
}


@dataclass(frozen=True)
class GraphiQLAssets:
    """The served files, in memory (about 4 MB), and the version naming their path."""

    files: dict[str, bytes]
    version: str

    @classmethod
    def load(cls, folder: Path = FOLDER) -> GraphiQLAssets:
        files = {
            path.name: path.read_bytes()
            for path in sorted(folder.iterdir())
            if path.suffix in _MEDIA and path.is_file()
        }
        digest = hashlib.sha256()
        for name, data in files.items():
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        return cls(files=files, version=digest.hexdigest()[:16])

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.version}/"

    def route(self) -> Route:
        return Route(f"{PREFIX}/{{version}}/{{name}}", self.serve, methods=["GET"])

    async def serve(self, request: Request) -> Response:
        """An asset, cached for a year by anyone (its path changes with its content);
        any other version or name is a 404."""
        name = request.path_params["name"]
        data = self.files.get(name)
        if request.path_params["version"] != self.version or data is None:
            return PlainTextResponse("not found", status_code=404)
        etag = f'"{self.version}-{name}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={**_IMMUTABLE, "etag": etag})
        media = _MEDIA[Path(name).suffix]
        return Response(data, media_type=media, headers={**_IMMUTABLE, "etag": etag})

    def page(self, request: Request) -> HTMLResponse:
        """The GraphiQL page, with a policy that allows only the assets above."""
        base = html.escape(self.path, quote=True)
        styles = "".join(f'<link rel="stylesheet" href="{base}{name}">' for name in _STYLES)
        scripts = "".join(f'<script src="{base}{name}"></script>' for name in _SCRIPTS)
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Partnerbook GraphiQL</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,">{styles}</head><body>'
            f'<div id="graphiql">Loading GraphiQL…</div>{scripts}</body></html>'
        )
        return HTMLResponse(
            body,
            headers={
                "content-security-policy": content_security_policy(request.headers.get("host")),
                "cache-control": "no-cache",
                "x-content-type-options": "nosniff",
                "x-frame-options": "DENY",
                "referrer-policy": "no-referrer",
            },
        )


def content_security_policy(host: str | None) -> str:
    """Scripts, styles and fonts from this server only ('self'; GraphiQL's stylesheet
    carries its fonts and icons as data: URLs), requests only to this server over HTTP
    and WebSocket, no framing. A Host header that is not a host name (or address) and
    port is left out, so it cannot add a directive."""
    connect = "'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
