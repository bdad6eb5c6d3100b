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
#: ``CallRecords.origin`` codes: a first call, a redial after hanging up, a repeat call
#: about a problem whose ticket closed unresolved.
FRESH, REDIAL, REPEAT = 0, 1, 2
#: ``CallRecords.work_kind`` codes: back-office work the agents do between calls, in
#: priority order (a lower code is done first).
WORK_KINDS = {"dispatch": 0, "survey": 1}
#: ``TicketRecords.survey_status`` codes: not drawn for a callback, still pending when
#: the run ended, made within its window, missed (see sim/survey.py).
SURVEY_NOT_DRAWN, SURVEY_PENDING, SURVEY_MADE, SURVEY_MISSED = -1, 0, 1, 2
#: ``TicketRecords.satisfaction`` codes (-1: no answer).
DISSATISFIED, BASIC, SATISFIED = 0, 1, 2


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
    origin: np.ndarray  # FRESH, REDIAL or REPEAT
    root: np.ndarray  # id of the first call about the same problem (itself if fresh or repeat)
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
    #: Back-office work done by the agents: start, duration, kind (``WORK_KINDS``).
    work_start_min: np.ndarray
    work_min: np.ndarray
    work_kind: np.ndarray
    #: Counters kept by the engine while it ran; tests check them against the arrays.
    engine_counts: dict = field(default_factory=dict)

    @property
    def is_redial(self) -> np.ndarray:
        return self.origin == REDIAL

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
    """One row per ticket handed on by the call centre (a demand whose call ended).

    With only the call centre simulated (no ``dispatch`` config) the columns after
    ``category`` are None. Times are minutes from the start, NaN where a step has not
    happened (yet); small integers are -1 where unknown. ``street`` is -1 for tickets of
    the city departments. ``satisfaction``: 2 satisfied, 1 basically, 0 dissatisfied.
    """

    caller: np.ndarray
    created_min: np.ndarray
    category: np.ndarray
    urgency: np.ndarray | None = None
    street: np.ndarray | None = None
    district: np.ndarray | None = None
    deadline_min: np.ndarray | None = None
    dispatched_min: np.ndarray | None = None  # the centre's first dispatch work done
    delivered_min: np.ndarray | None = None  # reached the unit that works it (after any returns)
    signed_min: np.ndarray | None = None
    closed_min: np.ndarray | None = None
    returns: np.ndarray | None = None
    resolved: np.ndarray | None = None
    surveyed_min: np.ndarray | None = None
    reached: np.ndarray | None = None
    contacted: np.ndarray | None = None
    satisfaction: np.ndarray | None = None
    #: Delivery to signing on the response clock (``streets.response_clock``), NaN if
    #: not signed; ``responded``: 1 within the threshold, 0 not, -1 not known yet.
    response_min: np.ndarray | None = None
    responded: np.ndarray | None = None
    #: The callback: -1 not drawn, 0 pending at the end, 1 made in its window, 2 missed
    #: (``sim.survey``).
    survey_status: np.ndarray | None = None
    #: The ticket whose unsolved problem this repeat call is about (-1: a first call).
    repeat_of: np.ndarray | None = None
    #: Gaming under the accountability loop: 0 not gamed, 1 an unsolved problem the
    #: street reported as solved (the callback hears "solved"), 2 gamed and caught.
    gamed: np.ndarray | None = None
    #: 1 the street was on 24-hour duty when the ticket reached it, 0 office hours,
    #: -1 not a street ticket or not delivered.
    duty_24h: np.ndarray | None = None
    #: The league tables the accountability loop acted on and the state each set
    #: (sim.accountability; None without feedback): ``month`` labels, ``published_min``,
    #: and (months x streets) arrays ``rank``, ``score``, ``is_<class>``, ``caught``,
    #: ``pressure``, ``effort``, ``gaming``, ``caseworkers``, ``duty_24h``, ``consequence``.
    street_state: dict | None = None
    #: Visits per station kind ("street", "district_desk", "department"): unit index,
    #: arrive, start and end of service (NaN if not yet).
    stations: dict | None = None
    caseworkers: np.ndarray | None = None
    engine_counts: dict = field(default_factory=dict)
