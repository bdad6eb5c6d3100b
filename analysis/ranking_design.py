"""League-table designs under the accountability loop, side by side (issue 10):
``ranking_design.csv`` of a sweep directory (``python run.py -m experiment=ranking_design``,
docs/ranking_design.md), one row per design (job) and measure.

Measures, per replication of a job (each a run directory with ``streets_monthly.csv``
and ``street_state_monthly.csv``), over the *acted-on months*: the reported months
(those of ``city_monthly.csv``, i.e. ranked with complete callbacks) after the first,
so every one of them is worked under a state some table has set:

``true_resolution``
    problems really solved / tickets closed (``solved / closed`` summed over streets
    and the acted-on months);
``gap``
    measured resolution (said solved / callbacks answered) minus ``true_resolution``:
    what gaming and survey noise add to the published figure;
``extra_caseworker_months``
    caseworker slots beyond each street's own, summed over streets and the months of
    the loop's state (``capacity`` of ``street_state_monthly.csv``, one row per table,
    in force for about a month, minus the street's caseworkers in the first reported
    month of ``streets_monthly.csv``, before any table);
``mean_effort_logit``
    mean of ``effort`` over streets and tables (logit of true resolution added);
``noise_share``
    of the rectification street-months, the share whose true quality while the month
    was worked (latent quality + the effort in force then, i.e. the previous table's;
    the start effort for the first table, the same for every street) is *not below* the
    median of the ranked streets that month: streets named for a month they did as well
    as the typical street, i.e. there by survey noise (and weights) alone;
``within_limits_share``
    of the rectification street-months, the share whose score was *not below* its
    lower 99.8% funnel limit (:func:`sim.ranking.funnel_lower_limit`, with the street's
    answered callbacks of ``streets_monthly.csv``, i.e. as finally known, slightly more
    than at the table's publication): named although the table itself cannot tell
    them from the city's mean (0 by construction, up to that difference, under
    ``rectification_rule: funnel``);
``rectification_per_month``
    streets in rectification per table.

For each job and measure: the mean over replications with its 95% t interval, and,
against the default design (the job whose ``ranking_design`` is ``default``, or the
one given), the paired difference replication by replication (same seed: common random
numbers) with its 95% t interval.
"""
from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

import numpy as np

from analysis.io import write_csv_atomic
from analysis.rundir import CITY_MONTHLY_FILE, STREETS_MONTHLY_FILE
from analysis.kpis.stats import mean_ci
from analysis.rankings.street_state import STREET_STATE_FILE
from analysis.sweep_table import job_dirs, swept_values
from sim.ranking import funnel_lower_limit

log = logging.getLogger(__name__)

DESIGN_FILE = "ranking_design.csv"
DESIGN_KEY = "ranking_design"
DEFAULT_DESIGN = "default"
MEASURES = ("true_resolution", "gap", "extra_caseworker_months", "mean_effort_logit", "noise_share",
            "within_limits_share", "rectification_per_month")
#: Measures that are shares (their intervals clipped to [0, 1]).
SHARES = ("true_resolution", "noise_share", "within_limits_share")
COLUMNS = ("design", "job", "measure", "mean", "ci_low", "ci_high", "diff_vs_default", "diff_ci_low",
           "diff_ci_high", "n_replications")


