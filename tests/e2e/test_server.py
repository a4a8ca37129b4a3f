"""The real thing: `partnerbook serve` (uvicorn) in its own process, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from app.infra import api_keys
from app.infra.database import Database
from tests.e2e.ws_client import KEYS

CREATE = """mutation($name: String!) { createPartner(input: {kind: COMPANY, name: $name}) {
  partner { id name } userErrors { code } } }"""
LIST = "{ partners(first: 10) { totalCount nodes { name } } }"
STARTUP_GUARD = 300
"""Seconds a server (or its embedded PostgreSQL) may take to start or stop before the
test calls it hung: a bound for a hang, not a timing (a loaded machine took 30-90 s to
start `serve --workers 2` with a fresh embedded PostgreSQL, an idle one takes 5 s)."""
pytestmark = pytest.mark.timeout(900)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_FIRST_KEYS: dict[str, str] = {}
"""The admin key a first start printed, by data dir (a restart prints none)."""


@contextmanager
def serving(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """A server; with a database URL, an admin key is made for it first, else the key
    the first start prints is used. `post` and `websocket` send it."""
    port = _free_port()
    url = env.get("PARTNERBOOK_DATABASE_URL")
    key = None
    if url:
        key = api_keys.create_key(
            Database.from_url(url).conninfo(), f"e2e-{uuid.uuid4().hex[:8]}", "admin"
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    data_dir = env.get("PARTNERBOOK_DATA_DIR", str(cwd))
    try:
        deadline = time.monotonic() + STARTUP_GUARD
        while True:
            if process.poll() is not None:
                reader.join(5)
                raise AssertionError(f"server exited: {''.join(output)}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start within {STARTUP_GUARD} s"
            time.sleep(0.2)
        printed = [line.strip() for line in output if line.strip().startswith("pb_")]
        if key is None and printed:
            _FIRST_KEYS[data_dir] = printed[0]
        KEYS[base] = key or _FIRST_KEYS[data_dir]
        yield base
    finally:
        KEYS.pop(base, None)
        process.send_signal(signal.SIGTERM)
        try:  # a clean stop stops the embedded PostgreSQL too: give it the same bound
            process.wait(timeout=STARTUP_GUARD)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {KEYS[base]}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _env_without_database() -> dict[str, str]:
    return {"PARTNERBOOK_DATABASE_URL": ""}


def test_serve_with_embedded_postgres_keeps_data_across_restarts(
    tmp_path: Path, embedded_home: Path
) -> None:
    env = {**_env_without_database(), "PARTNERBOOK_DATA_DIR": str(embedded_home / "data")}
    with serving(env, tmp_path) as base:
        assert KEYS[base].startswith("pb_")  # printed by the first start
        unauthenticated = httpx.post(f"{base}/graphql", json={"query": LIST}, timeout=10)
        assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"}, timeout=10)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        created = post(base, CREATE, {"name": "Azure Interior"})["createPartner"]
        assert created["userErrors"] == []
        assert post(base, LIST)["partners"] == {
            "totalCount": 1,
            "nodes": [{"name": "Azure Interior"}],
        }
    with serving(env, tmp_path) as base:
        assert post(base, LIST)["partners"]["nodes"] == [{"name": "Azure Interior"}]
        post(base, CREATE, {"name": "Deco Addict"})
        assert post(base, LIST)["partners"]["totalCount"] == 2
    # SIGTERM stopped the server, and the embedded PostgreSQL with it.
    deadline = time.monotonic() + STARTUP_GUARD
    while (embedded_home / "data" / "pgdata" / "postmaster.pid").exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL outlived the server"
        time.sleep(0.2)


def test_serve_with_a_database_url(db: Database, tmp_path: Path) -> None:
    with serving({"PARTNERBOOK_DATABASE_URL": db.dsn}, tmp_path) as base:
        post(base, CREATE, {"name": "Wood Corner"})
        assert post(base, LIST)["partners"]["nodes"] == [{"name": "Wood Corner"}]
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["projectedPosition"] == 1


def _serve_until_it_exits(url: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(_free_port())],
        env={**os.environ, "PARTNERBOOK_DATABASE_URL": url},
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    return time.monotonic() - started, result


def test_an_unreachable_database_is_reported_in_one_line_quickly(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    url = f"postgresql://postgres@127.0.0.1:{port}/nowhere"
    # "Quickly" against the same command refused before it connects (a URL that is not
    # PostgreSQL's), measured here: the process's start-up is the machine's business.
    alone, refused = _serve_until_it_exits("mysql://nowhere/at-all", tmp_path)
    assert refused.returncode == 1, refused.stderr
    seconds, result = _serve_until_it_exits(url, tmp_path)
    assert seconds - alone < max(5.0, 2 * alone), (seconds, alone)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}/nowhere" in lines[0]
