"""The catch-up pace benchmark (bench/projection.py): its events/s per slice, and its raw
side."""

from __future__ import annotations

import psycopg

from app.infra.database import Database
from bench.projection import catch_up_pace, slice_rates


def test_each_slice_is_timed_from_the_batch_that_ended_the_one_before() -> None:
    # Batches of 100 events: 1 s each for the first 200, then 2 s each.
    marks = [(0, 0.0), (100, 1.0), (200, 2.0), (300, 4.0), (400, 6.0)]
    assert slice_rates(marks, 2) == [
        {"from": 0, "to": 200, "events_per_s": 100.0},
        {"from": 200, "to": 400, "events_per_s": 50.0},
    ]


def test_slices_smaller_than_a_batch_fold_into_the_next() -> None:
    marks = [(0, 0.0), (1000, 2.0)]
    assert slice_rates(marks, 4) == [{"from": 0, "to": 1000, "events_per_s": 500.0}]


def test_the_raw_ceiling_writes_exactly_the_rows_the_catch_up_wrote(db: Database) -> None:
    """The raw side of the pace COPYs the projected partners, their tags and their timeline
    entries into tables of their own, and leaves nothing behind."""
    found = catch_up_pace(db, partners=40, slices=2, batch=10, seed=1)
    with psycopg.connect(db.conninfo()) as conn:

        def count(query: str) -> int:
            row = conn.execute(query).fetchone()
            assert row is not None
            return int(row[0])

        written = {
            "partners": count("SELECT count(*) FROM partners"),
            "partner_tags": count("SELECT count(*) FROM partner_tags"),
            # The partners' entries (the catalog's tags were created before them).
            "timeline": count(
                "SELECT count(*) FROM timeline WHERE position >= "
                "(SELECT min(position) FROM partners)"
            ),
        }
        left = conn.execute(
            "SELECT relname FROM pg_class WHERE starts_with(relname, 'ceiling')"
        ).fetchall()
    assert found["events"] >= 40
    assert found["ceiling"]["rows"] == written
    assert written["partners"] == 40 and written["partner_tags"] > 0
    assert left == []
