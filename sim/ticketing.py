"""Tickets after the call: dispatch, streets, departments, callback survey, repeat calls.

The path of a ticket:

1. **Centre dispatch**: the centre's dispatch work, done by the call agents between
   calls (below inbound calls) or by a dispatch desk, sends the ticket on.
2. ``direct``: straight to a street. ``two_level``: to the district's desk (its own
   staff and hours), which sends it on to a street. Tickets for city departments and
   utilities go to one aggregate unit with its own capacity.
3. **Misrouting and returns (退单)**: with a probability per level the ticket goes to a
   wrong unit, which returns it after a review delay to whoever sent it (the centre;
   in ``two_level`` the district desk for a wrong street); it is dispatched again.
4. **Street**: signs for the ticket (签收) after a sign time (office-hours streets when
   next open), then a caseworker slot works it, first come first served; urgent
   classes may skip the queue (the duty team). Closed with double feedback,
   resolved or not.
5. **Callback survey (回访)**: after a delay the callback is listed for the agents
   (every ``batch_interval_min``), who make it between calls: reached or not, then
   contacted / resolved / satisfied from an ordered-logit model.
6. **Repeat call**: a citizen whose problem closed unresolved may call again.

Few events by design (see docs/architecture.md): the work stations are FCFS and
computed at arrival (:class:`~sim.station.FcfsStation`), so only the steps that
interact with the call centre, or hand a ticket to a station at a later time, are
SimPy events: the agents' dispatch and survey work, the street's signing, a review
before return, a repeat call. Times computed ahead (closure, say) are only revealed in
the records if they fall inside the run.
"""
from __future__ import annotations

import heapq
import math
from array import array
from collections import defaultdict

import numpy as np
import simpy

from sim.city import City
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR, OfficeHours, minutes_since_midnight
from sim.config import SimConfig
from sim.records import WORK_KINDS, TicketRecords
from sim.station import FcfsStation
from sim.streams import Streams
from sim.ticket_draws import DEPARTMENT, BlockSampler, TicketDraws
from sim.timers import Timers

NAN = math.nan
DAYS_PER_WEEK = 7
#: Rows the ticket table grows by at least (it grows by half its size otherwise).
_MIN_GROWTH = 1024
#: Initial ticket-table size per fresh demand call: room for repeat calls' tickets.
_TABLE_HEADROOM = 1.2
#: Two-level: a ticket the district desk has done with reaches its street at that
#: time; it is handed over at the next callback listing tick (no event of its own) when
#: nothing it sets off can fall due within this many listing intervals of its delivery,
#: else on time through a timer. Exact either way (see :meth:`TicketSystem._hand_over`).
_HAND_OVER_SLACK_TICKS = 3
#: Satisfaction answers: ``TicketRecords.satisfaction`` codes (-1: no answer).
DISSATISFIED, BASIC, SATISFIED = 0, 1, 2


