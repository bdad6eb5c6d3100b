"""Benchmark: the project's call-centre engine against a straightforward SimPy model.

What
----
Both sides simulate the same large Erlang-A (M/M/c+M) call centre and keep per-caller
records:

* c = 500 agents on duty all the time, one FCFS queue;
* flat Poisson arrivals at 95 calls/min, so the offered load is 475 Erlangs and the
  agents are about 95% busy;
* exponential handle time, mean 5 min;
* exponential patience, mean 2 min. That is short enough that abandonment really
  happens (about 0.45% of callers, 10.7% wait at all), so the abandonment logic of
  both models is exercised, yet the agents stay about 94.6% busy;
* the horizon is chosen so that ``--callers`` callers arrive on average (1,000,000 by
  default: about 7.3 days). The run starts empty; the transient lasts a few handle
  times and is negligible against the horizon.

The engine is ``sim.model.run_replication``: one event per arrival and one per answered
call, lazy abandonment, columnar numpy records, random numbers drawn in vectorised
blocks (see ``sim/callcenter.py``). The baseline is the textbook SimPy model: a source
process with exponential inter-arrival times starts one process per caller, which does
``yield req | env.timeout(patience)`` on a ``simpy.Resource(capacity=500)``, holds the
agent for its handle time if the request fired and otherwise cancels it (leaving the
``with`` block). It keeps the same records as the engine, the straightforward way: one
tuple per caller (id, arrival, hang-up time, handle time, demand or not, answer time)
in a list, and one (caller, time) tuple per ticket; scalar draws from Python's
``random`` (faster than numpy's scalar draws, so the baseline is not handicapped).

Why
---
To measure what the engine's design buys, and what it costs, against the obvious SimPy
model, in speed and in memory, on a run as large as a real study (about a week of
12345 traffic), and to check on the way that both simulate the same system: the
abandonment rate and P(wait) of each are printed next to the Erlang-A prediction
(``analysis.erlang.erlang_a``). Both keep the same information per caller and per
ticket; the engine in numpy columns (36 bytes a caller), the baseline in Python
tuples (about 150 bytes a caller).

Method
------
* Speed: in this process, the models run alternately (engine, baseline;
  ``--repeats`` rounds) and the best wall time of each is kept.
  Wall time covers everything a run does: set-up, random draws and simulation. The
  caller count is that of the run itself (Poisson, so it differs slightly per side);
  callers per second normalise for that.
* Memory: each model runs once more in a fresh ``spawn`` child process that has
  imported exactly what this script imports. The child notes its resident set size
  (``VmRSS``), resets its peak (``VmHWM``, via ``/proc/self/clear_refs``), runs the
  model and reads the peak; peak minus starting RSS is the model's peak memory, with
  the interpreter and imported modules subtracted. (``ru_maxrss`` is not used: after
  ``exec`` it still carries the peak of the forked parent.) No tracemalloc is
  involved, so it neither slows the runs nor misses memory allocated outside Python's
  allocator. Linux only.

Usage::

    python benchmarks/bench_callcentre.py [--callers 1000000] [--repeats 1] [--json out.json]

``--callers 100000`` is a quick mode (a few seconds).
"""
from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import simpy

import sim.model
from analysis.erlang import erlang_a
from sim.config import build_config

AGENTS = 500
ARRIVALS_PER_MIN = 95.0
HANDLE_MEAN_MIN = 5.0
PATIENCE_MEAN_MIN = 2.0
TICKET_SHARE = 0.4
MINUTES_PER_DAY = 1440
SEED = 1


@dataclass
class Outcome:
    """What one run of either model produced, reduced to comparable numbers."""

    callers: int  # arrived during the horizon
    finished: int  # answered or abandoned (not still waiting at the end)
    abandoned: int
    waited: int  # finished callers whose wait was positive

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.finished

    @property
    def p_wait(self) -> float:
        return self.waited / self.finished


def horizon_min(callers: int) -> float:
    """Horizon in which ``callers`` callers arrive on average."""
    return callers / ARRIVALS_PER_MIN


# ------------------------------------------------------------------ the engine
def run_engine(callers: int) -> Outcome:
    raw = {
        "seed": SEED, "replications": 1, "horizon_days": horizon_min(callers) / MINUTES_PER_DAY,
        "warmup_days": 0, "start": "2019-06-03T00:00",
        "arrivals": {"daily_calls": ARRIVALS_PER_MIN * MINUTES_PER_DAY, "intraday_profile": "flat"},
        "call_center": {
            "seats": AGENTS, "roster": "full",
            "handle_time": {"dist": "exponential", "mean_min": HANDLE_MEAN_MIN},
            "patience": {"dist": "exponential", "mean_min": PATIENCE_MEAN_MIN},
            "ticket_share": TICKET_SHARE,
        },
    }
    calls = sim.model.run_replication(build_config(raw), 0).calls
    finished = calls.outcome != 2
    return Outcome(callers=len(calls.arrival_min), finished=int(finished.sum()),
                   abandoned=int((calls.outcome == 1).sum()),
                   waited=int((calls.wait_min[finished] > 0).sum()))


# ---------------------------------------------------------------- the baseline
def _baseline_caller(env, agents, caller, patience, handle, is_demand, records, tickets):
    arrived = env.now
    with agents.request() as req:
        yield req | env.timeout(patience)
        answered_at = env.now if req.triggered else None
        records.append((caller, arrived, arrived + patience, handle, is_demand, answered_at))
        if req.triggered:
            yield env.timeout(handle)
            if is_demand:
                tickets.append((caller, env.now))


