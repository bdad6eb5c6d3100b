"""The 12345 call centre in SimPy: agents on a roster, one FCFS queue, impatient
callers, redials.

Lean by design (see docs/architecture.md): there is no SimPy process per caller. Each
caller costs at most one event in the engine's queue, the end of its call if answered:
fresh arrivals come from the engine's feed, their times known before the run
(sim.engine). The queue is a deque of caller ids with *lazy
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

from array import array
from heapq import heappush
from collections import deque
from typing import Callable
from math import isnan

import numpy as np

from sim.arrivals import FreshArrivals
from sim.clock import MINUTES_PER_DAY, minutes_after, minutes_since_midnight
from sim.config import SimConfig
from sim.engine import CALL_PRIORITY, Engine
from sim.records import FRESH, REDIAL, REPEAT, WORK_KINDS, CallRecords
from sim.streams import Streams
from sim.tickets import TicketSink

#: The agents' work records label dispatch done right after the call as dispatch work.
AFTER_CALL_KIND = WORK_KINDS["dispatch"]

#: Headroom for redialling callers in the caller table, as a share of fresh callers
#: (the table grows by half again if it fills up).
_REDIAL_HEADROOM = 0.125
#: Slice edges are sums of floats: a seat change at midnight is on the edge that falls
#: within this many minutes of it (rounding, not a modelling choice).
_EDGE_ROUNDING_MIN = 1e-9
#: The days ``call_center.weekend_roster`` applies to (``datetime.weekday``: Saturday,
#: Sunday) [assume: the statutory weekend; adjusted working days (调休) are not modelled].
WEEKEND_DAYS = (5, 6)
#: Block size for the random draws of redialling callers.
_REDIAL_BLOCK = 4096


class _CallerTable:
    """Per-caller attributes as numpy columns (fresh callers first, then redials).

    The hot path reads and writes them through ``memoryview``s, which index about twice
    as fast as numpy and return plain Python numbers; :meth:`views` gives fresh ones
    after the table grows. ``deadline_min`` is the moment a caller would hang up
    (arrival + patience; +inf for a caller who never does). ``busy_min`` (only when the
    agents dispatch tickets right after the call) is how long an agent is busy with the
    caller once answered: the call (``handle_min``) plus the ticket's dispatch work.
    """

    COLUMNS = {
        "arrival_min": np.float64, "category": np.int16, "is_demand": np.bool_, "origin": np.int8,
        "root": np.int64, "handle_min": np.float64, "answer_min": np.float64, "deadline_min": np.float64,
    }
    REDIAL_COLUMNS = {"will_redial": np.bool_, "redial_delay_min": np.float64}
    AFTER_CALL_COLUMNS = {"busy_min": np.float64}

    def __init__(self, capacity: int, with_redials: bool, with_after_call: bool):
        self.size = 0
        self.columns = dict(self.COLUMNS, **(self.REDIAL_COLUMNS if with_redials else {}),
                            **(self.AFTER_CALL_COLUMNS if with_after_call else {}))
        for name, dtype in self.columns.items():
            setattr(self, name, np.empty(max(capacity, 1), dtype=dtype))
        self.answer_min.fill(np.nan)

    def reserve(self, n: int) -> slice:
        """Make room for ``n`` more callers; return their slice (filled by the caller)."""
        if self.size + n > len(self.arrival_min):
            self._grow(self.size + n)
        block = slice(self.size, self.size + n)
        self.size += n
        return block

    def views(self) -> dict[str, memoryview]:
        return {name: memoryview(getattr(self, name)) for name in self.columns}

    def _grow(self, needed: int) -> None:
        capacity = max(needed, int(len(self.arrival_min) * 1.5) + 1)
        for name in self.columns:
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            if name == "answer_min":
                new[self.size:] = np.nan
            setattr(self, name, new)


class CallCentre:
    """The call centre of one replication. Build it, then ``env.run(until=horizon)``,
    then read :meth:`records`."""

    def __init__(self, env: Engine, cfg: SimConfig, streams: Streams,
                 fresh: FreshArrivals, tickets: TicketSink):
        self.env = env
        self.cfg = cfg
        # the engine's event heap and entry ids, for the two hottest pushes (Engine.call_in inlined)
        self._events, self._event_ids = env.call_parts()
        self.tickets = tickets
        #: Work the agent does right after a demand call (ticket dispatch) as a function
        #: of (root, category); None when the ticket sink wants none. Fresh callers get
        #: theirs in one go from the sink (:meth:`add_after_call_work`).
        self._after_call = getattr(tickets, "after_call_min", None)
        self._streams = streams
        n = len(fresh.time_min)
        self._redials_on = cfg.arrivals.redial_prob > 0 and not cfg.call_center.patience.is_infinite
        headroom = int(n * _REDIAL_HEADROOM) if self._redials_on else 0
        self.callers = _CallerTable(n + headroom, self._redials_on, self._after_call is not None)
        self._fill_fresh(fresh, streams)
        self._n_fresh = n
        self._redial_buffer: dict[str, list] = {}
        self._redial_pos = _REDIAL_BLOCK
        self._bind_views()

        self.queue: deque[int] = deque()
        self.idle = 0
        self.busy = 0
        self.leaving = 0  # busy agents who go off duty when their call ends
        self._staff_time: list[float] = [0.0]
        self._staff_agents: list[int] = [0]
        # Engine-side tallies, checked against the records by the tests.
        self.n_offered = self.n_answered = self.n_abandoned_seen = self.n_redials = self.n_tickets = 0
        self.n_repeats = 0
        # Back-office work below inbound calls, one queue per kind in priority order
        # (ticket dispatch before callback surveys: dispatch is what citizens wait for).
        self._work_queues: list[deque] = [deque() for _ in WORK_KINDS]
        self._work_pending = 0  # jobs in all work queues
        self._work_start = array("d")
        self._work_min = array("d")
        self._work_kind = array("b")

        roster = cfg.call_center.roster
        if len(roster) == 1 and not cfg.call_center.seat_changes and cfg.call_center.weekend_roster is None:
            self._set_agents(roster[0])
        else:
            env.process(self._roster_process())
        # the fresh callers arrive at times known now: the engine's feed (no event each)
        env.feed(memoryview(np.ascontiguousarray(fresh.time_min, dtype=np.float64)), self._arrive)

    # ----------------------------------------------------------------- set-up
    def _fill_fresh(self, fresh: FreshArrivals, streams: Streams) -> None:
        """Draw every random attribute of the fresh callers, one vectorised draw per
        stream, straight into the table (per caller: common random numbers)."""
        cc, arr, c = self.cfg.call_center, self.cfg.arrivals, self.callers
        block = c.reserve(len(fresh.time_min))
        n = block.stop - block.start
        c.arrival_min[block] = fresh.time_min
        c.category[block] = fresh.category
        c.origin[block] = FRESH
        c.root[block] = np.arange(block.start, block.stop)
        demand = c.is_demand[block]
        np.less(streams["demand"].random(n), cc.ticket_share, out=demand)
        handle = c.handle_min[block]
        cc.handle_time.sample_into(streams["handling"], handle)
        handle[demand] = cc.demand_handle_time.sample(streams["demand_handling"], int(demand.sum()))
        if self._after_call is not None:
            c.busy_min[block] = handle
        deadline = c.deadline_min[block]
        cc.patience.sample_into(streams["patience"], deadline)
        deadline += fresh.time_min
        if self._redials_on:
            rng = streams["redial"]
            np.less(rng.random(n), arr.redial_prob, out=c.will_redial[block])
            arr.redial_delay.sample_into(rng, c.redial_delay_min[block])

    def add_after_call_work(self, work_min: np.ndarray) -> None:
        """The ticket sink's dispatch work right after each fresh caller's call (0 for
        callers who raise no ticket): the agent stays busy that much longer."""
        self.callers.busy_min[: self._n_fresh] += work_min

    def _bind_views(self) -> None:
        """Fast views of the hot columns (again after the table grew)."""
        v = self.callers.views()
        self._arrival, self._deadline, self._handle = v["arrival_min"], v["deadline_min"], v["handle_min"]
        self._busy = v.get("busy_min", v["handle_min"])  # no after-call work: the call alone
        self._answer, self._demand, self._category = v["answer_min"], v["is_demand"], v["category"]
        self._root, self._origin = v["root"], v["origin"]
        self._will_redial = v.get("will_redial")
        self._redial_delay = v.get("redial_delay_min")

    def _roster_process(self):
        """Change the number of agents on duty at every roster slice boundary, with
        ``call_center.weekend_roster`` (if set) on Saturdays and Sundays
        (:data:`WEEKEND_DAYS`): each day's roster is chosen at its midnight, so the two may
        have slices of different lengths; with the rosters of each seat change
        (``call_center.seat_changes``) from its date on: changes fall on midnight."""
        cc, start = self.cfg.call_center, self.cfg.start
        # no weekend roster (None): the roster every day
        changes = [(minutes_after(start, c.at), c.roster, c.weekend_roster or c.roster) for c in cc.seat_changes]
        weekday_roster, weekend_roster, k = cc.roster, cc.weekend_roster or cc.roster, 0
        midnight = -minutes_since_midnight(start)  # the start's midnight, minutes from the start
        day = start.weekday()
        while True:
            while k < len(changes) and changes[k][0] <= midnight + _EDGE_ROUNDING_MIN:
                weekday_roster, weekend_roster, k = changes[k][1], changes[k][2], k + 1
            roster = weekend_roster if day in WEEKEND_DAYS else weekday_roster
            slice_min = MINUTES_PER_DAY / len(roster)
            for idx, agents in enumerate(roster):
                edge = midnight + idx * slice_min
                if edge + slice_min <= self.env.now + _EDGE_ROUNDING_MIN:
                    continue  # before the start
                if edge > self.env.now:
                    yield self.env.timeout(edge - self.env.now)
                self._set_agents(agents)
            midnight += MINUTES_PER_DAY
            day = (day + 1) % 7
            if midnight > self.env.now:
                yield self.env.timeout(midnight - self.env.now)

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
    def _schedule(self, at: float, caller: int, callback) -> None:
        """``callback(caller)`` at absolute time ``at`` (a plain call: sim.engine)."""
        self.env.call_in(at - self.env._now, callback, caller)

    def _arrive(self, i: int) -> None:
        self.n_offered += 1
        if self.idle:
            self.idle -= 1
            self._start_service(i, self.env._now)
            return
        self.queue.append(i)
        if self._redials_on and self._will_redial[i]:
            # Known now: if still unanswered at hang-up + delay, the caller abandoned.
            self._schedule(self._deadline[i] + self._redial_delay[i], i, self._on_redial_check)

    def _start_service(self, i: int, now: float) -> None:
        self.busy += 1
        self.n_answered += 1
        self._answer[i] = now
        heappush(self._events, (now + self._busy[i], CALL_PRIORITY, next(self._event_ids), self._on_service_end, i))

    def _on_service_end(self, i: int) -> None:
        now = self.env._now
        if self._demand[i]:
            # The ticket dates from the end of the call; with after-call dispatch the
            # agent has done its dispatch work too by now (recorded in :meth:`records`).
            self.n_tickets += 1
            self.tickets.submit(i, self._answer[i] + self._handle[i], self._category[i], self._root[i])
        self._agent_free(now)

    def _agent_free(self, now: float) -> None:
        """An agent finished a call or a piece of work: leave, or take the next job."""
        self.busy -= 1
        if self.leaving:
            self.leaving -= 1
            self._record_staff(-1)
            return
        self.idle += 1
        if self.queue or self._work_pending:  # most of the time nobody waits
            self._serve_next(now)

    def _serve_next(self, now: float) -> bool:
        """An idle agent takes the first caller still waiting, else the first piece of
        back-office work; False if there is neither."""
        queue, deadline = self.queue, self._deadline
        while queue:
            j = queue.popleft()
            if deadline[j] >= now:
                self.idle -= 1
                self._start_service(j, now)
                return True
            self.n_abandoned_seen += 1
        if self._work_pending:
            for work_queue in self._work_queues:
                if work_queue:
                    self.idle -= 1
                    self._work_pending -= 1
                    self._start_work(now, *work_queue.popleft())
                    return True
        return False

    def submit_work(self, duration_min: float, on_done: Callable[[int, float], None], job: int,
                    kind: int) -> None:
        """Queue back-office work for the agents (done when no caller is waiting, lower
        ``kind`` first); ``on_done(job, time)`` is called when it is finished. ``kind``
        also labels it in the records (see ``sim.records.WORK_KINDS``)."""
        if self.idle:
            self.idle -= 1
            self._start_work(self.env.now, duration_min, on_done, job, kind)
        else:
            self._work_queues[kind].append((duration_min, on_done, job, kind))
            self._work_pending += 1

    def _start_work(self, now: float, duration_min: float, on_done, job: int, kind: int) -> None:
        self.busy += 1
        self._work_start.append(now)
        self._work_min.append(duration_min)
        self._work_kind.append(kind)
        self.env.call_in(duration_min, self._on_work_end, (on_done, job))

    def _on_work_end(self, done: tuple) -> None:
        on_done, job = done
        now = self.env._now
        self._agent_free(now)
        on_done(job, now)

    def _on_redial_check(self, i: int) -> None:
        """Patience ran out and the redial delay passed: if never answered, call again."""
        if not isnan(self._answer[i]):  # answered in time after all
            return
        self.n_redials += 1
        c = self.callers
        self._arrive(self._append_caller(int(c.category[i]), bool(c.is_demand[i]), int(c.root[i]), REDIAL))

    def inject_call(self, category: int) -> int:
        """A citizen calls again now about a problem still unresolved (a repeat call,
        always a demand, its own root). Returns the new caller id."""
        self.n_repeats += 1
        new = self._append_caller(category, True, self.callers.size, REPEAT)
        self._arrive(new)
        return new

    def _append_caller(self, category: int, demand: bool, root: int, origin: int) -> int:
        """Add a caller arriving now (a redial or a repeat call): the same person and
        problem, new draws of patience, handle time and whether to redial."""
        if self._redial_pos >= _REDIAL_BLOCK:
            self._refill_redial_buffer()
        k, now, c, b = self._redial_pos, self.env.now, self.callers, self._redial_buffer
        self._redial_pos += 1
        grows = c.size == len(c.arrival_min)
        new = c.reserve(1).start
        if grows:
            self._bind_views()
        self._arrival[new] = now
        self._category[new] = category
        self._demand[new] = demand
        self._origin[new] = origin
        self._root[new] = root
        handle = b["demand_handle_min"][k] if demand else b["handle_min"][k]
        self._handle[new] = handle
        self._busy[new] = handle + self._after_call(root, category) if demand and self._after_call else handle
        self._deadline[new] = now + b["patience_min"][k]
        if self._redials_on:
            self._will_redial[new] = b["will_redial"][k]
            self._redial_delay[new] = b["redial_delay_min"][k]
        return new

    def _refill_redial_buffer(self) -> None:
        cc, arr = self.cfg.call_center, self.cfg.arrivals
        rng, n = self._streams["later_callers"], _REDIAL_BLOCK
        self._redial_buffer = {  # lists: plain Python numbers, fast to hand out one by one
            "patience_min": cc.patience.sample(rng, n).tolist(),
            "handle_min": cc.handle_time.sample(rng, n).tolist(),
            "demand_handle_min": cc.demand_handle_time.sample(rng, n).tolist(),
            "will_redial": (rng.random(n) < arr.redial_prob).tolist(),
            "redial_delay_min": arr.redial_delay.sample(rng, n).tolist(),
        }
        self._redial_pos = 0

    # ----------------------------------------------------------------- results
    def records(self) -> CallRecords:
        """Columnar records of every call offered so far (call at the end of the run).
        The arrays are views of the engine's columns, not copies."""
        c, n = self.callers, self.callers.size
        now = self.env.now
        expired_in_queue = sum(1 for j in self.queue if self._deadline[j] < now)
        counts = {"offered": self.n_offered, "answered": self.n_answered, "redials": self.n_redials,
                  "repeats": self.n_repeats, "tickets": self.n_tickets, "work_waiting_at_end": sum(len(q) for q in self._work_queues),
                  **{f"work_waiting_{kind}": len(self._work_queues[k]) for kind, k in WORK_KINDS.items()}, "abandoned": self.n_abandoned_seen + expired_in_queue,
                  "waiting_at_end": len(self.queue) - expired_in_queue}
        return CallRecords(
            arrival_min=c.arrival_min[:n], category=c.category[:n], is_demand=c.is_demand[:n],
            origin=c.origin[:n], root=c.root[:n], deadline_min=c.deadline_min[:n], handle_min=c.handle_min[:n],
            answer_min=c.answer_min[:n],
            horizon_min=now, warmup_min=self.cfg.warmup_min, start=self.cfg.start,
            staff_time_min=np.asarray(self._staff_time), staff_agents=np.asarray(self._staff_agents),
            **self._work_records(now), engine_counts=counts,
        )

    def _work_records(self, now: float) -> dict[str, np.ndarray]:
        """Back-office work started so far: the work picked up between calls, then the
        dispatch work done right after calls that ended before ``now`` (events at the
        run's end time itself are not processed)."""
        recorded = {"work_start_min": np.frombuffer(self._work_start, dtype=np.float64),
                    "work_min": np.frombuffer(self._work_min, dtype=np.float64),
                    "work_kind": np.frombuffer(self._work_kind, dtype=np.int8)}
        if self._after_call is None:
            return recorded
        c, n = self.callers, self.callers.size
        demand = np.flatnonzero(c.is_demand[:n])
        answer, handle, busy = c.answer_min[demand], c.handle_min[demand], c.busy_min[demand]
        done = (busy > handle) & (answer + busy < now)
        after_call = {"work_start_min": (answer + handle)[done], "work_min": (busy - handle)[done],
                      "work_kind": np.full(np.count_nonzero(done), AFTER_CALL_KIND, dtype=np.int8)}
        return {name: np.concatenate([col, after_call[name]]) for name, col in recorded.items()}
