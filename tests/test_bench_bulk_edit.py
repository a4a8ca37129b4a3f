"""bench.bulk_edit still runs (at a tiny size: the figures are for docs/performance.md)."""

from __future__ import annotations

from app.infra.database import Database
from bench.bulk_edit import measure


def test_the_bulk_edit_bench_runs_and_measures_both_sides(server: Database) -> None:
    bulk, raw = measure(server, 30, 1)
    assert len(bulk) == len(raw) == 1
    assert bulk[0] > 0 and raw[0] > 0
