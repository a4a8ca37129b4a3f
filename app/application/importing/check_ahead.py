"""A big file's emails and phone numbers (the slowest checks: email-validator,
phonenumbers) checked ahead in worker processes while the import plans and saves. The
answers are those the domain would compute (same functions), so the outcome is the same
as without."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ProcessPoolExecutor

from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc

AHEAD_MIN_ROWS = 2_000
"""With worker processes, files from this many rows have their emails and phones checked
ahead in the workers (smaller ones are checked in process: a pool costs more)."""
AHEAD_CHUNK = 500
"""Rows per task sent to a worker."""


def worth_checking_ahead(rows: int, workers: int) -> bool:
    return workers > 0 and rows >= AHEAD_MIN_ROWS


class CheckAhead:
    """The emails and phones of the rows, sent in chunks (file order) to a process pool;
    a row's answers are taken in (cf.remember) before the row is applied. Phones are
    checked with the row's country, else its parent's in the file (the region the domain
    will most likely use: when it uses another, that phone is simply checked again)."""

    def __init__(self, rows: list[oc.OdooRow], workers: int) -> None:
        countries = {
            row.xid: row.values.get("country_code") for row in rows if row.xid and not row.rejected
        }
        chunks: list[list[cf.Checked]] = []
        self.chunk_of: dict[int, int] = {}
        for start in range(0, len(rows), AHEAD_CHUNK):
            items: list[cf.Checked] = []
            for row in rows[start : start + AHEAD_CHUNK]:
                self.chunk_of[row.line] = len(chunks)
                if row.rejected:
                    continue
                email = row.values.get("email")
                if isinstance(email, str) and email:
                    items.append(("email", email, None))
                given = row.values.get("country_code") or (
                    countries.get(row.parent_xid) if row.parent_xid else None
                )
                region = given.strip().upper() if isinstance(given, str) and given else None
                for name in ("phone", "mobile"):
                    phone = row.values.get(name)
                    if isinstance(phone, str) and phone:
                        items.append(("phone", phone, region))
            chunks.append(items)
        self.items = [item for items in chunks for item in items]
        self.pool = ProcessPoolExecutor(max_workers=workers)
        self.futures: list[Future[list[tuple[cf.Checked, tuple[bool, str]]]] | None] = [
            self.pool.submit(cf.check_ahead, items) for items in chunks
        ]

    def __enter__(self) -> CheckAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        cf.forget(self.items)

    def wait_for(self, line: int) -> None:
        """Takes in the answers of the chunk holding this row (and of chunks done since)."""
        index = self.chunk_of.get(line)
        if index is None or self.futures[index] is None:
            return
        for i in range(index + 1):
            future = self.futures[i]
            if future is not None and (i == index or future.done()):
                self.futures[i] = None
                # A broken worker: these rows are simply checked in process.
                with contextlib.suppress(Exception):
                    cf.remember(future.result())
