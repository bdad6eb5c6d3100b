"""Benchmark: memory per call, per ticket and per kept replication (the constants of
sim/budget.py, which refuses a run that cannot fit before it simulates).

What: each point runs in a fresh process (so its peak resident memory is its own): the
imports, then one replication of the default scenario (beijing_2019, or the call
centre alone with ``dispatch=none``) of ``days`` days, reduced as a worker reduces it
(``analysis.kpis.calls.reduce_replication``). It reports the peak RSS after the imports and
after the replication, the calls and tickets simulated and the pickled size of the
reduced result (what a worker sends back and the parent keeps).

From two lengths per model it fits the bytes per call (call centre alone) and per
ticket (the full model's extra bytes over its calls), and the bytes the parent keeps
per replication and measured street-day. The robustness draws: peak traced memory of
``analysis.rankings.robustness.rank_distributions`` per (unit, draw).

Usage::

    python benchmarks/bench_memory.py [--days 4 16] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

POINT = r"""
import json, pickle, resource, sys
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from analysis.kpis.calls import reduce_replication
from sim.config import build_config
from sim.model import run_replication
days, dispatch, conf = float(sys.argv[1]), sys.argv[2], sys.argv[3]
with initialize_config_dir(config_dir=conf, version_base="1.3"):
    raw = compose("config", overrides=[f"horizon_days={days}", "warmup_days=0", f"dispatch={dispatch}"])
cfg = build_config(OmegaConf.to_container(raw, resolve=True))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
rec = run_replication(cfg, 0)
calls, tickets = len(rec.calls.arrival_min), len(rec.tickets.created_min)
out = reduce_replication(rec, cfg)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"days": days, "dispatch": dispatch, "base_rss": base, "peak_rss": peak, "calls": calls,
                  "tickets": tickets, "kept_bytes": len(pickle.dumps(out)),
                  "streets": cfg.city.n_streets if cfg.city else 0}))
"""

ROBUSTNESS = r"""
import json, sys, tracemalloc
import numpy as np
from analysis.rankings.robustness import rank_distributions
from sim.ranking import RobustnessConfig
units, draws = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
surveyed = rng.integers(20, 200, units)
resolved = rng.binomial(surveyed, 0.7)
satisfied = rng.binomial(surveyed, 0.6)
basic = rng.binomial(surveyed - satisfied, 0.5)
tickets = surveyed * 3
counts = {"tickets": tickets, "signed_on_time": tickets - 1, "responded_known": tickets, "surveyed": surveyed,
          "resolved": resolved, "satisfied": satisfied, "basically_satisfied": basic}
cfg = RobustnessConfig(enabled=True, weight_draws=draws, dirichlet_concentration=50.0, sampling_draws=draws, seed=0)
tracemalloc.start()
rank_distributions(counts, 0.9, (0.1, 0.45, 0.45), cfg, 10, 10, 10)
print(json.dumps({"units": units, "draws": draws, "peak_traced": tracemalloc.get_traced_memory()[1]}))
"""


def point(days: float, dispatch: str) -> dict:
    out = subprocess.run([sys.executable, "-c", POINT, str(days), dispatch, str(ROOT / "conf")], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def robustness(units: int, draws: int) -> dict:
    out = subprocess.run([sys.executable, "-c", ROBUSTNESS, str(units), str(draws)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, nargs=2, default=(4.0, 16.0))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    short, long_ = args.days
    res = {}
    cc = [point(d, "none") for d in (short, long_)]
    full = [point(d, "direct") for d in (short, long_)]
    for p in cc + full:
        print(f"{p['dispatch']:>6} {p['days']:5g} days: {p['calls']:>9,} calls {p['tickets']:>9,} tickets, "
              f"RSS after imports {p['base_rss'] / 2**20:6.0f} MiB, peak {p['peak_rss'] / 2**20:6.0f} MiB, "
              f"kept {p['kept_bytes'] / 1024:7.0f} KiB")
    per_call = (cc[1]["peak_rss"] - cc[0]["peak_rss"]) / (cc[1]["calls"] - cc[0]["calls"])
    full_extra = (full[1]["peak_rss"] - full[0]["peak_rss"]) - per_call * (full[1]["calls"] - full[0]["calls"])
    per_ticket = full_extra / (full[1]["tickets"] - full[0]["tickets"])
    street_days = (long_ - short) * full[0]["streets"]
    kept_per_street_day = (full[1]["kept_bytes"] - full[0]["kept_bytes"]) / street_days
    res.update(bytes_per_call=per_call, bytes_per_ticket=per_ticket, kept_bytes_per_street_day=kept_per_street_day,
               worker_base_rss=full[0]["base_rss"], kept_bytes_short=full[0]["kept_bytes"], points=cc + full)
    print(f"bytes per call (call centre alone): {per_call:,.0f}; per ticket (full model, over its calls): "
          f"{per_ticket:,.0f}; kept per street-day: {kept_per_street_day:,.1f}; "
          f"RSS after imports: {full[0]['base_rss'] / 2**20:,.0f} MiB")
    rob = [robustness(343, d) for d in (500, 2000)]
    per_unit_draw = (rob[1]["peak_traced"] - rob[0]["peak_traced"]) / (343 * (2000 - 500))
    res.update(robustness_bytes_per_unit_draw=per_unit_draw, robustness=rob)
    print(f"robustness: {per_unit_draw:,.0f} bytes per unit and draw (peak traced, 343 units, 500 -> 2000 draws)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
