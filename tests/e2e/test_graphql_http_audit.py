"""GraphQL over HTTP, as its own audit suite judges it: graphql-http's `auditServer`
(written alongside the specification, run by clients' tooling) against `partnerbook
serve`: no error (a MUST) and no warning (a SHOULD).

Needs Node.js 18+ and npm: graphql-http is installed from the npm registry into a
temporary folder once per session. Without node or npm the test is skipped; when npm
cannot install the package it is skipped too, except in CI (the `CI` variable set),
where that is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.infra.database import Database
from tests.e2e.test_server import serving
from tests.e2e.ws_client import KEYS

SCRIPT = Path(__file__).with_name("graphql_http_audit.mjs")
pytestmark = pytest.mark.timeout(900)


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60)
    try:
        return int(version.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


@pytest.fixture(scope="session")
def audit_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with graphql-http installed and the audit script beside it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _skip_unless_required("graphql-http's audit needs Node.js (node) and npm on the PATH")
    assert node is not None and npm is not None
    if _node_major(node) < 18:
        _skip_unless_required("graphql-http's audit needs Node.js 18 or later (for fetch)")
    folder = tmp_path_factory.mktemp("graphql-http")
    (folder / "package.json").write_text('{"name": "audit", "private": true, "type": "module"}')
    installed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", "graphql-http@^1"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        reason = f"npm could not install graphql-http: {installed.stderr.strip()[-500:]}"
        _skip_unless_required(reason + " (offline?)")
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    return folder


def _skip_unless_required(reason: str) -> None:
    """Skips, saying why; CI sets PARTNERBOOK_TEST_REQUIRE_NODE=1 (as for the client
    generator's test) so that a missing Node.js or registry fails instead."""
    if os.environ.get("PARTNERBOOK_TEST_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (and PARTNERBOOK_TEST_REQUIRE_NODE=1)")
    pytest.skip(reason)


def test_the_graphql_over_http_audit_passes_without_a_warning(
    audit_folder: Path, db: Database, tmp_path: Path
) -> None:
    with serving({"PARTNERBOOK_DATABASE_URL": db.dsn}, tmp_path) as base:
        ran = subprocess.run(
            ["node", SCRIPT.name, f"{base}/graphql", KEYS[base]],
            cwd=audit_folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert ran.returncode == 0, ran.stderr
    results: list[dict[str, Any]] = [json.loads(line) for line in ran.stdout.splitlines()]
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert failed == [], "\n".join(
        f"{r['status']} {r['id']} {r['name']}: {r['reason']} | {r['body']}" for r in failed
    )
    assert sum(r["status"] == "ok" for r in results) >= 50  # the suite did run
