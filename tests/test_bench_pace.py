"""The catch-up pace benchmark's arithmetic (bench/projection.py): events/s per slice."""

from __future__ import annotations

from bench.projection import slice_rates


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
