"""Columnar records a replication emits: one row per call, one per ticket.

Plain numpy arrays and numbers only, so ``analysis/`` can read them without knowing
anything about SimPy, and they pickle cheaply between processes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

#: ``CallRecords.outcome`` codes, derived from the arrays (see ``outcome``).
ANSWERED, ABANDONED, WAITING_AT_END = 0, 1, 2


@dataclass
class CallRecords:
    """One row per call offered (fresh calls and redials), in order of arrival id.

    Times are minutes from the scenario start. ``answer_min`` is NaN for a call never
    answered; such a call abandoned at ``deadline_min`` if that moment is before the
    end of the run, otherwise it was still waiting when the run ended.
    """

    arrival_min: np.ndarray
    category: np.ndarray
    is_demand: np.ndarray
    is_redial: np.ndarray
    deadline_min: np.ndarray  # when the caller would hang up (arrival + patience; inf: never)
    handle_min: np.ndarray
    answer_min: np.ndarray
    horizon_min: float
    warmup_min: float
    start: datetime  # the scenario's clock origin, for hour-of-day tables
    #: Agents present (idle or busy) as a step function: from ``staff_time_min[j]`` on,
    #: ``staff_agents[j]`` agents are at their seats.
    staff_time_min: np.ndarray
    staff_agents: np.ndarray
    #: Counters kept by the engine while it ran; tests check them against the arrays.
    engine_counts: dict = field(default_factory=dict)

    @property
    def patience_min(self) -> np.ndarray:
        return self.deadline_min - self.arrival_min

    @property
    def outcome(self) -> np.ndarray:
        answered = ~np.isnan(self.answer_min)
        gave_up = self.deadline_min < self.horizon_min
        return np.where(answered, ANSWERED, np.where(gave_up, ABANDONED, WAITING_AT_END)).astype(np.int8)

    @property
    def wait_min(self) -> np.ndarray:
        """Time in queue: until answered, until hanging up, or until the run ended."""
        left_queue = np.where(np.isnan(self.answer_min), self.deadline_min, self.answer_min)
        return np.minimum(left_queue, self.horizon_min) - self.arrival_min


@dataclass
class TicketRecords:
    """One row per ticket handed on by the call centre (a demand whose call ended)."""

    caller: np.ndarray
    created_min: np.ndarray
    category: np.ndarray