class _TicketTable:
    """Per-ticket numpy columns, preallocated and grown geometrically; the hot path
    writes through memoryviews (see :meth:`views`)."""

    # Only what the run itself decides; the rest (category, street, urgency, deadline,
    # resolved, survey answers) follows from the caller and the problem's draws and is
    # filled in after the run (:meth:`TicketSystem.records`).
    FLOAT = ("created_min", "dispatched_min", "delivered_min", "signed_min", "closed_min", "surveyed_min")
    INT = {"caller": np.int64, "row": np.int64, "returns": np.int8}

    def __init__(self, capacity: int):
        self.size = 0
        self.cols = {name: np.full(capacity, np.nan) for name in self.FLOAT}
        self.cols.update({name: np.full(capacity, -1, dtype=dt) for name, dt in self.INT.items()})
        self.cols["returns"][:] = 0

    @property
    def capacity(self) -> int:
        return len(self.cols["created_min"])

    def grow(self) -> None:
        """Half as many rows again (the caller renews its views)."""
        extra = max(self.capacity // 2, _MIN_GROWTH)
        for name, col in self.cols.items():
            fill = np.nan if name in self.FLOAT else (0 if name == "returns" else -1)
            self.cols[name] = np.concatenate([col, np.full(extra, fill, dtype=col.dtype)])

    def views(self) -> dict[str, memoryview]:
        return {name: memoryview(col) for name, col in self.cols.items()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: col[: self.size] for name, col in self.cols.items()}


class TicketSystem:
    """The ticket sink of the call centre (``submit``), and everything downstream."""

    def __init__(self, env: simpy.Environment, cfg: SimConfig, city: City, streams: Streams):
        self.env, self.cfg, self.city = env, cfg, city
        t = cfg.tickets
        self.t = t
        self.two_level = t.dispatch.policy == "two_level"
        self.table: _TicketTable | None = None
        self.draws: TicketDraws | None = None
        self.centre = None
        self._streams = streams
        oh = t.city.office_hours
        self.office = OfficeHours(cfg.start, cfg.horizon_min, oh.start_h, oh.end_h, oh.weekdays)
        rng = streams["redispatch"]
        self._centre_work = BlockSampler(rng, t.dispatch.centre_work_time.sample)
        self._district_work = BlockSampler(rng, t.dispatch.district_work_time.sample)
        self._review = BlockSampler(rng, t.dispatch.review_time.sample)
        self._uniform = BlockSampler(rng, lambda g, n: g.random(n))
        self._deadline_min = [u.deadline_min for u in t.streets.urgency]

        self.caseworkers = street_caseworkers(cfg, city)
        self.streets = [FcfsStation(int(c)) for c in self.caseworkers]
        self.departments = FcfsStation(t.departments.servers, keep_visits=False)
        desk_hours = None if t.dispatch.district_desk_hours == "24h" else self.office
        self.desk_staff = district_desk_staff(cfg, city, desk_hours)
        self.district_desks = ([FcfsStation(int(n), desk_hours) for n in self.desk_staff]
                               if self.two_level else [])
        self.centre_desk = (FcfsStation(t.dispatch.centre_desk_staff)
                            if t.dispatch.centre_worker == "desk" else None)
        self._dispatch_after_call = t.dispatch.centre_worker == "after_call"
        if self._dispatch_after_call:
            # Read by the call centre: the agent dispatches the ticket right after the call.
            self.after_call_min = self._after_call_min
        self._street_district = city.street_district.tolist()
        self._street_24h = city.street_24h.tolist()
        self._centre_misroute = t.dispatch.centre_misroute_prob
        self._district_misroute = t.dispatch.district_misroute_prob
        self._surveys_due: defaultdict[int, list[int]] = defaultdict(list)  # survey tick -> tickets due
        self._survey_interval = t.survey.batch_interval_min
        # Callback lists handed to the agents, one job each: their tickets (flat), where
        # each job's tickets begin, and when the agent finished it (NaN: not yet).
        self._survey_tickets, self._survey_job_start, self._survey_end = array("q"), array("q"), array("d")
        self._deliveries = Timers(env, self._on_delivered)  # street hand-overs due on time
        self._hand_overs: list[tuple[float, int, int]] = []  # (time, seq, ticket): at the next tick
        self._hand_over_seq = 0
        self._repeat_calls = Timers(env, self._on_repeat_call)
        self._returns_to_centre = Timers(env, self._on_return_to_centre)
        self._returns_to_district = Timers(env, self._on_return_to_district)
        self._review_start: dict[int, float] = {}  # ticket -> when a wrong unit got it

    def attach(self, centre) -> None:
        """Connect the call centre (after it drew its callers): its agents do the
        dispatch and survey work, and repeat calls arrive there."""
        self.centre = centre
        c, n = centre.callers, centre._n_fresh
        self.draws = TicketDraws(self.cfg, self.city, self._streams, c.is_demand[:n], c.category[:n])
        self.table = _TicketTable(capacity=int(self.draws.size * _TABLE_HEADROOM) + _MIN_GROWTH)
        self._bind_views()
        self._bind_draws()
        self._n_fresh, self._fresh_row = n, self.draws.fresh_rows()
        if self._dispatch_after_call:
            centre.add_after_call_work(self.draws.fresh_column("centre_work_min", fill=0.0))
        self.env.process(self._survey_lists())

    def _bind_views(self) -> None:
        """Fast views of the ticket table (again after it grew)."""
        v = self.table.views()
        self._v = v
        self._capacity = self.table.capacity
        self._created, self._dispatched = v["created_min"], v["dispatched_min"]
        self._delivered, self._signed, self._closed = v["delivered_min"], v["signed_min"], v["closed_min"]
        self._row, self._returns, self._caller = v["row"], v["returns"], v["caller"]

    def _bind_draws(self) -> None:
        """Fast views of the draws the path reads per ticket (again after they grew)."""
        d = self.draws.views()
        self._dv = d
        self._dest, self._queued_row, self._sign, self._processing = (
            d["dest"], d["queued"], d["sign_min"], d["processing_min"])
        self._survey_after, self._repeat_after = d["survey_after_min"], d["repeat_after_min"]
        self._quiet_after = d["quiet_after_delivery_min"]
        self._centre_u = d["centre_u"]

    # ------------------------------------------------------------ the path
    def _problem_row(self, root: int, category: int) -> int:
        """Row of the problem's draws (drawn now for a new repeat-call problem, which
        may grow the draws: then the fast views are renewed)."""
        row = self.draws.row_for(root, category)
        if self.draws.views_stale:
            self._bind_draws()
        return row

    def _after_call_min(self, root: int, category: int) -> float:
        """The dispatch work of the ticket a call about problem ``root`` will raise
        (after_call), for a caller added during the run."""
        row = self._problem_row(root, category)  # first: it may renew the views
        return self._dv["centre_work_min"][row]

    def submit(self, caller: int, time_min: float, category: int, root: int) -> None:
        """A demand call ended at ``time_min``: create its ticket and have it dispatched
        (already done, by the same agent, when the centre works ``after_call``)."""
        # A fresh call's problem (nearly every ticket) is looked up inline: one call less.
        row = self._fresh_row[root] if root < self._n_fresh else self._problem_row(root, category)
        tid = self.table.size
        if tid == self._capacity:
            self.table.grow()
            self._bind_views()
        self.table.size = tid + 1
        self._caller[tid] = caller
        self._row[tid] = row
        self._created[tid] = time_min
        if self._dispatch_after_call:
            self._dispatched[tid] = now = self.env.now
            self._forward(tid, now, row, True)
        else:
            self._centre_dispatch(tid, self._dv["centre_work_min"][row], time_min)

    def _centre_dispatch(self, tid: int, work_min: float, now: float) -> None:
        """Queue the centre's dispatch work: for the agents (between calls; also a
        re-dispatch after a return when they dispatch after the call) or the desk."""
        if self.centre_desk is None:
            self.centre.submit_work(work_min, self._on_centre_done, tid, WORK_KINDS["dispatch"])
        else:
            _, end = self.centre_desk.assign(tid, now, work_min)
            self._at(end, tid, self._on_centre_desk_done)

    def _on_centre_desk_done(self, event) -> None:
        self._on_centre_done(event._value, self.env.now)

    def _on_centre_done(self, tid: int, now: float) -> None:
        """The centre dispatched ticket ``tid`` (first time, or again after a return)."""
        first = math.isnan(self._dispatched[tid])
        if first:
            self._dispatched[tid] = now
        self._forward(tid, now, self._row[tid], first)

    def _forward(self, tid: int, now: float, row: int, first: bool, at_street: bool = False) -> None:
        """Take ticket ``tid``, dispatched by the centre at ``now`` (or, ``at_street``,
        arriving at its street from the district desk), as far as it goes without
        waiting: to a wrong unit (reviewed, then returned), to the district desk
        (two-level: the street gets it when the desk has done), or to the departments
        or its street and on to its planned closure. The first dispatch uses the
        problem's own draws (CRN), a re-dispatch fresh ones. One method on purpose:
        every ticket runs through it."""
        street = self._dest[row]
        if street == DEPARTMENT:
            self._delivered[tid] = self._signed[tid] = now
            _, end = self.departments.assign(tid, now, self._processing[row])
        else:
            if not at_street:
                u = self._centre_u[row] if first else self._uniform.next()
                if u < self._centre_misroute:  # wrong street (direct) or wrong district (two-level)
                    self._misrouted(tid, now, self._returns_to_centre)
                    return
                if self.two_level:
                    work = self._dv["district_work_min"][row] if first else self._district_work.next()
                    self._district_desk(tid, now, work, first)
                    return
            # The street signs for it (签收) when on duty plus the sign time; queued classes
            # take the next caseworker slot in order of arrival and are worked once
            # signed, urgent ones at once.
            self._delivered[tid] = now
            opens = now if self._street_24h[street] else self.office.next_open(now)
            self._signed[tid] = signed = opens + self._sign[row]
            if self._queued_row[row]:
                _, end = self.streets[street].assign(tid, now, self._processing[row], signed)
            else:
                end = signed + self._processing[row]
        # Closed at ``end`` with feedback to citizen and centre; its callback and any
        # repeat call are planned from then (NaN: none).
        self._closed[tid] = end
        after = self._survey_after[row]
        if after == after:
            self._surveys_due[math.ceil((end + after) / self._survey_interval)].append(tid)
        after = self._repeat_after[row]
        if after == after:
            self._repeat_calls.add(end + after, tid)

    def _district_desk(self, tid: int, now: float, work_min: float, first_draw: bool) -> None:
        row = self._row[tid]
        district = self._street_district[self._dest[row]]
        _, end = self.district_desks[district].assign(tid, now, work_min)
        u = self._dv["district_u"][row] if first_draw else self._uniform.next()
        if u < self._district_misroute:
            self._misrouted(tid, end, self._returns_to_district)
        else:
            self._hand_over(tid, end, row)

    def _hand_over(self, tid: int, at: float, row: int) -> None:
        """The street gets the ticket at ``at``, when the desk has done with it.

        Streets must take tickets in time order, which a multi-server desk does not
        finish them in. A timer per ticket would keep that order; cheaper, and as
        exact, the ticket waits for the next callback listing tick, which hands over
        every ticket due by then in time order (with the time it arrived) before it
        lists callbacks; nothing else reads the streets meanwhile, and a timer's
        hand-over first hands over the waiting tickets due before it. What the ticket
        sets off must not fall due before that tick: its callback cannot (listed at
        that tick at the earliest), a repeat call could -- so the ticket waits only if
        its draws (sign + processing + first follow-up) put that beyond the tick with a
        margin; the rare other one goes through a timer."""
        interval = self._survey_interval
        if at + self._quiet_after[row] > (math.floor(at / interval) + _HAND_OVER_SLACK_TICKS) * interval:
            self._hand_over_seq += 1
            heapq.heappush(self._hand_overs, (at, self._hand_over_seq, tid))
        else:
            self._deliveries.add(at, tid)

    def _hand_over_due(self, now: float) -> None:
        """Hand the waiting tickets due by ``now`` to their streets, in time order."""
        waiting, row = self._hand_overs, self._row
        while waiting and waiting[0][0] <= now:
            at, _, tid = heapq.heappop(waiting)
            self._forward(tid, at, row[tid], False, at_street=True)

    def _misrouted(self, tid: int, at: float, back: Timers) -> None:
        """Sent to a wrong unit at ``at`` (now, or when a desk finishes); it reviews
        the ticket and returns it."""
        self._review_start[tid] = at
        back.add(at + self._review.next(), tid)

    def _on_return_to_centre(self, tid: int) -> None:
        del self._review_start[tid]
        self._returns[tid] += 1
        self._centre_dispatch(tid, self._centre_work.next(), self.env.now)

    def _on_return_to_district(self, tid: int) -> None:
        del self._review_start[tid]
        self._returns[tid] += 1
        self._district_desk(tid, self.env.now, self._district_work.next(), first_draw=False)

    def _on_delivered(self, tid: int) -> None:
        now = self.env.now
        self._hand_over_due(now)  # those due before it reach their streets first
        self._forward(tid, now, self._row[tid], False, at_street=True)

    def _survey_lists(self):
        """Every ``batch_interval_min``, hand the callbacks now due to the agents, a few
        per job (``callbacks_per_job``): an agent works through a short list before
        looking at the queue again. Callbacks wait in buckets of one interval (no heap:
        a list is released whole, in order of closure)."""
        interval = self.t.survey.batch_interval_min
        per_job, kind = self.t.survey.callbacks_per_job, WORK_KINDS["survey"]
        first_h, last_h = self.t.survey.callback_start_h, self.t.survey.callback_end_h
        minute0 = minutes_since_midnight(self.cfg.start)
        tick, due = 0, []
        while True:
            yield self.env.timeout(interval)
            tick += 1
            self._hand_over_due(self.env.now)  # before anything is listed
            due.extend(self._surveys_due.pop(tick, ()))
            hour = ((minute0 + self.env.now) % MINUTES_PER_DAY) / MINUTES_PER_HOUR
            if not due or not first_h <= hour < last_h:  # citizens are not called at night
                continue
            due, release = [], due
            # Each list's minutes, vectorised (a release holds ~100 callbacks by day).
            work = self.draws.cols["survey_work_min"][self.table.cols["row"][release]]
            starts = range(0, len(release), per_job)
            first_job = len(self._survey_end)
            self._survey_job_start.extend([len(self._survey_tickets) + k for k in starts])
            self._survey_tickets.extend(release)
            self._survey_end.extend([NAN] * len(starts))
            for job, job_min in enumerate(np.add.reduceat(work, starts).tolist(), start=first_job):
                self.centre.submit_work(job_min, self._on_survey_job_done, job, kind)

    def _on_survey_job_done(self, job: int, now: float) -> None:
        """The list's callbacks were made one after another, ending ``now``: when each
        was made is worked out after the run (:meth:`_survey_times`), and what the
        citizens answered too (:func:`survey_answers`): it changes nothing during the run."""
        self._survey_end[job] = now

    def _survey_times(self) -> None:
        """``surveyed_min`` of each callback made: its list ended when the agent
        finished, and the callbacks were made one after another in list order."""
        tid = np.frombuffer(self._survey_tickets, dtype=np.int64)
        bounds = np.append(np.frombuffer(self._survey_job_start, dtype=np.int64), len(tid))  # job k: [b_k, b_k+1)
        job = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        end = np.frombuffer(self._survey_end, dtype=np.float64)[job]
        work = self.draws.cols["survey_work_min"][self.table.cols["row"][tid]]
        cumulative = np.cumsum(work)
        job_total_to = cumulative[bounds[1:] - 1][job]  # up to the job's last entry
        made = ~np.isnan(end)
        self.table.cols["surveyed_min"][tid[made]] = (end - (job_total_to - cumulative))[made]

    def _on_repeat_call(self, tid: int) -> None:
        # A new call about the same problem: its own root, so its ticket (if the call
        # gets through) draws afresh -- the problem is worked again from the start.
        self.centre.inject_call(int(self.centre.callers.category[self._caller[tid]]))

    def _at(self, when: float, tid: int, callback) -> None:
        ev = self.env.timeout(when - self.env.now, tid)
        ev.callbacks.append(callback)

    # ------------------------------------------------------------ results
    def records(self) -> TicketRecords:
        """Ticket records as seen at the end of the run: steps planned for later
        (closure, a desk's work, a street job's end) are censored to NaN / unknown."""
        now = self.env.now
        self._hand_over_due(now)  # tickets the streets got since the last tick
        self._survey_times()
        c = {k: v.copy() for k, v in self.table.arrays().items()}
        for name in ("delivered_min", "signed_min", "closed_min"):
            c[name][c[name] > now] = np.nan
        d, row = self.draws.cols, c["row"]
        c["category"] = self.centre.callers.category[c["caller"]].copy()
        c["street"] = d["dest"][row].copy()
        c["urgency"] = d["urgency"][row].copy()
        c["district"] = np.where(c["street"] >= 0, self.city.street_district[np.maximum(c["street"], 0)], -1
                                 ).astype(np.int16)
        c["deadline_min"] = c["created_min"] + np.asarray(self._deadline_min)[c["urgency"]]
        c["resolved"] = np.where(np.isnan(c["closed_min"]), -1, d["resolved"][row]).astype(np.int8)
        survey_answers(c, d, self.t)
        return TicketRecords(
            caller=c["caller"], created_min=c["created_min"], category=c["category"], urgency=c["urgency"],
            street=c["street"], district=c["district"], deadline_min=c["deadline_min"],
            dispatched_min=c["dispatched_min"], delivered_min=c["delivered_min"], signed_min=c["signed_min"],
            closed_min=c["closed_min"], returns=c["returns"], resolved=c["resolved"],
            surveyed_min=c["surveyed_min"], reached=c["reached"], contacted=c["contacted"],
            satisfaction=c["satisfaction"],
            stations={"street": _visits(self.streets, now), "district_desk": _visits(self.district_desks, now),
                      "department": _visits([self.departments], now),
                      "centre_desk": _visits([self.centre_desk] if self.centre_desk else [], now)},
            caseworkers=np.asarray(self.caseworkers),
            engine_counts={"reviewing": sum(1 for t0 in self._review_start.values() if t0 <= now), "to_deliver": len(self._deliveries) + len(self._hand_overs),
                           "surveys_listed_later": sum(map(len, self._surveys_due.values()))},
        )


def _visits(stations: list[FcfsStation], now: float) -> dict[str, np.ndarray]:
    """Visit records of stations as flat arrays with a ``unit`` index; start and end
    after the end of the run are censored to NaN."""
    parts = [(k, s) for k, s in enumerate(stations)]
    out = {"unit": np.concatenate([np.full(len(s.arrive_min), k, np.int16) for k, s in parts] or [np.zeros(0, np.int16)]),
           "job": np.concatenate([np.frombuffer(s.visit_job, np.int64) for _, s in parts] or [np.zeros(0, np.int64)])}
    for name in ("arrive_min", "start_min", "end_min"):
        col = np.concatenate([np.frombuffer(getattr(s, name), np.float64) for _, s in parts] or [np.zeros(0)])
        col = col.copy()
        col[col > now] = np.nan
        out[name] = col
    return out


def street_caseworkers(cfg: SimConfig, city: City) -> np.ndarray:
    """Caseworker slots per street, sized to each street's expected workload.

    Expected street tickets/day = daily calls x ticket share x street share x the
    street's demand weight; workload = that x mean processing time of the queued
    urgency classes (over categories). Slots = workload / target utilisation, spread
    between streets by ``demand_elasticity`` (1: in proportion to workload; 0: the same
    for every street), times the street's ``capacity_factor`` and ``capacity.scale``,
    at least ``min_caseworkers``.
    """
    t, a = cfg.tickets, cfg.arrivals
    mean_processing_min = sum(s * t.streets.processing_for(n).mean for n, s in zip(a.categories, a.category_shares))
    mean_processing_min *= sum(u.share * u.processing_scale for u in t.streets.urgency if u.queued)
    per_day = a.daily_calls * cfg.call_center.ticket_share * t.dispatch.street_share
    workload = per_day * city.street_weight * mean_processing_min / MINUTES_PER_DAY  # busy slots on average
    e = t.streets.demand_elasticity
    spread = workload ** e * workload.mean() ** (1 - e)
    slots = spread / t.streets.target_utilisation * city.capacity_factor * t.streets.capacity_scale
    return np.maximum(np.ceil(slots), t.streets.min_caseworkers).astype(int)


def survey_answers(c: dict[str, np.ndarray], draws: dict[str, np.ndarray], t) -> None:
    """Fill ``reached``, ``contacted`` and ``satisfaction`` of the surveyed tickets in
    the columns ``c`` (vectorised): reached with the drawn chance; contacted more often
    if the street signed for the ticket in time; satisfaction from the ordered logit of
    resolved, contacted, closed on time and returned."""
    s, m = t.survey, t.survey.satisfaction
    done = ~np.isnan(c["surveyed_min"])
    row = c["row"][done]
    reached = draws["reached"][row]
    on_time_sign = (c["signed_min"][done] - c["delivered_min"][done]) <= t.streets.response_threshold_min
    p_contact = np.where(on_time_sign, s.contact_prob_on_time, s.contact_prob_late)
    contacted = draws["contact_u"][row] < p_contact
    latent = (m.intercept + m.resolved * (c["resolved"][done] == 1) + m.contacted * contacted
              + m.on_time * (c["closed_min"][done] <= c["deadline_min"][done])
              + m.returned * (c["returns"][done] > 0) + draws["satisfaction_noise"][row])
    answer = np.where(latent > 0, SATISFIED, np.where(latent > -m.basic_band, BASIC, DISSATISFIED))
    for name in ("reached", "contacted", "satisfaction"):
        c[name] = np.full(len(done), -1, dtype=np.int8)
    c["reached"][done] = reached
    c["contacted"][done] = np.where(reached, contacted, -1)
    c["satisfaction"][done] = np.where(reached, answer, -1)


def district_desk_staff(cfg: SimConfig, city: City, hours: OfficeHours | None) -> np.ndarray:
    """Dispatchers per district desk: the configured number, or (``staff: auto``) the
    fewest that keep the desk at ``target_utilisation`` of its open time, given the
    district's expected street tickets and the mean work per ticket."""
    t, a = cfg.tickets, cfg.arrivals
    if t.dispatch.district_desk_staff is not None:
        return np.full(city.n_districts, t.dispatch.district_desk_staff)
    per_day = a.daily_calls * cfg.call_center.ticket_share * t.dispatch.street_share
    district_share = np.bincount(city.street_district, weights=city.street_weight, minlength=city.n_districts)
    work_min_per_day = per_day * district_share * t.dispatch.district_work_time.mean
    if hours is None:
        open_min_per_day = float(MINUTES_PER_DAY)
    else:
        oh = t.city.office_hours
        open_min_per_day = (oh.end_h - oh.start_h) * MINUTES_PER_HOUR * len(oh.weekdays) / DAYS_PER_WEEK
    staff = work_min_per_day / (open_min_per_day * t.dispatch.district_desk_target_utilisation)
    return np.maximum(np.ceil(staff), 1).astype(int)
