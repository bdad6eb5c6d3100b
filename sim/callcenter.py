"""The 12345 call centre in SimPy: agents on a roster, one FCFS queue, impatient
callers, redials.

Lean by design (see docs/architecture.md): there is no SimPy process per caller. Each
caller costs two events: its arrival (a timeout that chains to the next arrival) and,
if answered, the end of its call. The queue is a deque of caller ids with *lazy
abandonment*: a caller whose patience ran out is dropped when an agent frees and looks
at the head of the queue. Under FCFS this is exact: removing a caller who already left
never changes who is served next, and the time a caller left is known
(arrival + patience), so it need not be an event. All random numbers are drawn in
vectorised blocks before the run, per caller, from named streams.

Shift ends: an agent whose shift ends while on a call finishes that call, then leaves
(no call is cut off); idle agents leave at once. When the roster rises again before a
leaving agent has finished, that agent simply stays (no extra body is added).
"""
from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from sim.arrivals import FreshArrivals
from sim.clock import minutes_to_calendar
from sim.config import SimConfig
from sim.records import CallRecords
from sim.streams import Streams
from sim.tickets import TicketSink

#: How many arrival times are turned into a Python list at a time (speed vs memory).
_ARRIVAL_CHUNK = 65536
#: Block size for the random draws of redialling callers.
_REDIAL_BLOCK = 4096


class _CallerTable:
    """Per-caller attributes as growable numpy columns (fresh callers first)."""

    COLUMNS = {
        "arrival_min": np.float64, "category": np.int16, "is_demand": np.bool_, "is_redial": np.bool_,
        "patience_min": np.float64, "handle_min": np.float64, "answer_min": np.float64,
        "deadline_min": np.float64, "will_redial": np.bool_, "redial_delay_min": np.float64,
    }

    def __init__(self, capacity: int):
        self.size = 0
        for name, dtype in self.COLUMNS.items():
            setattr(self, name, np.empty(max(capacity, 1), dtype=dtype))
        self.answer_min[:] = np.nan

    def extend(self, **cols: np.ndarray) -> None:
        n = len(cols["arrival_min"])
        if self.size + n > len(self.arrival_min):
            self._grow(self.size + n)
        for name, values in cols.items():
            getattr(self, name)[self.size:self.size + n] = values
        self.size += n

    def _grow(self, needed: int) -> None:
        capacity = max(needed, int(len(self.arrival_min) * 1.5) + 1)
        for name in self.COLUMNS:
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            if name == "answer_min":
                new[self.size:] = np.nan
            setattr(self, name, new)


