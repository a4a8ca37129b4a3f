"""The benchmarks cannot rot: `python -m bench --quick` runs every one of them at tiny
sizes. Benchmarks are not tests: nothing here looks at a timing or a target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVERY_BENCHMARK = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P9", "A1"}


# The run's own bound (900 s, below) is the hang guard: the suite's 300 s one stopped it
# first on a machine loaded four times over (a fresh clone's run beside other work).
@pytest.mark.timeout(960)
def test_quick_bench_runs_every_benchmark_and_writes_json(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("PARTNERBOOK_DATABASE_URL", None)
    if url := os.environ.get("PARTNERBOOK_TEST_DATABASE_URL"):
        env["PARTNERBOOK_DATABASE_URL"] = url  # a fresh database per benchmark there
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a bound for a hang: minutes on a loaded machine, not a timing
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    results = report["results"]
    assert {r["id"] for r in results} == EVERY_BENCHMARK
    assert not [r for r in results if r["status"] == "error"]
    assert all(r["status"] in ("pass", "FAIL", "info", "skipped") for r in results)
