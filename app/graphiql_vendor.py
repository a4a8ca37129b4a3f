"""Refreshes GraphiQL's vendored assets (app/static/graphiql/) from the npm registry at the
pinned versions below, and records their sha256 sums in `SHA256SUMS` there.

Run `python -m app.graphiql_vendor` after changing a pin (it needs the network; nothing
else does: the server and `pip install .` ship the committed files, and a test checks
them against the recorded sums). Each tarball is checked against the `dist.integrity`
the registry publishes for that version before a file is taken from it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
SUMS = ASSETS / "SHA256SUMS"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Pin:
    """One npm package at one version, and the files taken from it (path in the
    tarball's `package/` folder -> name served)."""

    name: str
    version: str
    files: dict[str, str]


PINS = (
    # GraphiQL 3's UMD bundle: it includes @graphiql/toolkit and graphql-ws (its
    # subscriptions speak graphql-transport-ws); React comes as globals.
    Pin(
        "graphiql",
        "3.8.3",
        {
            "graphiql.min.js": "graphiql.min.js",
            "graphiql.min.css": "graphiql.min.css",
            "LICENSE": "graphiql.LICENSE",
        },
    ),
    Pin(
        "@graphiql/plugin-explorer",
        "1.0.2",
        {"dist/index.umd.js": "explorer.umd.js", "dist/style.css": "explorer.css"},
    ),
    Pin(
        "react",
        "18.2.0",
        {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "react.LICENSE"},
    ),
    Pin(
        "react-dom",
        "18.2.0",
        {
            "umd/react-dom.production.min.js": "react-dom.production.min.js",
            "LICENSE": "react-dom.LICENSE",
        },
    ),
)


def vendored_names() -> list[str]:
    """The names of every vendored file, in a stable order."""
    return sorted(name for pin in PINS for name in pin.files.values())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recorded_sums() -> dict[str, str]:
    """`SHA256SUMS` (the `sha256sum` format: `sha256sum -c SHA256SUMS` checks it too)."""
    sums: dict[str, str] = {}
    for line in SUMS.read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def _get(url: str) -> bytes:
    if not url.startswith(REGISTRY + "/"):
        raise ValueError(f"not the npm registry: {url}")
    with urllib.request.urlopen(url, timeout=120) as response:
        data: bytes = response.read()
        return data


def _tarball(pin: Pin) -> bytes:
    """The pinned version's tarball, checked against the registry's integrity sum."""
    name = urllib.parse.quote(pin.name, safe="@")
    manifest = json.loads(_get(f"{REGISTRY}/{name.replace('/', '%2F')}/{pin.version}"))
    algorithm, _, expected = manifest["dist"]["integrity"].partition("-")
    if algorithm != "sha512":
        raise ValueError(f"{pin.name}@{pin.version}: unexpected integrity {algorithm}")
    data = _get(manifest["dist"]["tarball"])
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        raise ValueError(f"{pin.name}@{pin.version}: the tarball does not match its integrity")
    return data


def refresh() -> dict[str, str]:
    """Downloads every pin, writes its files and `SHA256SUMS`; returns the sums."""
    sums: dict[str, str] = {}
    ASSETS.mkdir(parents=True, exist_ok=True)
    for pin in PINS:
        with tarfile.open(fileobj=io.BytesIO(_tarball(pin)), mode="r:gz") as archive:
            for source, target in pin.files.items():
                member = archive.extractfile(f"package/{source}")
                if member is None:
                    raise ValueError(f"{pin.name}@{pin.version} has no file {source}")
                data = member.read()
                (ASSETS / target).write_bytes(data)
                sums[target] = sha256(data)
    SUMS.write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))
    return sums


if __name__ == "__main__":
    for name, digest in refresh().items():
        print(f"{digest}  {name}")
