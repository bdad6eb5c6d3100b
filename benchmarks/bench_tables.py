"""Benchmark: two pieces of the default run's tables stage against their plain references.

What, each as a ratio of best-of-N wall times in this process (alternating rounds: the
machines here are shared and noisy):

1. ``analysis.io.write_csv_atomic``, which looks each cell's formatter up by type,
   against the cell rule written plainly (an isinstance chain per cell,
   ``tests/test_io.py::_rule``) on 20,000 rows like ``rankings.csv`` (~160,000 cells;
   the default run writes ~400,000).
2. ``analysis.rankings.robustness.rank_with_tie_rule`` (sorts the tie-break rates only where scores
   tie) against one lexsort of every key (``tests/test_robustness.py``'s reference) on
   1,000 sampling draws of 333 streets with the ties the default run's draws have.

The tests check that both give the same bytes / ranks as their references; this says
how much faster they are. Usage::

    python benchmarks/bench_tables.py [--repeats 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import io as aio  # noqa: E402
from analysis.rankings.robustness import rank_with_tie_rule  # noqa: E402
from tests.test_io import _rule  # noqa: E402
from tests.test_robustness import _plain_rank_with_tie_rule, _tied_draws  # noqa: E402


def best_of(repeats: int, cases: dict) -> dict[str, float]:
    """Best wall time of each case, the cases run in turn each round."""
    best = {name: float("inf") for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def csv_case(repeats: int, tmp: Path) -> dict:
    rows = [[i, f"street {i % 333}", i * 0.37, i % 3 == 0, float(i % 17), None, 2019, 0.5 + i * 1e-6]
            for i in range(20000)]

    def plain():
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([_rule(v) for v in row] for row in rows)
        (tmp / "plain.csv").write_text(buf.getvalue(), encoding="utf-8-sig")

    best = best_of(repeats, {"plain rule per cell": plain,
                             "write_csv_atomic": lambda: aio.write_csv_atomic(tmp / "t.csv", [], rows)})
    return {"case": "CSV writing, 20,000 rows x 8 cells", **best}


def rank_case(repeats: int) -> dict:
    scores, rates, eligible = _tied_draws(np.random.default_rng(5))
    best = best_of(repeats, {"one lexsort of every key": lambda: _plain_rank_with_tie_rule(scores, rates, eligible),
                             "rank_with_tie_rule": lambda: rank_with_tie_rule(scores, rates, eligible)})
    return {"case": "ranks of 1,000 draws x 333 streets", **best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [csv_case(args.repeats, Path(tmp)), rank_case(args.repeats)]
    for r in results:
        (base_name, base), (new_name, new) = [(k, v) for k, v in r.items() if k != "case"]
        r["ratio"] = base / new
        print(f"{r['case']}: {base_name} {base * 1e3:.1f} ms, {new_name} {new * 1e3:.1f} ms "
              f"-> {r['ratio']:.1f}x (best of {args.repeats})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
