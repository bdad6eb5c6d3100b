"""Will the run fit in memory? An estimate before simulating, and a one-line refusal.

A run that cannot fit (``horizon_days=1e5``, ``arrivals.daily_calls=1e12``, a shock
factor of 1e9, 10^9 replications or robustness draws) used to end in ``MemoryError``
after minutes. :func:`check_fits` estimates, from the validated config alone (no
simulation; a few milliseconds), the calls and tickets of one replication, the memory
one replication takes where it runs, what the parent keeps per replication and the
robustness draws, and refuses the run when the peak exceeds ``max_memory_gb`` (default:
the memory this machine has available now) with one line giving the estimate and the
limit.

The estimate (docs/architecture.md, "Will it fit?"):

- fresh calls: ``daily_calls`` x the weekday and month factors of each day of the run
  (exact in expectation), plus each shock's extra volume at the highest day factor;
- redials: a share ``a`` of calls abandons, the fluid approximation of an overloaded
  queue (1 - the agents' minutes / the calls' handle minutes, per day), at least
  :data:`ABANDON_FLOOR`; each abandoning call redials with ``redial_prob``, and redials
  abandon alike: calls = fresh / (1 - ``redial_prob`` x a);
- repeat calls: a ticket is unresolved at most with 1 - the lowest ``resolve_prob``
  of streets and departments, and calls again with ``repeat.prob``; repeats repeat
  alike; tickets: calls x ``ticket_share``;
- memory of a replication: the measured bytes per call and per ticket
  (``benchmarks/bench_memory.py``: peak resident memory of a replication reduced as a
  worker reduces it, fitted over two lengths), the arrival-rate schedule (one row per
  profile slice of each day) and a process's own memory;
- what the parent keeps per replication (the reduced result: monthly tables, each
  street's daily backlog): measured bytes per street-day plus a fixed part;
- the robustness draws: measured bytes per street and draw, after the run (the
  parent then holds the kept results, no worker);
- the peak: the larger of the simulation (parent + kept results of every replication +
  per worker one replication) and the robustness phase, times :data:`MARGIN`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from sim.clock import MINUTES_PER_DAY, minutes_since_midnight, minutes_to_calendar
from sim.errors import ConfigError
from sim.validate import number

GB = 1e9

#: Peak resident bytes per call of the call centre alone (records, caller table, draws),
#: measured 2026-12-01 with benchmarks/bench_memory.py (4 -> 16 days: 128, 8 -> 40 days: 131).
BYTES_PER_CALL = 131
#: Extra peak bytes per ticket of the full model over its calls (ticket records, draws,
#: stations, callbacks, the reduction), same benchmark (525 and 510).
BYTES_PER_TICKET = 525
#: Resident memory of a process once the model and config are loaded (45 MiB measured;
#: the parent holds more: Hydra, the analysis modules).
PROCESS_BYTES = 100e6
#: What the parent keeps of one replication: a fixed part (KPIs, hourly arrays, lead-time
#: histograms; ~90 KB measured) and bytes per street and simulated day (monthly tables,
#: daily backlog; 11.5 and 23.9 measured, the larger taken).
KEPT_BYTES_FIXED = 100e3
KEPT_BYTES_PER_STREET_DAY = 24
#: Peak traced bytes per street and draw of analysis.rankings.robustness.rank_distributions
#: (343 streets, 500 -> 2000 draws: 104, measured with the same benchmark).
ROBUSTNESS_BYTES_PER_UNIT_DRAW = 104
#: Bytes per piece (profile slice of a day) and category of the arrival-rate schedule
#: (sim/arrivals.py: the rate per category, plus edges, midpoints, calendar arrays).
SCHEDULE_BYTES_PER_PIECE = 8 * 8
SCHEDULE_BYTES_PER_PIECE_CATEGORY = 8
#: Share of calls assumed to abandon even when the agents' hours cover the calls'
#: handle time (peaks of the day, impatient callers). The default run abandons 0.7%; the
#: floor is set well above that, so the estimate errs high [assume].
ABANDON_FLOOR = 0.05
#: Redials and repeat calls form geometric chains; their ratio is capped here so that
#: certain redials (probability 1, all calls abandoning) count 10x, not infinity (the
#: run's end stops them) [assume].
MAX_CHAIN_RATIO = 0.9
#: Safety factor on the whole estimate: allocator slack, copies in the reduction, the
#: variance of the draws. The measured constants are means; 1.5 covers what they miss
#: [assume].
MARGIN = 1.5

KEY = "max_memory_gb"


@dataclass(frozen=True)
class RunEstimate:
    """What one run needs, by the estimate of the module docstring (bytes, counts)."""

    calls: float  # per replication
    tickets: float  # per replication
    replication_bytes: float  # one replication where it runs (without the process)
    kept_bytes: float  # what the parent keeps per replication
    robustness_bytes: float
    replications: int  # the most the parent will keep (precision: max_replications)
    workers: int  # processes simulating at once besides the parent (0: in the parent)

    @property
    def peak_bytes(self) -> float:
        kept = self.replications * self.kept_bytes
        if self.workers:
            simulating = PROCESS_BYTES + kept + self.workers * (PROCESS_BYTES + self.replication_bytes)
        else:
            simulating = PROCESS_BYTES + kept + self.replication_bytes
        ranking = PROCESS_BYTES + kept + self.robustness_bytes
        return MARGIN * max(simulating, ranking)

    def describe(self) -> str:
        where = f"{self.workers} worker(s) x " if self.workers else "in this process: "
        text = (f"estimated peak {fmt_bytes(self.peak_bytes)} (x{MARGIN:g} margin): {where}one replication of "
                f"~{self.calls:.3g} calls and ~{self.tickets:.3g} tickets ({fmt_bytes(self.replication_bytes)}), "
                f"{self.replications} replication(s) kept by the parent ({fmt_bytes(self.kept_bytes)} each)")
        if self.robustness_bytes:
            text += f", robustness draws {fmt_bytes(self.robustness_bytes)}"
        return text


def fmt_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def expected_fresh_calls(cfg) -> float:
    """Expected fresh calls of one replication: ``daily_calls`` x each day's weekday
    and month factors (the last day in part), plus the shocks' extra volume (each at
    the highest day factor of the run, on the share of calls it touches)."""
    a = cfg.arrivals
    days = int(math.ceil(cfg.horizon_days))
    noon = MINUTES_PER_DAY / 2 - minutes_since_midnight(cfg.start)  # day k's noon: no rounding across midnight
    weekday, month, _ = minutes_to_calendar(cfg.start, noon + np.arange(days) * float(MINUTES_PER_DAY))
    factor = np.asarray(a.weekday_factors)[weekday] * np.asarray(a.month_factors)[month]
    weight = np.ones(days)
    weight[-1] = cfg.horizon_days - (days - 1)
    with np.errstate(over="ignore"):  # factors of 1e308: an estimate of inf, refused
        total = a.daily_calls * float(factor @ weight)
    top = float(factor.max()) if days else 0.0
    for shock in a.shocks:
        begins = (shock.start - cfg.start) / timedelta(days=1)  # days from the start (a shock may last 1e308)
        overlap = min(cfg.horizon_days, begins + shock.days) - max(0.0, begins)
        if overlap <= 0:
            continue
        share = 1.0 if shock.categories is None else sum(
            s for c, s in zip(a.categories, a.category_shares) if c in shock.categories)
        total += a.daily_calls * top * overlap * share * max(shock.factor - 1.0, 0.0)
    return total


def estimate(cfg, executor, rank_cfg=None, max_replications: int | None = None) -> RunEstimate:
    """The :class:`RunEstimate` of a validated :class:`~sim.config.SimConfig` run on
    ``executor`` (:class:`~sim.experiment.ExecutorConfig`), ranked with ``rank_cfg``
    (None: no league tables), keeping up to ``max_replications`` (a precision target)."""
    fresh = expected_fresh_calls(cfg)
    calls = fresh / (1.0 - min(cfg.arrivals.redial_prob * abandon_share(cfg, fresh), MAX_CHAIN_RATIO))
    tickets = calls * cfg.call_center.ticket_share
    if cfg.tickets is not None:
        t = cfg.tickets
        unresolved = 1.0 - min(*t.streets.resolve_prob.values(), t.departments.resolve_prob)
        chain = min(t.repeat.prob * unresolved, MAX_CHAIN_RATIO)
        repeats = tickets * chain / (1.0 - chain)
        calls, tickets = calls + repeats, tickets + repeats
    pieces = math.ceil(cfg.horizon_days) * len(cfg.arrivals.intraday_profile) + 2 * len(cfg.arrivals.shocks) + 2
    schedule = pieces * (SCHEDULE_BYTES_PER_PIECE + SCHEDULE_BYTES_PER_PIECE_CATEGORY * len(cfg.arrivals.categories))
    replication = calls * BYTES_PER_CALL + (tickets * BYTES_PER_TICKET if cfg.tickets is not None else 0) + schedule
    streets = cfg.city.n_streets if cfg.city is not None else 0
    kept = KEPT_BYTES_FIXED + KEPT_BYTES_PER_STREET_DAY * streets * math.ceil(cfg.horizon_days)
    robustness = 0.0
    if rank_cfg is not None and rank_cfg.robustness.enabled and streets:
        draws = max(rank_cfg.robustness.weight_draws, rank_cfg.robustness.sampling_draws)
        robustness = ROBUSTNESS_BYTES_PER_UNIT_DRAW * streets * draws
    replications = max(cfg.replications, max_replications or 0)
    return RunEstimate(calls=calls, tickets=tickets, replication_bytes=replication, kept_bytes=kept,
                       robustness_bytes=robustness, replications=replications,
                       workers=simulating_workers(executor, replications))


def abandon_share(cfg, fresh: float) -> float:
    """Share of calls expected to abandon (0 with infinite patience): the fluid
    approximation of a queue with impatient callers, 1 - capacity / load (the agents'
    minutes a day over the handle minutes the calls bring), at least :data:`ABANDON_FLOOR`."""
    cc = cfg.call_center
    if cc.patience.is_infinite:
        return 0.0
    handle = (1.0 - cc.ticket_share) * cc.handle_time.mean + cc.ticket_share * cc.demand_handle_time.mean
    load = fresh / cfg.horizon_days * handle
    capacity = float(np.mean(cc.roster)) * MINUTES_PER_DAY
    overload = 1.0 - capacity / load if load > 0 else 0.0
    return min(1.0, max(ABANDON_FLOOR, overload))


def simulating_workers(executor, replications: int) -> int:
    """Processes of this machine that simulate at once besides the parent: none for
    ``serial`` (the parent simulates) and for a dask scheduler at an address (its
    workers are elsewhere; one replication must still fit in the limit), else the
    pool's size."""
    from sim.experiment import all_cores  # sim.experiment imports sim.model: only when asked

    if executor is None or executor.kind == "serial" or (executor.kind == "dask" and executor.address):
        return 0
    return max(1, min(executor.workers or all_cores(), replications))


