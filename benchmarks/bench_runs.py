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
    python benchmarks/bench_runs.py --only "default run, executor=local" --against ../before --repeats 3

``--against TREE`` also times another checkout of the project (say ``git worktree add
../before HEAD~3``) with the same commands, before and after in alternating order each
round (the machine may be shared and noisy), and prints each round's ratio.
"""
from __future__ import annotations

import argparse
import json
import resource
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


def time_case(args: list[str], root: Path = ROOT) -> float:
    return run_case(args, root)[0]


def run_case(args: list[str], root: Path = ROOT) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the command and every process it waited
    for: its worker processes) of one command."""
    with tempfile.TemporaryDirectory() as tmp:
        dir_key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "run.py", *args, f"{dir_key}={tmp}/out"], cwd=root,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr[-2000:]}")
    return seconds, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--only", metavar="TEXT", help="only the cases whose name contains TEXT")
    parser.add_argument("--against", type=Path, metavar="TREE",
                        help="another checkout to time in alternating rounds (before/after ratio)")
    args = parser.parse_args()
    cases = {name: case for name, case in CASES.items() if args.only is None or args.only in name}
    if args.against is not None:
        compare(cases, args.against.resolve(), args.repeats, args.json)
        return
    results = {name: min(time_case(case) for _ in range(args.repeats)) for name, case in cases.items()}
    width = max(map(len, results))
    for name, seconds in results.items():
        print(f"{name:<{width}}  {seconds:6.1f} s")
    if len(results) == len(CASES):
        names = list(results)
        print(f"\nspeed-up, default run: {results[names[0]] / results[names[1]]:.2f}x; "
              f"2x2 sweep: {results[names[2]] / results[names[3]]:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def compare(cases: dict, other: Path, rounds: int, json_path: str | None) -> None:
    """Each case in ``other`` (before) and here (after), alternating which goes first."""
    out = {}
    for name, case in cases.items():
        times: dict[str, list[float]] = {"before": [], "after": []}
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        for r in range(rounds):
            order = [("before", other), ("after", ROOT)]
            for label, root in (order if r % 2 == 0 else order[::-1]):
                wall, cpu_s = run_case(case, root)
                times[label].append(wall)
                cpu[label].append(cpu_s)
            print(f"{name}, round {r + 1}: before {times['before'][-1]:.1f} s (CPU {cpu['before'][-1]:.1f} s), "
                  f"after {times['after'][-1]:.1f} s (CPU {cpu['after'][-1]:.1f} s), "
                  f"ratio {times['before'][-1] / times['after'][-1]:.2f}x", flush=True)
        ratios = sorted(b / a for b, a in zip(times["before"], times["after"]))
        best = min(times["before"]) / min(times["after"])
        print(f"{name}: best before {min(times['before']):.1f} s, best after {min(times['after']):.1f} s ({best:.2f}x); "
              f"per-round ratios {', '.join(f'{x:.2f}' for x in ratios)}")
        out[name] = {**times, "cpu_before": cpu["before"], "cpu_after": cpu["after"], "round_ratios": ratios,
                     "best_ratio": best}
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
