"""Benchmark: wall time of what users run, serial against parallel.

What: (1) the default ``python run.py`` (6 replications of the default scenario, report
included) with ``executor=serial`` and with ``executor=local`` (a process per core);
(2) a 2 x 2 sweep (``dispatch=direct,two_level call_center.seats=450,500``, 3
replications of 30 days each) run one job after another with serial replications, and
with the jobs in parallel through Hydra's joblib launcher. Each command runs in a
fresh output folder, as a subprocess, so the timings include start-up and writing
every file, exactly as a user sees them.

Why: the machine has few cores; this says what parallelism buys on it (two cores do not
give a full 2x: they share memory bandwidth and caches).

Usage::

    python benchmarks/bench_runs.py [--repeats 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["-m", "dispatch=direct,two_level", "call_center.seats=450,500", "replications=3", "horizon_days=30"]

CASES = {
    "default run, executor=serial": ["executor=serial"],
    "default run, executor=local": ["executor=local"],
    "2x2 sweep, jobs one by one, serial replications": [*SWEEP, "executor=serial"],
    "2x2 sweep, jobs in parallel (joblib launcher)": [*SWEEP, "executor=serial", "hydra/launcher=joblib",
                                                       "hydra.launcher.n_jobs=-1"],
}


def time_case(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        dir_key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "run.py", *args, f"{dir_key}={tmp}/out"], cwd=ROOT,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    results = {name: min(time_case(case) for _ in range(args.repeats)) for name, case in CASES.items()}
    width = max(map(len, results))
    for name, seconds in results.items():
        print(f"{name:<{width}}  {seconds:6.1f} s")
    names = list(results)
    print(f"\nspeed-up, default run: {results[names[0]] / results[names[1]]:.2f}x; "
          f"2x2 sweep: {results[names[2]] / results[names[3]]:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
