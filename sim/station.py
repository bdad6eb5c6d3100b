"""A first-come-first-served multi-server work station, computed without events:
a street's caseworkers, a district dispatch desk, the centre's dispatch desk, the city
departments.

Why no SimPy events: under FCFS, when jobs are handed to a station in order of their
arrival, the job's start is fixed the moment it arrives: it takes the server that
frees earliest (Kiefer-Wolfowitz recursion), ``start = max(arrival, earliest free)``
and ``end = start + service``. So the station keeps a heap of its servers' next free
times and answers each arrival at once; the caller schedules whatever must happen at
``end``. Tens of thousands of long street jobs then cost no events and do not bloat
SimPy's event heap. A station with office hours starts work only while open (a job
started before closing is finished).

Callers must hand jobs over at their arrival time (``now`` never decreases); the
station checks this, since FCFS exactness depends on it. A job may also carry a
``ready`` time before which it cannot start (a street ticket waits to be signed for):
servers are then assigned in order of arrival and start the job once it is ready.
"""
from __future__ import annotations

import heapq
from array import array

from sim.clock import OfficeHours


class FcfsStation:
    """``servers`` identical servers, FCFS; ``hours`` limits when work may start."""

    def __init__(self, servers: int, hours: OfficeHours | None = None, keep_visits: bool = True):
        if servers < 1:
            raise ValueError(f"a station needs at least one server, got {servers}")
        self.servers = servers
        self.hours = hours
        self._free = [0.0] * servers  # a heap of the servers' next free times
        self._last_arrival = float("-inf")
        self.keep_visits = keep_visits  # False: no per-visit records (a big aggregate unit)
        self.visit_job = array("q")
        self.arrive_min = array("d")
        self.start_min = array("d")
        self.end_min = array("d")

    def assign(self, job: int, now: float, service_min: float, ready: float | None = None) -> tuple[float, float]:
        """Job ``job`` arrives at ``now`` needing ``service_min``: its (start, end).

        ``ready``: the job cannot start before then (a ticket not yet signed for). Servers
        are still assigned in order of arrival, so a server may wait for its job; with
        ``ready`` None (or <= now) this is plain FCFS."""
        if now < self._last_arrival:
            raise ValueError(f"FCFS station: job {job} arrives at {now} before an earlier arrival "
                             f"({self._last_arrival}); jobs must be handed over in time order")
        self._last_arrival = now
        start = max(now if ready is None else max(now, ready), self._free[0])
        if self.hours is not None:
            start = self.hours.next_open(start)
        end = start + service_min
        heapq.heapreplace(self._free, end)
        if not self.keep_visits:
            return start, end
        self.visit_job.append(job)
        self.arrive_min.append(now)
        self.start_min.append(start)
        self.end_min.append(end)
        return start, end

    def in_system(self, t: float) -> tuple[int, int]:
        """(waiting, in service) at time ``t`` among the jobs handed over so far."""
        waiting = busy = 0
        for a, s, e in zip(self.arrive_min, self.start_min, self.end_min):
            if a <= t < s:
                waiting += 1
            elif s <= t < e:
                busy += 1
        return waiting, busy
