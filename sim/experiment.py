"""Run the replications of one configuration and reduce each one as it finishes.

Records of a replication can be tens of MB, so they are reduced (by a function the
caller passes, typically from ``analysis/``) right after the replication ends and only
the small reduced result is kept. ``sim/`` does not import ``analysis/``; ``run.py``
wires the two together.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from sim.config import SimConfig
from sim.model import ReplicationRecords, run_replication

T = TypeVar("T")


def run_experiment(cfg: SimConfig, reduce: Callable[[ReplicationRecords], T],
                   on_done: Callable[[int, int], None] | None = None) -> list[T]:
    """Run replications 0..cfg.replications-1 and return ``reduce(records)`` of each,
    in replication order. ``on_done(done, total)`` is called after each one."""
    results = []
    for rep in range(cfg.replications):
        results.append(reduce(run_replication(cfg, rep)))
        if on_done is not None:
            on_done(rep + 1, cfg.replications)
    return results
