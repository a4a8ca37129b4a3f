"""`partnerbook serve --workers 2`: two processes answer, one of them projects, and both
share the embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.e2e.test_server import CREATE, LIST, STARTUP_GUARD, _free_port, post
from tests.e2e.ws_client import KEYS

pytestmark = pytest.mark.timeout(900)  # servers start slowly on a loaded machine


def _health(base: str) -> dict[str, Any]:
    # A fresh connection each time, so that either worker may take it.
    with httpx.Client(timeout=5) as client:
        body: dict[str, Any] = client.get(f"{base}/healthz").json()
        return body


def test_two_workers_answer_and_one_projects(tmp_path: Path, embedded_home: Path) -> None:
    port = _free_port()
    data = embedded_home / "data"
    env = {
        **os.environ,
        "PARTNERBOOK_DATABASE_URL": "",
        "PARTNERBOOK_DATA_DIR": str(data),
        "PARTNERBOOK_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[str] = []
    reader = threading.Thread(
        target=lambda: output.extend(line.decode() for line in process.stdout or ()), daemon=True
    )
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        seen: dict[int, bool] = {}
        deadline = time.monotonic() + STARTUP_GUARD
        with ThreadPoolExecutor(8) as pool:
            while len(seen) < 2 or not any(seen.values()):
                assert process.poll() is None, "the server exited"
                said = "".join(output)[-4000:]
                assert time.monotonic() < deadline, f"workers seen: {seen}\n{said}"
                try:
                    for health in pool.map(lambda _: _health(base), range(16)):
                        if "pid" in health:
                            seen[health["pid"]] = health["projectorActive"]
                except (httpx.TransportError, json.JSONDecodeError):
                    time.sleep(0.3)
        assert len(seen) == 2
        # One projector holds the advisory lock; the other stands by.
        time.sleep(1.5)
        with ThreadPoolExecutor(8) as pool:
            for health in pool.map(lambda _: _health(base), range(32)):
                seen[health["pid"]] = health["projectorActive"]
        assert sorted(seen.values()) == [False, True], seen

        # The admin key printed on the first start (the last line of its notice).
        printed = [line.strip() for line in output if line.strip().startswith("pb_")]
        assert printed, "".join(output)
        KEYS[base] = printed[0]
        # Whichever worker takes the write, every worker reads it at once.
        assert post(base, CREATE, {"name": "Azure Interior"})["createPartner"]["userErrors"] == []
        for _ in range(6):
            assert post(base, LIST)["partners"]["totalCount"] == 1
    finally:
        KEYS.pop(base, None)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
    out = "".join(output)
    assert process.returncode == 0, out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert records and all(
        {"level", "logger", "message", "request_id"} <= r.keys() for r in records
    )
    # The embedded PostgreSQL stopped with the last process.
    deadline = time.monotonic() + STARTUP_GUARD
    while (data / "pgdata" / "postmaster.pid").exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL outlived the server"
        time.sleep(0.2)
