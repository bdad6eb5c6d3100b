"""One replication of the whole model: build, run, return records.

This is the only entry ``analysis/`` and ``run.py`` need from ``sim/``: it takes a
validated :class:`SimConfig` and a replication number and gives back plain records.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Callable

from sim.arrivals import rate_schedule, sample_arrivals
from sim.callcenter import CallCentre
from sim.clock import MINUTES_PER_DAY
from sim.config import SimConfig
from sim.engine import Engine
from sim.records import CallRecords, TicketRecords
from sim.streams import Streams
from sim.ticketing import TicketSystem
from sim.tickets import TicketLog


#: How often a replication reports how far it has simulated (a progress display's tick).
PROGRESS_STEP_DAYS = 1.0
#: Called with the simulated days done so far.
DayProgress = Callable[[float], None]


@dataclass
class ReplicationRecords:
    replication: int
    calls: CallRecords
    tickets: TicketRecords


def run_replication(cfg: SimConfig, replication: int, on_day: DayProgress | None = None) -> ReplicationRecords:
    """Simulate replication ``replication`` (0-based) of ``cfg``.

    Its random numbers come from the seed tree at (cfg.seed, replication), so each
    replication is reproducible on its own, in any order or process. ``on_day(days)``
    is called every :data:`PROGRESS_STEP_DAYS` simulated days (a progress display;
    it draws no random numbers and changes no result).
    """
    records = _simulate(cfg, replication, on_day)
    # The engine's objects (SimPy events and their callbacks, the call centre, the ticket
    # system, their timers) refer to each other in cycles, which only the cyclic garbage
    # collector frees. Left to it, a process that runs replication after replication
    # (a worker, a benchmark) kept each one's ~100 MB of arrays until a full collection
    # happened to run, and slowed down as its memory grew. Free them now (~20 ms).
    gc.collect()
    return records


def _simulate(cfg: SimConfig, replication: int, on_day: DayProgress | None = None) -> ReplicationRecords:
    streams = Streams(cfg.seed, replication)
    env = Engine()
    fresh = sample_arrivals(rate_schedule(cfg.arrivals, cfg.start, cfg.horizon_min), streams["arrivals"])
    tickets = TicketSystem(env, cfg, cfg.city, streams) if cfg.tickets else TicketLog()
    centre = CallCentre(env, cfg, streams, fresh, tickets)
    if cfg.tickets:
        tickets.attach(centre)
    del fresh
    if on_day is not None:
        env.process(_report_days(env, on_day))
    env.run(until=cfg.horizon_min)
    return ReplicationRecords(replication=replication, calls=centre.records(), tickets=tickets.records())



def _report_days(env: Engine, on_day: DayProgress):
    """Tell ``on_day`` the simulated days done, every :data:`PROGRESS_STEP_DAYS`."""
    step = PROGRESS_STEP_DAYS * MINUTES_PER_DAY
    while True:
        yield env.timeout(step)
        on_day(env.now / MINUTES_PER_DAY)
