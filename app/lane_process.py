"""The heavy lane's process (see app/schema/lane.py for which requests go there).

Each API process starts one lane process: `python -m app.lane_process SOCKET`, which
reads its settings as one JSON line on stdin and serves the same app on a Unix socket
(in a directory only this user may open), without a projector, at a lower CPU priority
(`heavy_nice`); where the database is on this machine and ours (the embedded server, or
`heavy_renice_database`), the database sessions serving the lane get the same lower
priority. The lane process ends when its stdin closes: when the API process ends,
however it ends. If it dies, the API process starts another (after 1 s, doubling up to
30 s); meanwhile heavy requests run in the API process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from app.settings import Settings

log = logging.getLogger("partnerbook.lane")

LANE_POOL_TIMEOUT = 30.0
"""Seconds a query of the lane may wait for a pooled connection (see Settings.pool_timeout)."""
READY_SECONDS = 120.0
"""How long a starting lane process may take to answer (imports, pools: ~2 s when quiet)."""


class LaneProcess:
    """Starts, watches and stops the lane process of this API process."""

    def __init__(self, settings: Settings, database_url: str, renice_database: bool) -> None:
        lane_settings = settings.model_dump(mode="json")
        lane_settings |= {
            "database_url": database_url,
            "run_projector": False,
            "heavy_lane": False,
            "workers": 1,
            "heavy_renice_database": renice_database,
            # A heavy page runs many queries at once, at a low priority: they may queue
            # for the pool longer than a cheap request would.
            "pool_timeout": max(LANE_POOL_TIMEOUT, settings.pool_timeout or 0),
        }
        self._settings_line = json.dumps(lane_settings).encode() + b"\n"
        self._directory = tempfile.mkdtemp(prefix="partnerbook-lane-")
        os.chmod(self._directory, 0o700)
        self._path = str(Path(self._directory) / "lane.sock")
        self._process: asyncio.subprocess.Process | None = None
        self._ready = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def socket_path(self) -> str | None:
        """The socket while the lane answers; None before it is ready and after it died."""
        process = self._process
        if self._ready and process is not None and process.returncode is None:
            return self._path
        return None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="heavy-lane")

    async def wait_ready(self, seconds: float) -> bool:
        """For tests and benchmarks: whether the lane answers within `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self.socket_path is not None:
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()  # the lane's signal to shut down
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        shutil.rmtree(self._directory, ignore_errors=True)

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.lane_process",
                self._path,
                stdin=asyncio.subprocess.PIPE,
            )
            self._process = process
            assert process.stdin is not None
            process.stdin.write(self._settings_line)
            await process.stdin.drain()
            self._ready = await self._answers(process)
            if self._ready:
                log.info("heavy lane ready (pid %s)", process.pid)
                delay = 1.0
            code = await process.wait()
            self._ready = False
            if self._stopping:
                return
            log.warning("the heavy lane (pid %s) ended with %s; restarting", process.pid, code)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _answers(self, process: asyncio.subprocess.Process) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        while loop.time() < deadline and process.returncode is None and not self._stopping:
            try:
                reader, writer = await asyncio.open_unix_connection(self._path)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: lane\r\nConnection: close\r\n\r\n")
                await writer.drain()
                status = await reader.readline()
            finally:
                writer.close()
            if status.startswith(b"HTTP/1.1 200"):
                return True
            await asyncio.sleep(0.1)
        return False


def renice_backend(conn: Any) -> None:
    """Gives the database session behind `conn` (a psycopg connection to a server on this
    machine) the lane's CPU priority."""
    pid = conn.info.backend_pid
    with contextlib.suppress(OSError):  # not ours to renice, or already gone
        if Path(f"/proc/{pid}/comm").read_text().strip().startswith("postgres"):
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0))


def _end_when_stdin_closes() -> None:
    """The API process holds our stdin: when it closes (the API process stopped or
    died), shut down as for a SIGTERM."""

    def watch() -> None:
        while sys.stdin.buffer.read(1024):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="lane-stdin", daemon=True).start()


def uvicorn_options(settings: Settings, socket_path: str) -> dict[str, Any]:
    """What the lane gives uvicorn besides the app."""
    from app.event_loop import LOOP
    from app.observability import log_config

    return {
        "uds": socket_path,
        "log_level": settings.log_level.lower(),
        "access_log": settings.access_log,
        "lifespan": "on",
        "log_config": log_config(settings.log_format, settings.log_level),
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        # The deep requests are the lane's: each with room on the frame stack.
        "loop": LOOP,
    }


def main(argv: list[str]) -> int:
    import uvicorn

    from app.main import create_app
    from app.observability import configure_logging

    socket_path = argv[1]
    settings = Settings(**json.loads(sys.stdin.buffer.readline()))
    # The setting is the lane's niceness, not an increment: a server already started under
    # `nice` keeps its lane at least as nice as itself, and never above the setting's value.
    with contextlib.suppress(OSError):
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, max(own, settings.heavy_nice))
    configure_logging(settings.log_format, settings.log_level)
    _end_when_stdin_closes()
    uvicorn.run(create_app(settings), **uvicorn_options(settings, socket_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
