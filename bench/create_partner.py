"""createPartner over HTTP against a real uvicorn server, next to a raw one-row INSERT.

    python -m bench.create_partner [--requests N] [--clients C]

Benchmark P1 of `python -m bench`, on its own: starts its own database (embedded, or a
fresh database on PARTNERBOOK_DATABASE_URL's server), then a `partnerbook serve`
process on it; prints median throughput, p99 latency and the ratio of createPartner/s to
raw INSERT transactions/s measured in the same run. Writes
bench/results/create_partner.json.
"""

from __future__ import annotations

import argparse
import sys

from bench.__main__ import main as bench_main
from bench.core import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--port", type=int, help="ignored: the server gets a free port")
    args = parser.parse_args(argv)
    return bench_main(
        [
            "--only",
            "P1",
            "--requests",
            str(args.requests),
            "--clients",
            str(args.clients),
            "--json",
            str(ROOT / "bench" / "results" / "create_partner.json"),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
