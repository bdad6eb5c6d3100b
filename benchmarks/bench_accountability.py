"""Benchmark: what the monthly accountability loop costs.

What: the year scenario (beijing_2019_year) for ``--days`` simulated days, one
replication with ``accountability=pressure`` (a league table drawn up inside the run
each month, the streets' state set from it: caseworker stations resized, effort,
24-hour duty, gaming draws at closure) against the same with ``accountability=frozen``
(the same streets and start, no feedback), in this process, in a rotated order, best of
``--repeats``. Prints wall seconds of each and the ratio pressure / frozen (issue 10's
target: at most 1.3x).

``--scale`` shrinks the city's volume, seats and departments for a quick look (the
ratio is what matters; the full scale is the default).

Usage::

    python benchmarks/bench_accountability.py [--days 130] [--repeats 2] [--scale 1.0] [--json out.json]
"""
from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.config import build_config
from sim.model import run_replication

CONF = Path(__file__).resolve().parent.parent / "conf"
MODES = ("frozen", "pressure")


def config(mode: str, days: float, scale: float):
    overrides = ["scenario=beijing_2019_year", f"accountability={mode}", f"horizon_days={days}",
                 "call_center.seat_changes=[]"]
    if scale != 1.0:
        overrides += [f"arrivals.daily_calls={13800 * scale:.0f}", f"call_center.seats={max(1, round(500 * scale))}",
                      f"departments.servers={max(1, round(12000 * scale))}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        raw = compose("config", overrides=overrides)
        return build_config(OmegaConf.to_container(raw, resolve=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=130.0,
                    help="simulated days (default 130: 28 warm-up, then January-March with two tables acting)")
    ap.add_argument("--repeats", type=int, default=2, help="timed rounds (default 2)")
    ap.add_argument("--scale", type=float, default=1.0, help="city volume scale (default 1: full Beijing)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    cfgs = {mode: config(mode, args.days, args.scale) for mode in MODES}
    best = {mode: float("inf") for mode in MODES}
    tables = 0
    for r in range(args.repeats):
        for mode in (MODES if r % 2 == 0 else MODES[::-1]):
            gc.collect()
            t0 = time.perf_counter()
            rec = run_replication(cfgs[mode], 0)
            best[mode] = min(best[mode], time.perf_counter() - t0)
            if mode == "pressure":
                tables = len(rec.tickets.street_state["month"]) if rec.tickets.street_state else 0
            del rec
    ratio = best["pressure"] / best["frozen"]
    print(f"{args.days:g} simulated days at scale {args.scale:g}, best of {args.repeats}:")
    for mode in MODES:
        print(f"  accountability={mode:<8}  {best[mode]:7.1f} s")
    print(f"  pressure / frozen: {ratio:.2f}x (target <= 1.3x); {tables} league table(s) acted on")
    if args.json:
        args.json.write_text(json.dumps({"days": args.days, "scale": args.scale, "repeats": args.repeats,
                                         "seconds": best, "ratio": ratio, "tables": tables}, indent=2))


if __name__ == "__main__":
    main()