def _read(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def reported_months(run_dir: Path) -> list[str]:
    """The months of ``city_monthly.csv`` (ranked, callbacks complete), in order."""
    return sorted({r["month"] for r in _read(Path(run_dir) / CITY_MONTHLY_FILE)})


def replication_measures(run_dir: Path) -> dict[int, dict[str, float]]:
    """``{replication: {measure: value}}`` of one run directory (module docstring)."""
    run_dir = Path(run_dir)
    months = reported_months(run_dir)
    acted = set(months[1:])
    streets = _read(run_dir / STREETS_MONTHLY_FILE)
    state = _read(run_dir / STREET_STATE_FILE)
    reps = sorted({int(r["replication"]) for r in streets} | {int(r["replication"]) for r in state})
    out = {}
    for rep in reps:
        srows = [r for r in streets if int(r["replication"]) == rep]
        sums = {k: sum(float(r[k]) for r in srows if r["month"] in acted)
                for k in ("solved", "closed", "resolved", "surveyed")}
        true = sums["solved"] / sums["closed"] if sums["closed"] else float("nan")
        measured = sums["resolved"] / sums["surveyed"] if sums["surveyed"] else float("nan")
        # streets_monthly names a street, street_state_monthly numbers it: match on district + name
        base = {(r["district"], r["street_zh"]): float(r["caseworkers"]) for r in srows
                if months and r["month"] == months[0]}
        answered = {(r["month"], r["district"], r["street_zh"]): float(r["surveyed"]) for r in srows}

        st = [r for r in state if int(r["replication"]) == rep]
        by_month: dict[str, list[dict]] = {}
        for r in st:
            by_month.setdefault(r["month"], []).append(r)
        extra = sum(float(r["capacity"]) - base.get((r["district"], r["street_zh"]), float(r["capacity"])) for r in st)
        effort = float(np.mean([float(r["effort"]) for r in st])) if st else float("nan")
        prev_effort: dict[str, float] = {}
        named = above = within = 0
        for month in sorted(by_month):
            rows = by_month[month]
            scores = np.array([float(r["score"]) if r["score"] not in ("", "nan") else np.nan for r in rows])
            n = np.array([answered.get((month, r["district"], r["street_zh"]), 0.0) for r in rows])
            lo = funnel_lower_limit(scores, n, np.array([int(r["rank"]) > 0 for r in rows]))
            # true quality while the month was worked: latent + the effort then in force
            q = {r["street"]: float(r["quality"]) - float(r["effort"]) + prev_effort.get(r["street"], 0.0)
                 for r in rows}
            ranked = [q[r["street"]] for r in rows if int(r["rank"]) > 0]
            median = float(np.median(ranked)) if ranked else float("nan")
            for i, r in enumerate(rows):
                if "rectification" in r["class"].split("+"):
                    named += 1
                    above += q[r["street"]] >= median
                    within += bool(scores[i] >= lo[i])
            prev_effort = {r["street"]: float(r["effort"]) for r in rows}
        out[rep] = {"true_resolution": true, "gap": measured - true, "extra_caseworker_months": extra,
                    "mean_effort_logit": effort, "noise_share": above / named if named else float("nan"),
                    "within_limits_share": within / named if named else float("nan"),
                    "rectification_per_month": named / len(by_month) if by_month else float("nan")}
    return out


def design_table(sweep_dir: Path, default: str = DEFAULT_DESIGN) -> tuple[list[str], list[list]]:
    """Header and rows of ``ranking_design.csv`` from the finished jobs of a sweep that
    have ``street_state_monthly.csv`` (the loop ran). A job's design is its swept
    ``ranking_design`` (else its directory name)."""
    jobs = [j for j in job_dirs(sweep_dir) if (j / STREET_STATE_FILE).is_file()]
    designs = {j: swept_values(j).get(DESIGN_KEY, j.name) for j in jobs}
    values = {j: replication_measures(j) for j in jobs}
    base = next((j for j in jobs if designs[j] == default), None)
    rows = []
    for j in jobs:
        reps = values[j]
        for m in MEASURES:
            ci = mean_ci([v[m] for v in reps.values()])
            if m in SHARES and ci["ci_low"] is not None:  # as city_monthly.csv: shares' intervals in [0, 1]
                ci["ci_low"], ci["ci_high"] = max(ci["ci_low"], 0.0), min(ci["ci_high"], 1.0)
            diff = {"mean": None, "ci_low": None, "ci_high": None}
            if base is not None:
                common = sorted(set(reps) & set(values[base]))
                diff = mean_ci([reps[r][m] - values[base][r][m] for r in common])
            rows.append([designs[j], j.name, m, ci["mean"], ci["ci_low"], ci["ci_high"], diff["mean"],
                         diff["ci_low"], diff["ci_high"], len(reps)])
    return list(COLUMNS), rows


def write_design_table(sweep_dir: Path, default: str = DEFAULT_DESIGN) -> Path | None:
    """Write ``ranking_design.csv`` and its chart (``charts/ranking_design.png``) when
    some job of the sweep ran the loop; return the CSV's path (None if none did)."""
    sweep_dir = Path(sweep_dir)
    header, rows = design_table(sweep_dir, default)
    if not rows:
        return None
    out = sweep_dir / DESIGN_FILE
    write_csv_atomic(out, header, rows)
    try:
        from analysis.charts.ranking_design import ranking_design_chart
        ranking_design_chart([dict(zip(header, r)) for r in rows]).save(sweep_dir / "charts")
    except ImportError:  # pragma: no cover - charts are optional for the table
        log.info("no chart module; ranking design chart skipped")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The design table of a ranking_design sweep.")
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--default", default=DEFAULT_DESIGN, help="the design differences are taken against")
    args = parser.parse_args(argv)
    path = write_design_table(args.sweep_dir, args.default)
    if path is None:
        print(f"ranking_design: no job with {STREET_STATE_FILE} in {args.sweep_dir}", file=sys.stderr)
        return 2
    print(f"design table: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