class CallCentre:
    """The call centre of one replication. Build it, then ``env.run(until=horizon)``,
    then read :meth:`records`."""

    def __init__(self, env: simpy.Environment, cfg: SimConfig, streams: Streams,
                 fresh: FreshArrivals, tickets: TicketSink):
        self.env = env
        self.cfg = cfg
        self.tickets = tickets
        self._streams = streams
        self.callers = _CallerTable(capacity=len(fresh.time_min) + len(fresh.time_min) // 8)
        self.callers.extend(**self._draw_callers(fresh, streams))
        self._n_fresh = len(fresh.time_min)
        self._redial_buffer: dict[str, np.ndarray] = {}
        self._redial_pos = _REDIAL_BLOCK

        self.queue: deque[int] = deque()
        self.idle = 0
        self.busy = 0
        self.leaving = 0  # busy agents who go off duty when their call ends
        self._staff_time: list[float] = [0.0]
        self._staff_agents: list[int] = [0]
        self.counts = {"offered": 0, "answered": 0, "abandoned_seen": 0, "redials": 0, "tickets": 0}

        roster = cfg.call_center.roster
        if len(roster) == 1:
            self._set_agents(roster[0])
        else:
            env.process(self._roster_process())
        if self._n_fresh:
            self._arrival_chunk: list[float] = []
            self._next_fresh = 0
            self._schedule_next_fresh()

    # ----------------------------------------------------------------- set-up
    def _draw_attributes(self, n: int, rng_for: dict[str, np.random.Generator]) -> dict[str, np.ndarray]:
        """Per-caller random attributes that do not depend on who the caller is."""
        cc, arr = self.cfg.call_center, self.cfg.arrivals
        return {
            "patience_min": cc.patience.sample(rng_for["patience"], n),
            "consult_handle_min": cc.handle_time.sample(rng_for["handling"], n),
            "demand_handle_min": cc.demand_handle_time.sample(rng_for["demand_handling"], n),
            "will_redial": rng_for["redial"].random(n) < arr.redial_prob,
            "redial_delay_min": arr.redial_delay.sample(rng_for["redial"], n),
        }

    def _draw_callers(self, fresh: FreshArrivals, streams: Streams) -> dict[str, np.ndarray]:
        """Every random attribute of the fresh callers, drawn in one go per stream."""
        n = len(fresh.time_min)
        demand = streams["demand"].random(n) < self.cfg.call_center.ticket_share
        a = self._draw_attributes(n, streams)
        return {
            "arrival_min": fresh.time_min, "category": fresh.category, "is_demand": demand,
            "is_redial": np.zeros(n, bool), "patience_min": a["patience_min"],
            "handle_min": np.where(demand, a["demand_handle_min"], a["consult_handle_min"]),
            "deadline_min": fresh.time_min + a["patience_min"],
            "will_redial": a["will_redial"], "redial_delay_min": a["redial_delay_min"],
        }

    def _roster_process(self):
        """Change the number of agents on duty at every roster slice boundary."""
        roster = self.cfg.call_center.roster
        slice_min = self.cfg.call_center.roster_interval_min
        _, _, minute0 = minutes_to_calendar(self.cfg.start, np.array([0.0]))
        idx = int(minute0[0] // slice_min)
        self._set_agents(roster[idx])
        next_edge = (idx + 1) * slice_min - minute0[0]
        while True:
            yield self.env.timeout(next_edge - self.env.now)
            idx = (idx + 1) % len(roster)
            self._set_agents(roster[idx])
            next_edge += slice_min

    def _set_agents(self, target: int) -> None:
        present = self.idle + self.busy - self.leaving
        if target > present:
            extra = target - present
            stay = min(self.leaving, extra)
            self.leaving -= stay
            self.idle += extra - stay
            self._record_staff(extra - stay)
            while self.idle and self._serve_next(self.env.now):
                pass
        elif target < present:
            remove = present - target
            off_now = min(self.idle, remove)
            self.idle -= off_now
            self.leaving += remove - off_now
            self._record_staff(-off_now)

    def _record_staff(self, delta: int) -> None:
        if delta:
            self._staff_time.append(self.env.now)
            self._staff_agents.append(self._staff_agents[-1] + delta)

    # ---------------------------------------------------------------- hot path
    def _schedule_next_fresh(self) -> None:
        i = self._next_fresh
        offset = i % _ARRIVAL_CHUNK
        if offset == 0:
            self._arrival_chunk = self.callers.arrival_min[i:min(i + _ARRIVAL_CHUNK, self._n_fresh)].tolist()
        ev = self.env.timeout(self._arrival_chunk[offset] - self.env.now, i)
        ev.callbacks.append(self._on_fresh_arrival)

    def _on_fresh_arrival(self, event) -> None:
        i = event._value
        self._next_fresh = i + 1
        if i + 1 < self._n_fresh:
            self._schedule_next_fresh()
        self._arrive(i)

    def _arrive(self, i: int) -> None:
        self.counts["offered"] += 1
        if self.idle:
            self.idle -= 1
            self._start_service(i, self.env.now)
        else:
            self.queue.append(i)
            if self.callers.will_redial[i]:
                c = self.callers
                check_at = c.deadline_min[i] + c.redial_delay_min[i]
                if check_at < np.inf:
                    ev = self.env.timeout(check_at - self.env.now, i)
                    ev.callbacks.append(self._on_redial_check)

    def _start_service(self, i: int, now: float) -> None:
        self.busy += 1
        self.counts["answered"] += 1
        c = self.callers
        c.answer_min[i] = now
        ev = self.env.timeout(c.handle_min[i], i)
        ev.callbacks.append(self._on_service_end)

    def _on_service_end(self, event) -> None:
        i = event._value
        now = self.env.now
        self.busy -= 1
        c = self.callers
        if c.is_demand[i]:
            self.counts["tickets"] += 1
            self.tickets.submit(i, now, int(c.category[i]))
        if self.leaving:
            self.leaving -= 1
            self._record_staff(-1)
            return
        self.idle += 1
        self._serve_next(now)

    def _serve_next(self, now: float) -> bool:
        """An idle agent takes the first caller still waiting; False if none."""
        queue, deadline = self.queue, self.callers.deadline_min
        while queue:
            j = queue.popleft()
            if deadline[j] >= now:
                self.idle -= 1
                self._start_service(j, now)
                return True
            self.counts["abandoned_seen"] += 1
        return False

    def _on_redial_check(self, event) -> None:
        """Patience ran out and the redial delay passed: if never answered, call again."""
        i = event._value
        c = self.callers
        if not np.isnan(c.answer_min[i]):
            return
        new = c.size
        c.extend(**self._draw_redialler(i))
        self.counts["redials"] += 1
        self._arrive(new)

    def _draw_redialler(self, i: int) -> dict[str, list]:
        """Attributes of a redial of caller ``i``: same person and problem, new draws
        of patience, handle time and whether it redials again."""
        if self._redial_pos >= _REDIAL_BLOCK:
            rng = self._streams["redial_callers"]
            names = ("patience", "handling", "demand_handling", "redial")
            self._redial_buffer = self._draw_attributes(_REDIAL_BLOCK, dict.fromkeys(names, rng))
            self._redial_pos = 0
        k, now, c, b = self._redial_pos, self.env.now, self.callers, self._redial_buffer
        self._redial_pos += 1
        demand = c.is_demand[i]
        patience = b["patience_min"][k]
        return {
            "arrival_min": [now], "category": [c.category[i]], "is_demand": [demand],
            "is_redial": [True], "patience_min": [patience],
            "handle_min": [b["demand_handle_min"][k] if demand else b["consult_handle_min"][k]],
            "deadline_min": [now + patience], "will_redial": [b["will_redial"][k]],
            "redial_delay_min": [b["redial_delay_min"][k]],
        }

    # ----------------------------------------------------------------- results
    def records(self) -> CallRecords:
        """Columnar records of every call offered so far (call at the end of the run)."""
        c, n = self.callers, self.callers.size
        now = self.env.now
        expired_in_queue = sum(1 for j in self.queue if c.deadline_min[j] < now)
        counts = dict(self.counts, abandoned=self.counts["abandoned_seen"] + expired_in_queue,
                      waiting_at_end=len(self.queue) - expired_in_queue)
        return CallRecords(
            arrival_min=c.arrival_min[:n].copy(), category=c.category[:n].copy(),
            is_demand=c.is_demand[:n].copy(), is_redial=c.is_redial[:n].copy(),
            patience_min=c.patience_min[:n].copy(), handle_min=c.handle_min[:n].copy(),
            answer_min=c.answer_min[:n].copy(),
            horizon_min=now, warmup_min=self.cfg.warmup_min, start=self.cfg.start,
            staff_time_min=np.asarray(self._staff_time), staff_agents=np.asarray(self._staff_agents),
            engine_counts=counts,
        )
