"""One replication of the whole model: build, run, return records.

This is the only entry ``analysis/`` and ``run.py`` need from ``sim/``: it takes a
validated :class:`SimConfig` and a replication number and gives back plain records.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass

import simpy

from sim.arrivals import rate_schedule, sample_arrivals
from sim.callcenter import CallCentre
from sim.config import SimConfig
from sim.records import CallRecords, TicketRecords
from sim.streams import Streams
from sim.ticketing import TicketSystem
from sim.tickets import TicketLog


@dataclass
class ReplicationRecords:
    replication: int
    calls: CallRecords
    tickets: TicketRecords


def run_replication(cfg: SimConfig, replication: int) -> ReplicationRecords:
    """Simulate replication ``replication`` (0-based) of ``cfg``.

    Its random numbers come from the seed tree at (cfg.seed, replication), so each
    replication is reproducible on its own, in any order or process.
    """
    records = _simulate(cfg, replication)
    # The engine's objects (SimPy events and their callbacks, the call centre, the ticket
    # system, their timers) refer to each other in cycles, which only the cyclic garbage
    # collector frees. Left to it, a process that runs replication after replication
    # (a worker, a benchmark) kept each one's ~100 MB of arrays until a full collection
    # happened to run, and slowed down as its memory grew. Free them now (~20 ms).
    gc.collect()
    return records


def _simulate(cfg: SimConfig, replication: int) -> ReplicationRecords:
    streams = Streams(cfg.seed, replication)
    env = simpy.Environment()
    fresh = sample_arrivals(rate_schedule(cfg.arrivals, cfg.start, cfg.horizon_min), streams["arrivals"])
    tickets = TicketSystem(env, cfg, cfg.city, streams) if cfg.tickets else TicketLog()
    centre = CallCentre(env, cfg, streams, fresh, tickets)
    if cfg.tickets:
        tickets.attach(centre)
    del fresh
    env.run(until=cfg.horizon_min)
    return ReplicationRecords(replication=replication, calls=centre.records(), tickets=tickets.records())

