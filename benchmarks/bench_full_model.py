"""Benchmark: the full model (calls + tickets + surveys) against the call centre alone.

What: one simulated month of the default scenario (beijing_2019, 2019 volume: ~14,000
calls a day) run in this process, the models one after another (in a rotated order) in
each of ``--repeats`` rounds:

* ``call centre only``: the call-centre model alone (``dispatch=none``) as a planner
  would run it: the same arrivals on the inbound roster (``beijing_2019_inbound``);
* ``CC only, full roster``: the same, but on the full model's roster, whose extra
  agents (there for dispatch and callbacks) then sit idle, which makes calls cheaper
  to simulate (no queueing) -- shown as the strictest baseline;
* ``full model``: ``dispatch=direct`` (and ``two_level`` with ``--two-level``):
  tickets, dispatch work, streets, departments, callbacks, repeat calls.

It prints wall seconds, calls and tickets simulated, microseconds per call (set-up and
records included), and the ratio of full to call-centre-only time per call (the target
is at most 2x) -- best against best, and the median and range of the ratio within each
round.

Why: the ticket side must not make the model slow; this measures what it costs per
call, in the same process, so machine noise affects both sides alike.

Usage::

    python benchmarks/bench_full_model.py [--days 29] [--repeats 5] [--two-level] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.config import build_config
from sim.model import run_replication

CONF = Path(__file__).resolve().parent.parent / "conf"


def config(days: float, dispatch: str, *extra: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        raw = compose("config", overrides=[f"horizon_days={days}", "warmup_days=0", f"dispatch={dispatch}", *extra])
        return build_config(OmegaConf.to_container(raw, resolve=True))


def time_run(cfg) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    rec = run_replication(cfg, 0)
    seconds = time.perf_counter() - t0
    tickets = len(rec.tickets.created_min)
    return seconds, len(rec.calls.arrival_min), tickets


def measure(days: float, repeats: int, two_level: bool) -> dict:
    models = {
        "call centre only": config(days, "none", "call_center.roster=beijing_2019_inbound"),
        "CC only, full roster": config(days, "none"),
        "full model (direct)": config(days, "direct"),
    }
    if two_level:
        models["full model (two_level)"] = config(days, "two_level")
    best: dict[str, tuple[float, int, int]] = {}
    rounds: list[dict[str, float]] = []  # seconds per call of each model, round by round
    names = list(models)
    for round_no in range(repeats):
        seconds_per_call = {}
        # Rotate the order each round, so no model always runs after the same one.
        for name in names[round_no % len(names):] + names[:round_no % len(names)]:
            cfg = models[name]
            result = time_run(cfg)
            seconds_per_call[name] = result[0] / result[1]
            if name not in best or result[0] < best[name][0]:
                best[name] = result
        rounds.append(seconds_per_call)
    base = best["call centre only"][0] / best["call centre only"][1]
    paired = {name: [r[name] / r["call centre only"] for r in rounds] for name in models}
    return {
        "days": days, "repeats": repeats,
        "models": {name: {"wall_s": s, "calls": c, "tickets": t, "us_per_call": 1e6 * s / c,
                          "ratio_per_call": (s / c) / base,
                          "ratio_per_round": paired[name],
                          "ratio_median": float(np.median(paired[name]))}
                   for name, (s, c, t) in best.items()},
    }


def print_report(r: dict) -> None:
    print(f"beijing_2019, {r['days']:g} simulated days, one replication, {r['repeats']} rounds\n")
    print(f"{'model':<26}{'wall s':>8}{'calls':>10}{'tickets':>10}{'us/call':>9}{'x CC-only':>11}"
          f"{'median':>8}{'range':>13}")
    for name, m in r["models"].items():
        lo, hi = min(m["ratio_per_round"]), max(m["ratio_per_round"])
        print(f"{name:<26}{m['wall_s']:>8.2f}{m['calls']:>10,}{m['tickets']:>10,}{m['us_per_call']:>9.2f}"
              f"{m['ratio_per_call']:>11.2f}{m['ratio_median']:>8.2f}{f'{lo:.2f}-{hi:.2f}':>13}")
    print("\nx CC-only: best time per call over best call-centre-only time per call; median and range:"
          "\nthe same ratio within each round (every round runs each model once, in a rotated order).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=29.0, help="simulated days (default: a month)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default: 5)")
    parser.add_argument("--two-level", action="store_true", help="also time dispatch=two_level")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    result = measure(args.days, args.repeats, args.two_level)
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