def _baseline_source(env, agents, rng, records, tickets, counter):
    while True:
        yield env.timeout(rng.expovariate(ARRIVALS_PER_MIN))
        counter[0] += 1
        patience = rng.expovariate(1.0 / PATIENCE_MEAN_MIN)
        handle = rng.expovariate(1.0 / HANDLE_MEAN_MIN)
        is_demand = rng.random() < TICKET_SHARE
        env.process(_baseline_caller(env, agents, counter[0], patience, handle, is_demand, records, tickets))


def run_baseline(callers: int) -> Outcome:
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    records, tickets, counter = [], [], [0]
    env.process(_baseline_source(env, agents, random.Random(SEED), records, tickets, counter))
    env.run(until=horizon_min(callers))
    answered = np.array([r[5] is not None for r in records])
    waited = np.array([(r[5] if r[5] is not None else r[2]) > r[1] for r in records])
    return Outcome(callers=counter[0], finished=len(records), abandoned=int((~answered).sum()),
                   waited=int(waited.sum()))


MODELS = {
    "engine": run_engine,
    "baseline SimPy": run_baseline,
}


# --------------------------------------------------------------- measurements
def time_models(callers: int, repeats: int) -> dict[str, tuple[float, Outcome]]:
    """Best wall seconds (and that run's outcome) of each model, run alternately."""
    best: dict[str, tuple[float, Outcome]] = {}
    for _ in range(repeats):
        for name, run in MODELS.items():
            gc.collect()
            t0 = time.perf_counter()
            outcome = run(callers)
            seconds = time.perf_counter() - t0
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, outcome)
    return best


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _peak_rss_increase_mib(name: str, callers: int) -> float:
    """Run in a fresh child: peak RSS during the run minus RSS just before it."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    before = _proc_status_kib("VmRSS")
    MODELS[name](callers)
    return (_proc_status_kib("VmHWM") - before) / 1024.0


def peak_memory_mib(name: str, callers: int) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_rss_increase_mib, (name, callers))


# ------------------------------------------------------------------- reporting
def measure(callers: int, repeats: int) -> dict:
    timings = time_models(callers, repeats)
    memory = {name: peak_memory_mib(name, callers) for name in ("engine", "baseline SimPy")}
    models = {}
    for name, (seconds, outcome) in timings.items():
        models[name] = {"callers": outcome.callers, "wall_s": seconds, "callers_per_s": outcome.callers / seconds,
                        "peak_mib": memory.get(name), "abandon_rate": outcome.abandon_rate,
                        "p_wait": outcome.p_wait, **{k: v for k, v in asdict(outcome).items() if k != "callers"}}
    engine, baseline = models["engine"], models["baseline SimPy"]
    theory = erlang_a(AGENTS, ARRIVALS_PER_MIN, 1.0 / HANDLE_MEAN_MIN, 1.0 / PATIENCE_MEAN_MIN)
    return {
        "system": {"agents": AGENTS, "arrivals_per_min": ARRIVALS_PER_MIN, "handle_mean_min": HANDLE_MEAN_MIN,
                   "patience_mean_min": PATIENCE_MEAN_MIN, "horizon_days": horizon_min(callers) / MINUTES_PER_DAY,
                   "repeats": repeats},
        "models": models,
        "ratios": {"speed_engine_over_baseline": engine["callers_per_s"] / baseline["callers_per_s"],
                   "memory_engine_over_baseline": engine["peak_mib"] / baseline["peak_mib"]},
        "erlang_a": {"abandon_rate": theory.p_abandon, "p_wait": theory.p_wait},
    }


def print_report(result: dict) -> None:
    s = result["system"]
    print(f"Erlang-A call centre: {s['agents']} agents, {s['arrivals_per_min']:g} calls/min, "
          f"handle {s['handle_mean_min']:g} min, patience {s['patience_mean_min']:g} min (all exponential), "
          f"{s['horizon_days']:.2f} days, best of {s['repeats']}\n")
    print(f"{'model':<24}{'callers':>10}{'wall s':>9}{'callers/s':>11}{'peak MiB':>10}"
          f"{'abandon':>9}{'P(wait)':>9}")
    for name, m in result["models"].items():
        peak = "-" if m["peak_mib"] is None else f"{m['peak_mib']:.1f}"
        print(f"{name:<24}{m['callers']:>10,}{m['wall_s']:>9.2f}{m['callers_per_s']:>11,.0f}{peak:>10}"
              f"{m['abandon_rate']:>9.2%}{m['p_wait']:>9.2%}")
    theory = result["erlang_a"]
    print(f"{'Erlang-A prediction':<64}{theory['abandon_rate']:>9.2%}{theory['p_wait']:>9.2%}\n")
    r = result["ratios"]
    print(f"engine / baseline, callers per second:  {r['speed_engine_over_baseline']:.2f}x")
    print(f"engine / baseline, peak memory:         {r['memory_engine_over_baseline']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=1_000_000, help="expected callers per run")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds; the best of each model is kept")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    if args.callers < 1000 or args.repeats < 1:
        parser.error("--callers must be at least 1000 and --repeats at least 1")
    result = measure(args.callers, args.repeats)
    print_report(result)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
