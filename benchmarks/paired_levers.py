"""Paired lever checks at full scale: does each planner's lever move the street rates
the right way?

What: for each lever, the default scenario (June 2019; the run ends on 1 July + 8 days
so June's callbacks are complete) with one change, A vs B, the same seed (common random
numbers: the same calls and problems), ``--reps`` replications; per replication the
difference B - A of the street tickets' rates for June, and its 95% t-interval. The
levers: 400 -> 650 seats, street caseworkers x0.8 -> x1.2, direct -> two-level dispatch,
and callbacks by the agents -> by a callback team at 400 seats.

Why: outcomes must follow from operations (docs/outcomes.md). The fast tests check the
same directions on a small city (tests/test_outcomes.py); this gives the full-scale
sizes the README quotes.

Usage::

    python benchmarks/paired_levers.py [--reps 3] [--workers 2]
"""
from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from analysis.kpis.calls import reduce_replication
from analysis.kpis.stats import mean_ci
from sim.config import build_config
from sim.experiment import ExecutorConfig, run_experiment

CONF = Path(__file__).resolve().parents[1] / "conf"
BASE = ("horizon_days=45",)  # 25 May + 45 days: June measured, its callbacks complete by 9 July
MONTH = "2019-06"
LEVERS = {
    "seats 400 -> 650": (("call_center.seats=400",), ("call_center.seats=650",)),
    "caseworkers x0.8 -> x1.2": (("streets.capacity.scale=0.8",), ("streets.capacity.scale=1.2",)),
    "direct -> two-level dispatch": (("dispatch=direct",), ("dispatch=two_level",)),
    "400 seats: callbacks by agents -> team": (("call_center.seats=400", "survey.staffing=shared"),
                                              ("call_center.seats=400", "survey.staffing=team")),
}
RATES = ("response", "resolution", "satisfaction", "compliance", "coverage")


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return build_config(OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True))


def june_street_rates(kpis: dict, basic_weight: float) -> dict[str, float]:
    t = kpis["monthly"]["streets"]
    rows = np.asarray(t["month"]) == MONTH
    total = {name: float(np.sum(t[name][rows])) for name in t if name not in ("month", "unit")}
    return {"response": total["signed_on_time"] / total["responded_known"],
            "resolution": total["resolved"] / total["surveyed"],
            "satisfaction": (total["satisfied"] + basic_weight * total["basically_satisfied"]) / total["surveyed"],
            "compliance": total["deadline_met"] / total["deadline_due"],
            "coverage": total["survey_made"] / (total["survey_made"] + total["survey_missed"])}


def run(overrides: tuple[str, ...], reps: int, workers: int) -> list[dict]:
    cfg = config(*BASE, f"replications={reps}", *overrides)
    per_rep = run_experiment(cfg, functools.partial(reduce_replication, cfg=cfg),
                             executor=ExecutorConfig(kind="local", workers=workers))
    return [june_street_rates(k, cfg.tickets.survey.basic_satisfied_weight) for k in per_rep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"street tickets of {MONTH}, {args.reps} paired replications; B - A in points, 95% CI\n")
    print("| lever | " + " | ".join(RATES) + " |")
    print("|---|" + "---|" * len(RATES))
    for lever, (a, b) in LEVERS.items():
        ra, rb = run(a, args.reps, args.workers), run(b, args.reps, args.workers)
        cells = []
        for rate in RATES:
            ci = mean_ci([100 * (y[rate] - x[rate]) for x, y in zip(ra, rb)])
            cells.append(f"{ci['mean']:+.2f} [{ci['ci_low']:+.2f}, {ci['ci_high']:+.2f}]")
        print(f"| {lever} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
