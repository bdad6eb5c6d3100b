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

Big stations (the city departments: thousands of servers, rarely all busy) would pay
a heap operation on thousands of entries per job. They skip the heap while some server
is surely idle: which idle server takes a job makes no difference (servers are
identical), so it is enough to count them. The count is renewed, in one vectorised
pass over the end times of the jobs handed over since, only when it runs out; if then
every server is busy the station works on the heap until enough servers are idle
again. The answers are the same as the heap's, job for job.
"""
from __future__ import annotations

import heapq
from array import array

import numpy as np

from sim.clock import OfficeHours

#: Stations with at least this many servers count idle servers instead of keeping a
#: heap while some are surely idle (see the module docstring).
IDLE_COUNT_MIN_SERVERS = 256
#: ... and go back to counting when at least this share of servers is idle.
IDLE_COUNT_RESUME_SHARE = 1 / 16


class FcfsStation:
    """``servers`` identical servers, FCFS; ``hours`` limits when work may start."""

    def __init__(self, servers: int, hours: OfficeHours | None = None, keep_visits: bool = True):
        if servers < 1:
            raise ValueError(f"a station needs at least one server, got {servers}")
        self.servers = servers
        self.hours = hours
        self._big = servers >= IDLE_COUNT_MIN_SERVERS
        # A heap of the servers' next free times (heap mode). A big station starts
        # counting and fills the heap only when every server is busy (then one entry per
        # job in service), so its size costs no memory per server.
        self._free = [] if self._big else [0.0] * servers
        self._last_arrival = float("-inf")
        # Counting mode (big stations): ``_idle`` servers are surely free; the others'
        # next free times are among ``_ends`` (end times of jobs handed over since the
        # count was renewed, some perhaps past already).
        self._counting = self._big
        self._idle = servers if self._big else 0
        self._ends = array("d")
        self._heap_jobs = 0  # jobs handed over in heap mode since counting last stopped
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
        earliest = now if ready is None or ready < now else ready
        if self._counting and (self._idle or self._recount(now)):
            self._idle -= 1  # a server is free now: the job starts as soon as it may
            start = earliest if self.hours is None else self.hours.next_open(earliest)
            end = start + service_min
            self._ends.append(end)
        else:
            free = self._free[0]
            start = earliest if earliest > free else free
            if self.hours is not None:
                start = self.hours.next_open(start)
            end = start + service_min
            heapq.heapreplace(self._free, end)
            if self._big:
                self._maybe_resume_counting(now)
        if self.keep_visits:
            self.visit_job.append(job)
            self.arrive_min.append(now)
            self.start_min.append(start)
            self.end_min.append(end)
        return start, end

    def assign_many(self, jobs: list[int], now: float, service_min: list[float],
                    latest_start: list[float]) -> list[float]:
        """Jobs arriving together at ``now``, in this order: each is handed over as by
        :meth:`assign` if it would start by its ``latest_start`` (else it is not taken).
        Their starts (NaN: not taken). The same answers as :meth:`next_start` and
        :meth:`assign` job by job (a callback list of thousands at each listing tick),
        with the loop kept tight."""
        if now < self._last_arrival or self._big or not self.keep_visits:
            return [self._assign_if_by(job, now, s, latest) for job, s, latest in zip(jobs, service_min, latest_start)]
        self._last_arrival = now
        free, next_open = self._free, (self.hours.next_open if self.hours is not None else None)
        starts, nan = [], float("nan")
        job_log, arrive_log, start_log, end_log = self.visit_job, self.arrive_min, self.start_min, self.end_min
        for job, service, latest in zip(jobs, service_min, latest_start):
            first_free = free[0]
            start = now if now > first_free else first_free
            if next_open is not None:
                start = next_open(start)
            if start > latest:
                starts.append(nan)
                continue
            end = start + service
            heapq.heapreplace(free, end)
            job_log.append(job)
            arrive_log.append(now)
            start_log.append(start)
            end_log.append(end)
            starts.append(start)
        return starts

    def _assign_if_by(self, job: int, now: float, service_min: float, latest: float) -> float:
        if self.next_start(now) > latest:
            return float("nan")
        return self.assign(job, now, service_min)[0]

    def resize(self, servers: int, now: float) -> None:
        """From ``now`` on, ``servers`` servers (the accountability loop's extra
        caseworkers). Added servers are free from ``now``; removed ones are those that
        free last: each finishes the job it holds and takes no more."""
        if servers < 1:
            raise ValueError(f"a station needs at least one server, got {servers}")
        if servers == self.servers:
            return
        if self._counting:  # to the heap: the idle servers free now, the others at their ends
            ends = np.frombuffer(self._ends, dtype=np.float64)
            busy = ends[ends > now]
            self._free = busy.tolist() + [now] * (self.servers - len(busy))
            self._counting, self._idle, self._ends, self._heap_jobs = False, 0, array("d"), 0
        if servers > self.servers:
            self._free.extend([now] * (servers - self.servers))
        else:
            self._free.sort()
            del self._free[servers:]
        heapq.heapify(self._free)
        self.servers = servers

    def next_start(self, now: float) -> float:
        """When a job arriving at ``now`` (ready at once) would start, without handing
        it over: to decide whether it is still worth doing."""
        if self._counting and (self._idle or self._recount(now)):
            start = now
        else:
            start = max(now, self._free[0])
        return start if self.hours is None else self.hours.next_open(start)

    def _recount(self, now: float) -> bool:
        """Renew the idle count at ``now`` from the end times; True if a server is idle.
        If none is, switch to the heap (all servers busy: their end times)."""
        ends = np.frombuffer(self._ends, dtype=np.float64)
        busy = ends[ends > now]
        self._idle = self.servers - len(busy)
        self._ends = array("d", busy.tobytes())
        if self._idle:
            return True
        self._free = busy.tolist()
        heapq.heapify(self._free)
        self._counting, self._heap_jobs = False, 0
        return False

    def _maybe_resume_counting(self, now: float) -> None:
        """In heap mode of a big station: every so often, go back to counting if
        enough servers are idle now."""
        self._heap_jobs += 1
        if self._heap_jobs < self.servers * IDLE_COUNT_RESUME_SHARE:
            return
        self._heap_jobs = 0
        free = np.asarray(self._free)
        idle = int(np.count_nonzero(free <= now))
        if idle >= self.servers * IDLE_COUNT_RESUME_SHARE:
            self._counting, self._idle = True, idle
            self._ends = array("d", free[free > now].tobytes())

    def in_system(self, t: float) -> tuple[int, int]:
        """(waiting, in service) at time ``t`` among the jobs handed over so far."""
        waiting = busy = 0
        for a, s, e in zip(self.arrive_min, self.start_min, self.end_min):
            if a <= t < s:
                waiting += 1
            elif s <= t < e:
                busy += 1
        return waiting, busy
