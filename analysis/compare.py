"""Paired comparison of two runs that share a seed (common random numbers).

Replication r of both runs draws the same arrivals and the same intrinsic ticket
randomness, so the per-replication differences of a KPI remove most of the noise the
two runs share: the CI of the paired difference is far narrower than comparing two
independent CIs.

    python -m analysis.compare outputs/beijing_2019/<run A> outputs/beijing_2019/<run B>

prints, for every KPI both runs report, B - A with its 95% CI, and writes
``comparison.csv`` next to run B's summary (or to ``--out``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.io import write_csv_atomic
from analysis.kpis.stats import mean_ci
from analysis.rundir import COMPARISON_FILE, SUMMARY_FILE



class ComparisonError(ValueError):
    """The two runs cannot be paired."""


def paired_differences(a: dict, b: dict) -> dict[str, dict]:
    """Per KPI present in both summaries: B - A per replication, its mean and 95% CI,
    and the means of A and B over the same (paired) replications."""
    if a.get("seed") != b.get("seed"):
        raise ComparisonError(f"runs have different seeds ({a.get('seed')} vs {b.get('seed')}); "
                              "paired differences need the same seed")
    n = min(a["replications"], b["replications"])
    if n < 2:
        raise ComparisonError("paired differences need at least 2 replications in both runs")
    out = {}
    for name, ma in a["metrics"].items():
        mb = b["metrics"].get(name)
        if mb is None:
            continue
        diffs = [None if x is None or y is None else y - x
                 for x, y in zip(ma["per_replication"][:n], mb["per_replication"][:n])]
        ci = mean_ci([float("nan") if d is None else d for d in diffs])
        paired = [(x, y) for x, y in zip(ma["per_replication"][:n], mb["per_replication"][:n])
                  if x is not None and y is not None]
        mean_a = sum(x for x, _ in paired) / len(paired) if paired else None
        mean_b = sum(y for _, y in paired) / len(paired) if paired else None
        out[name] = {"a": mean_a, "b": mean_b, "diff": ci["mean"], "ci_low": ci["ci_low"],
                     "ci_high": ci["ci_high"], "per_replication": diffs}
    return out


def load_summary(run_dir: Path) -> dict:
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        raise ComparisonError(f"no {SUMMARY_FILE} in {run_dir}")
    return json.loads(path.read_text(encoding="utf-8"))


def format_comparison(diffs: dict[str, dict], label_a: str, label_b: str) -> str:
    lines = [f"paired differences B - A (A = {label_a}, B = {label_b}), mean and 95% CI over replications",
             "", f"  {'metric':<24}{'A':>14}{'B':>14}{'B - A':>14}   95% CI"]
    for name, d in diffs.items():
        if d["diff"] is None:
            continue
        ci = "" if d["ci_low"] is None else f"[{d['ci_low']:.4g} .. {d['ci_high']:.4g}]"
        star = " *" if d["ci_low"] is not None and (d["ci_low"] > 0 or d["ci_high"] < 0) else ""
        lines.append(f"  {name:<24}{d['a']:>14.4g}{d['b']:>14.4g}{d['diff']:>14.4g}   {ci}{star}")
    lines.append("\n  * the CI excludes 0")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paired comparison of two runs with the same seed.")
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path, help=f"CSV to write (default: RUN_B/{COMPARISON_FILE})")
    args = parser.parse_args(argv)
    try:
        diffs = paired_differences(load_summary(args.run_a), load_summary(args.run_b))
    except ComparisonError as err:
        print(f"compare: {err}", file=sys.stderr)
        return 2
    print(format_comparison(diffs, str(args.run_a), str(args.run_b)))
    out = args.out or args.run_b / COMPARISON_FILE
    write_csv_atomic(out, ["metric", "a", "b", "diff", "ci_low", "ci_high"],
                     [[k, d["a"], d["b"], d["diff"], d["ci_low"], d["ci_high"]] for k, d in diffs.items()])
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