def available_memory_bytes() -> float | None:
    """Memory this machine can give a new process now (Linux: MemAvailable of
    /proc/meminfo; else psutil if installed, else the physical memory), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
        return float(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit(raw) -> tuple[float | None, str]:
    """The limit in bytes and where it comes from: ``max_memory_gb`` if set (a number
    > 0), else the machine's available memory."""
    if raw is not None:
        gb = number(raw, KEY, lo=0, lo_open=True, hi=1e6)
        return gb * GB, f"{KEY} = {gb:g}"
    available = available_memory_bytes()
    return available, f"the machine's available memory; set {KEY} to change"


class RunTooBig(ConfigError):
    """The run's estimated memory exceeds the limit: one line with both."""

    def __init__(self, est: RunEstimate, limit: float, source: str):
        self.key, self.value, self.allowed = KEY, round(limit / GB, 3), source
        self.estimate = est
        ValueError.__init__(self, f"config error: the run does not fit in memory: {est.describe()}; "
                                  f"limit {fmt_bytes(limit)} ({source}). Lower arrivals.daily_calls, horizon_days, "
                                  f"shock factors, replications, executor.workers or robustness draws")


def check_fits(cfg, executor, rank_cfg=None, max_replications: int | None = None,
               max_memory_gb=None) -> RunEstimate:
    """Refuse (:class:`RunTooBig`, a one-line ConfigError) a run whose estimated peak
    exceeds ``max_memory_gb`` (None: the machine's available memory); return the
    estimate otherwise."""
    limit, source = memory_limit(max_memory_gb)
    est = estimate(cfg, executor, rank_cfg, max_replications)
    if limit is not None and not est.peak_bytes <= limit:  # NaN (inf - inf) cannot fit either
        raise RunTooBig(est, limit, source)
    return est
