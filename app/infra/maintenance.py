"""`partnerbook maintenance scrub`: makes PostgreSQL forget the old row versions and WAL
that still hold values an erasure removed (docs/operations.md, docs/security.md).

An erasure deletes the person's key and overwrites the read models' rows, but PostgreSQL
keeps the old row versions in the table files until VACUUM reuses their space, sample
values in `pg_statistic` until the next ANALYZE, and the changes in the WAL until a
checkpoint lets the segment go (and a recycled segment keeps its bytes under a new name).
The scrub rewrites every table of the database (VACUUM FULL: fresh files, the old ones
truncated), analyzes them, rewrites `pg_statistic`, then moves the WAL past every segment
that existed when it began, with segment recycling off so each old one is deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from app.infra.database import Database

MAX_SWITCHES = 64
"""Bound of WAL switches (each moves to a fresh 16 MB segment)."""


@dataclass
class ScrubReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Steps the connected role may not take (e.g. a managed server), with why."""


def scrub(db: Database, say: Callable[[str], None] = lambda _: None) -> ScrubReport:
    """Runs the scrub on `db`'s database (and, as far as the role may, its server's WAL)."""
    report = ScrubReport()
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        superuser = _is_superuser(conn)
        say("rewriting every table (VACUUM FULL, ANALYZE)")
        conn.execute("VACUUM (FULL, ANALYZE)")
        report.done.append("VACUUM (FULL, ANALYZE) of every table")
        if superuser:
            # ANALYZE just replaced the samples: their old versions go too.
            conn.execute("VACUUM FULL pg_catalog.pg_statistic")
            report.done.append("VACUUM FULL pg_statistic")
        else:
            report.skipped.append("pg_statistic: needs a superuser (old samples stay until reused)")
        _scrub_wal(conn, superuser, report, say)
    return report


def _scrub_wal(
    conn: psycopg.Connection[Any], superuser: bool, report: ScrubReport, say: Callable[[str], None]
) -> None:
    if not superuser:
        try:
            _switch_and_checkpoint(conn)
            report.done.append("WAL switched, CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege as error:
            report.skipped.append(f"WAL: {error.diag.message_primary}")
        report.skipped.append(
            "WAL recycling: needs a superuser (old segments may stay, renamed, until reused)"
        )
        return
    say("moving the WAL past every old segment")
    before = _wal_files(conn)
    recycle = _setting(conn, "wal_recycle")
    conn.execute("ALTER SYSTEM SET wal_recycle = off")
    conn.execute("SELECT pg_reload_conf()")
    try:
        _wait_for_setting(conn, "wal_recycle", "off")
        for _ in range(MAX_SWITCHES):
            _switch_and_checkpoint(conn)
            if not before & _wal_files(conn):
                break
        left = before & _wal_files(conn)
    finally:
        if recycle == "off":
            conn.execute("ALTER SYSTEM SET wal_recycle = off")
        else:
            conn.execute("ALTER SYSTEM RESET wal_recycle")
        conn.execute("SELECT pg_reload_conf()")
    if left:
        report.skipped.append(
            f"{len(left)} WAL segment(s) still kept (replication slot, wal_keep_size or "
            "archiving): they go once released"
        )
    report.done.append("WAL moved past every segment written before the scrub")


def _switch_and_checkpoint(conn: psycopg.Connection[Any]) -> None:
    # A switch does nothing on an empty segment: a message makes it hold a record.
    conn.execute("SELECT pg_logical_emit_message(false, 'partnerbook', 'scrub')")
    conn.execute("SELECT pg_switch_wal()")
    conn.execute("CHECKPOINT")


def _wal_files(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'")
    return {str(r[0]) for r in rows.fetchall()}


def _is_superuser(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def _setting(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute(sql.SQL("SELECT current_setting({})").format(sql.Literal(name))).fetchone()
    return str(row[0]) if row else ""


def _wait_for_setting(conn: psycopg.Connection[Any], name: str, value: str) -> None:
    """pg_reload_conf() only signals the postmaster, which passes the signal on to every
    process: once this session sees the new value, the checkpointer has been signalled
    too, and it rereads the file before it runs the next checkpoint asked of it."""
    for _ in range(50):
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = %s", (name,)).fetchone()
        if row and row[0] == value:
            return
        conn.execute("SELECT pg_sleep(0.05)")
