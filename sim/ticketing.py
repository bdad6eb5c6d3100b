"""Tickets after the call: dispatch, streets, departments, callback survey, repeat calls.

The path of a ticket:

1. **Centre dispatch**: the centre's dispatch work, done by the call agents between
   calls (below inbound calls) or by a dispatch desk, sends the ticket on. Tickets for
   city departments and utilities go to one aggregate unit with its own capacity.
2. **The dispatch policy** (a plug-in, :mod:`sim.dispatch`: ``direct``, ``two_level``,
   ...) takes a street ticket from there to its street: the hops on the way, and what
   happens when a wrong unit got it (a return, 退单, after a review delay; or
   coordination instead).
3. **Street**: signs for the ticket (签收) after a sign time (office-hours streets when
   next open), then a caseworker slot works it (the street's own, or a pool the policy
   sets up), first come first served in order of signing; urgent classes skip the
   queue (the duty team). Closed with double feedback; solved or not is decided then
   (:mod:`sim.outcomes`: the street's quality, lateness, returns, its caseworkers' load).
4. **Callback survey (回访)** (:mod:`sim.survey`): a callback team or the agents call
   the citizen back within a window, or the callback is missed; what the citizen
   answers is worked out after the run (:func:`sim.outcomes.survey_answers`).
5. **Repeat call**: a citizen whose problem closed unresolved may call again; the new
   ticket is the same problem and goes back to the same street.

Few events by design (see docs/architecture.md): the work stations are FCFS and
computed at arrival (:class:`~sim.station.FcfsStation`), so only the steps that
interact with the call centre, or hand a ticket to a station at a later time, are
SimPy events (many behind one, :class:`~sim.timers.Timers`): the agents' dispatch and
survey work, the street's signing, a review before return, a repeat call. Times
computed ahead (closure, say) are only revealed in
the records if they fall inside the run.
"""
from __future__ import annotations

import math

import numpy as np

from sim.accountability import CAUGHT, GAMED, StreetState, month_starts, publication_min
from sim.city import City
from sim.clock import MINUTES_PER_DAY, OfficeHours
from sim.config import SimConfig
from sim.dispatch import policy_class
from sim.capacity_overrides import street_factors
from sim.engine import Engine
from sim.outcomes import Resolution, centre_experience, logit, street_quality, survey_answers
from sim.ranking import assessment_counts, classes, demand_per_10k, rank_units, rates_from_counts
from sim.records import WORK_KINDS, TicketRecords
from sim.station import FcfsStation
from sim.streams import Streams
from sim.survey import CallbackSurvey
from sim.ticket_draws import DEPARTMENT, BlockSampler, TicketDraws
from sim.timers import Timers

#: Rows the ticket table grows by at least (it grows by half its size otherwise).
_MIN_GROWTH = 1024
#: Initial ticket-table size per fresh demand call: room for repeat calls' tickets.
_TABLE_HEADROOM = 1.2


class _TicketTable:
    """Per-ticket numpy columns, preallocated and grown geometrically; the hot path
    writes through memoryviews (see :meth:`views`)."""

    # Only what the run itself decides; the rest (category, street, urgency, deadline,
    # resolved, survey answers) follows from the caller and the problem's draws and is
    # filled in after the run (:meth:`TicketSystem.records`).
    FLOAT = ("created_min", "dispatched_min", "delivered_min", "signed_min", "closed_min", "survey_due_min",
             "surveyed_min", "service_logit")
    INT = {"caller": np.int64, "row": np.int64, "returns": np.int8, "resolved": np.int8, "repeat_of": np.int64,
           "gamed": np.int8, "duty_24h": np.int8}
    #: Integer columns that start at 0 (the others at -1: unknown).
    ZERO = ("returns", "gamed")

    def __init__(self, capacity: int):
        self.size = 0
        self.cols = {name: np.full(capacity, np.nan) for name in self.FLOAT}
        self.cols.update({name: np.full(capacity, 0 if name in self.ZERO else -1, dtype=dt)
                          for name, dt in self.INT.items()})

    @property
    def capacity(self) -> int:
        return len(self.cols["created_min"])

    def grow(self) -> None:
        """Half as many rows again (the caller renews its views)."""
        extra = max(self.capacity // 2, _MIN_GROWTH)
        for name, col in self.cols.items():
            fill = np.nan if name in self.FLOAT else (0 if name in self.ZERO else -1)
            self.cols[name] = np.concatenate([col, np.full(extra, fill, dtype=col.dtype)])

    def views(self) -> dict[str, memoryview]:
        return {name: memoryview(col) for name, col in self.cols.items()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: col[: self.size] for name, col in self.cols.items()}


class TicketSystem:
    """The ticket sink of the call centre (``submit``), and everything downstream."""

    def __init__(self, env: Engine, cfg: SimConfig, city: City, streams: Streams):
        self.env, self.cfg, self.city = env, cfg, city
        t = cfg.tickets
        self.t = t
        self.table: _TicketTable | None = None
        self.draws: TicketDraws | None = None
        self.centre = None
        self._streams = streams
        oh = t.city.office_hours
        self.office = OfficeHours(cfg.start, cfg.horizon_min, oh.start_h, oh.end_h, oh.weekdays)
        self._redispatch_rng = streams["redispatch"]
        self._centre_work = self.sampler(t.dispatch.centre_work_time.sample)
        self.review = self.sampler(t.dispatch.review_time.sample)
        self.uniform = self.sampler(lambda g, n: g.random(n))
        self._deadline_min = [u.deadline_min for u in t.streets.urgency]
        self._review_start: dict[int, float] = {}  # ticket -> when a wrong unit got it
        self.returns_to_centre = Timers(env, self._on_return_to_centre)

        # The dispatch policy: its own stations and steps (see sim/dispatch/base.py).
        self.policy = policy_class(t.dispatch.policy)(self, t.dispatch.options)
        self._route = self.policy.route
        self.caseworkers = street_caseworkers(cfg, city)
        self.caseworker_kind, self.caseworker_stations, pool_of = self.policy.caseworker_pools(self.caseworkers)
        self._pool_of = np.asarray(pool_of, dtype=np.int64)
        self._street_station = [self.caseworker_stations[k] for k in pool_of]
        self._work_scale = float(self.policy.processing_scale)
        self.departments = FcfsStation(t.departments.servers, keep_visits=False)
        self.centre_desk = (FcfsStation(t.dispatch.centre_desk_staff)
                            if t.dispatch.centre_worker == "desk" else None)
        self._dispatch_after_call = t.dispatch.centre_worker == "after_call"
        if self._dispatch_after_call:
            # Read by the call centre: the agent dispatches the ticket right after the call.
            self.after_call_min = self._after_call_min
        self._street_24h = city.street_24h.tolist()
        self.survey = CallbackSurvey(self)
        self.resolution = Resolution(t, street_quality(cfg.seed, city.n_streets, t.streets.resolution.quality_sd_logit))
        # The accountability loop (sim/accountability.py): each street's state, set from
        # the monthly league tables when they have consequences.
        self.state = StreetState(cfg.accountability, self.caseworkers, cfg.ranking.weights if cfg.ranking else None)
        self.resolution.set_effort(self.state.effort)
        self._gaming = self.state.gaming.tolist()
        self._service = self.state.service.tolist()
        self._detect = self.state.detect_prob().tolist()
        self._gaming_u = self.sampler(lambda g, n: g.random(n), streams["accountability"])
        self._loop_acts = cfg.accountability.feedback  # streets' care and gaming only under the loop
        self._published: list[dict] = []  # the league tables the loop acted on, with the state they set
        self._signings = Timers(env, self._on_signed)  # queued street tickets: to a caseworker slot when signed
        self._repeat_calls = Timers(env, self._on_repeat_call)
        self._repeat_of_root: dict[int, int] = {}  # a repeat call's caller -> the ticket it is about

    @property
    def policy_rng(self):
        """The dispatch policy's own random stream (moves no other part of the model)."""
        return self._streams["dispatch_policy"]

    def sampler(self, draw, rng=None) -> BlockSampler:
        """Values of ``draw(generator, n)`` one by one, drawn in blocks from ``rng``
        (default: the stream of the steps after a return)."""
        return BlockSampler(self._redispatch_rng if rng is None else rng, draw)

    def row_of(self, tid: int) -> int:
        """Row of ticket ``tid``'s problem in the draws."""
        return self._row[tid]

    def attach(self, centre) -> None:
        """Connect the call centre (after it drew its callers): its agents do the
        dispatch and survey work, and repeat calls arrive there."""
        self.centre = centre
        c, n = centre.callers, centre._n_fresh
        self.draws = TicketDraws(self.cfg, self.city, self._streams, c.is_demand[:n], c.category[:n],
                                 adjust=self.policy.adjust_draws)
        self.table = _TicketTable(capacity=int(self.draws.size * _TABLE_HEADROOM) + _MIN_GROWTH)
        self._bind_views()
        self._bind_draws()
        self._n_fresh, self._fresh_row = n, self.draws.fresh_rows()
        if self._dispatch_after_call:
            centre.add_after_call_work(self.draws.fresh_column("centre_work_min", fill=0.0))
        self.env.process(self._ticks())
        if self.cfg.accountability.feedback:
            self.env.process(self._accountability())

    def column(self, name: str) -> memoryview:
        """Fast view of the ticket table's column ``name`` (renew after a ``submit``)."""
        return self._v[name]

    def _bind_views(self) -> None:
        """Fast views of the ticket table (again after it grew)."""
        v = self.table.views()
        self._v = v
        self._capacity = self.table.capacity
        self._created, self._dispatched = v["created_min"], v["dispatched_min"]
        self._delivered, self._signed, self._closed = v["delivered_min"], v["signed_min"], v["closed_min"]
        self._row, self._returns, self._caller = v["row"], v["returns"], v["caller"]
        self._resolved, self._repeat_of = v["resolved"], v["repeat_of"]
        self._gamed, self._duty, self._service_logit = v["gamed"], v["duty_24h"], v["service_logit"]
        self.survey.bind_views()

    def _bind_draws(self) -> None:
        """Fast views of the draws the path reads per ticket (again after they grew)."""
        d = self.draws.views()
        self.draw_views = d
        self._dest, self._queued_row, self._sign, self._processing = (
            d["dest"], d["queued"], d["sign_min"], d["processing_min"])
        self._wait = d["wait_min"]
        self._survey_after, self._repeat_after = d["survey_after_min"], d["repeat_after_min"]
        self._urgency, self._resolve_u, self._resolve_logit = d["urgency"], d["resolve_u"], d["resolve_logit"]
        self._solved_anyway = d["solved_anyway"]

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
        return self.draw_views["centre_work_min"][row]

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
        if root >= self._n_fresh and self._repeat_of_root:
            previous = self._repeat_of_root.pop(root, None)
            if previous is not None:
                self._same_problem(tid, previous, row)
        if self._dispatch_after_call:
            self._dispatched[tid] = now = self.env.now
            self._forward(tid, now, row, True)
        else:
            self._centre_dispatch(tid, self.draw_views["centre_work_min"][row], time_min)

    def _same_problem(self, tid: int, previous: int, row: int) -> None:
        """Ticket ``tid`` is a repeat call about ticket ``previous``'s problem: the same
        unit, urgency, work and base chance of a solution; its chance events (signing,
        the resolution draw, the survey) stay its own."""
        self._repeat_of[tid] = previous
        cols, before = self.draws.cols, self._row[previous]
        for name in ("dest", "urgency", "queued", "processing_min", "resolve_logit"):
            cols[name][row] = cols[name][before]

    def _centre_dispatch(self, tid: int, work_min: float, now: float) -> None:
        """Queue the centre's dispatch work: for the agents (between calls; also a
        re-dispatch after a return when they dispatch after the call) or the desk."""
        if self.centre_desk is None:
            self.centre.submit_work(work_min, self._on_centre_done, tid, WORK_KINDS["dispatch"])
        else:
            _, end = self.centre_desk.assign(tid, now, work_min)
            self._at(end, tid, self._on_centre_desk_done)

    def _on_centre_desk_done(self, tid: int) -> None:
        self._on_centre_done(tid, self.env._now)

    def _on_centre_done(self, tid: int, now: float) -> None:
        """The centre dispatched ticket ``tid`` (first time, or again after a return)."""
        first = math.isnan(self._dispatched[tid])
        if first:
            self._dispatched[tid] = now
        self._forward(tid, now, self._row[tid], first)

    def _forward(self, tid: int, now: float, row: int, first: bool) -> None:
        """The centre dispatched ticket ``tid`` at ``now``: a department ticket goes to
        the departments and on to its planned closure; a street ticket to the dispatch
        policy (which brings it to :meth:`deliver`). The first dispatch uses the
        problem's own draws (CRN), a re-dispatch fresh ones."""
        if self._dest[row] == DEPARTMENT:
            self._delivered[tid] = self._signed[tid] = now
            _, end = self.departments.assign(tid, now, self._processing[row])
            self._plan_after_closure(tid, end, row, 0.0)
        else:
            self._route(tid, now, row, first)

    def deliver(self, tid: int, now: float, row: int) -> None:
        """Street ticket ``tid`` reaches its street at ``now`` and goes as far as it can
        without waiting: the street signs for it (签收) when on duty plus the sign time;
        a queued class then takes the next caseworker slot in order of signing (and,
        after any wait a policy sets, is worked), an urgent one is worked at once."""
        street = self._dest[row]
        self._delivered[tid] = now
        on_duty = self._street_24h[street]
        self._duty[tid] = on_duty
        opens = now if on_duty else self.office.next_open(now)
        self._signed[tid] = signed = opens + self._sign[row]
        if self._queued_row[row]:
            self._signings.add(signed + self._wait[row], tid)
        else:
            self._plan_after_closure(tid, signed + self._wait[row] + self._processing[row], row, 0.0)

    def _on_signed(self, tid: int) -> None:
        """Queued ticket ``tid`` is signed for (and ready): it takes the street's next
        caseworker slot, first come first served in order of signing."""
        now, row = self.env.now, self._row[tid]
        start, end = self._street_station[self._dest[row]].assign(tid, now, self._processing[row] * self._work_scale)
        self._plan_after_closure(tid, end, row, start - now)

    def _plan_after_closure(self, tid: int, end: float, row: int, queue_min: float) -> None:
        """Closed at ``end`` with feedback to citizen and centre: solved or not
        (:class:`~sim.outcomes.Resolution`; ``queue_min``: how long it waited for a
        free caseworker); its callback and, if unsolved, any repeat call are planned
        from then (NaN: none)."""
        self._closed[tid] = end
        late = end > self._created[tid] + self._deadline_min[self._urgency[row]]
        street = self._dest[row]
        solved = self._solved_anyway[row] or self.resolution.solved(
            self._resolve_u[row], self._resolve_logit[row], street, late, self._returns[tid] > 0, queue_min)
        self._resolved[tid] = solved
        if self._loop_acts and street >= 0:  # the accountability loop's care and gaming
            if self._service[street]:
                self._service_logit[tid] = self._service[street]  # in its callback's answer
            if not solved and self._gaming[street] > 0.0 and self._gaming_u.next() < self._gaming[street]:
                self._gamed[tid] = CAUGHT if self._gaming_u.next() < self._detect[street] else GAMED
        after = self._survey_after[row]
        if after == after:
            self.survey.plan(tid, end + after)
        after = self._repeat_after[row]
        if after == after and not solved:
            self._repeat_calls.add(end + after, tid)

    def misroute(self, tid: int, at: float, back: Timers) -> None:
        """Sent to a wrong unit at ``at`` (now, or when a desk finishes); it reviews
        the ticket and hands it to ``back`` when the review ends."""
        self._review_start[tid] = at
        back.add(at + self.review.next(), tid)

    def returned(self, tid: int) -> None:
        """A wrong unit has returned ticket ``tid`` (退单): its review is over."""
        del self._review_start[tid]
        self._returns[tid] += 1

    def _on_return_to_centre(self, tid: int) -> None:
        self.returned(tid)
        self._centre_dispatch(tid, self._centre_work.next(), self.env.now)

    def _ticks(self):
        """Every ``batch_interval_min``: the dispatch policy's due hand-overs, then the
        callbacks due (:class:`~sim.survey.CallbackSurvey`)."""
        interval, tick = self.t.survey.batch_interval_min, 0
        while True:
            yield self.env.timeout(interval)
            tick += 1
            self.policy.hand_over_due(self.env.now)  # before anything is listed
            self.survey.tick(tick, self.env.now)

    # ------------------------------------------------------------ the accountability loop
    def _accountability(self):
        """Month by month: at ``publish_day`` of the next month, draw up the month's
        league table from what is known then, and set each street's state from it."""
        acc, prev = self.cfg.accountability, None
        for label, lo, hi in month_starts(self.cfg.start, self.cfg.horizon_min, self.cfg.warmup_min):
            at = publication_min(hi, acc.publish_day)
            if at >= self.cfg.horizon_min:
                return
            yield self.env.timeout(at - self.env.now)
            prev = self._publish(label, lo, hi, prev)

    def assessment(self, lo: float, hi: float, now: float) -> dict[str, np.ndarray]:
        """Per street, the league table's counts (:func:`sim.ranking.assessment_counts`)
        of the street tickets created in [lo, hi), as known at ``now``, and ``caught``:
        gamed tickets caught among them."""
        created = self.table.cols["created_min"][: self.table.size]
        street = self.draws.cols["dest"][self.table.cols["row"][: self.table.size]]
        sel = np.flatnonzero((created >= lo) & (created < hi) & (street >= 0))
        c = self._columns(now, sel)
        counts = assessment_counts(c, self.city.n_streets)
        counts["caught"] = np.bincount(c["street"], c["gamed"] == CAUGHT, minlength=self.city.n_streets)
        return counts

    def _publish(self, label: str, lo: float, hi: float, prev: dict | None) -> dict:
        """Month ``label``'s table, now (the same scoring, tie rule and classes as the
        reported tables: sim.ranking), and the state it sets from now on."""
        now, rank_cfg = self.env.now, self.cfg.ranking
        counts = self.assessment(lo, hi, now)
        rates = rates_from_counts(counts, self.t.survey.basic_satisfied_weight)
        units = np.arange(self.city.n_streets)
        scores, ranks = rank_units(rates, rank_cfg.weights, counts["surveyed"], rank_cfg.min_surveys, units)
        demand = demand_per_10k(counts["tickets"], self.city.street_population_10k)
        member = classes(ranks, scores, None if prev is None else prev["rank"],
                         None if prev is None else prev["score"], demand, rank_cfg, counts["surveyed"])
        self.state.update(ranks, member, counts["caught"])
        self._apply_state(now)
        table = {"month": label, "published_min": now, "rank": ranks, "score": scores, "classes": member,
                 "caught": counts["caught"], **self.state.snapshot()}
        self._published.append(table)
        return table

    def _apply_state(self, now: float) -> None:
        """Put the streets' state to work from ``now``: caseworker slots, effort,
        24-hour duty, gaming and its detection."""
        st = self.state
        slots = np.bincount(self._pool_of, weights=st.caseworkers, minlength=len(self.caseworker_stations))
        for station, n in zip(self.caseworker_stations, slots.astype(np.int64)):
            station.resize(int(n), now)
        self.resolution.set_effort(st.effort)
        self._street_24h = (self.city.street_24h | st.duty_24h).tolist()
        self._gaming = st.gaming.tolist()
        self._service = st.service.tolist()
        self._detect = st.detect_prob().tolist()

    def _on_repeat_call(self, tid: int) -> None:
        # A new call about the same problem (its own root): its ticket, if the call gets
        # through, goes back to the same street (see _same_problem).
        caller = self.centre.inject_call(int(self.centre.callers.category[self._caller[tid]]))
        self._repeat_of_root[caller] = tid

    def _at(self, when: float, tid: int, callback) -> None:
        """``callback(tid)`` at simulated time ``when`` (a plain call: sim.engine)."""
        self.env.call_in(when - self.env._now, callback, tid)

    # ------------------------------------------------------------ results
    def _stations(self) -> dict[str, list[FcfsStation]]:
        """Every work station by kind (the kinds the checks read are always there)."""
        return {"street": [], "district_desk": [], self.caseworker_kind: self.caseworker_stations,
                "department": [self.departments], "centre_desk": [self.centre_desk] if self.centre_desk else [],
                "survey_team": [self.survey.team] if self.survey.team else [], **self.policy.stations()}

    def _columns(self, now: float, sel: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The ticket columns (of tickets ``sel``, default all) as known at ``now``:
        steps planned for later (closure, a desk's work, a street job's end) censored
        to NaN / unknown, responses, callbacks and their answers worked out."""
        c = {k: (v.copy() if sel is None else v[sel]) for k, v in self.table.arrays().items()}
        for name in ("delivered_min", "signed_min", "closed_min"):
            c[name][c[name] > now] = np.nan
        d, row = self.draws.cols, c["row"]
        c["category"] = self.centre.callers.category[c["caller"]].copy()
        c["street"] = d["dest"][row].copy()
        c["urgency"] = d["urgency"][row].copy()
        c["district"] = np.where(c["street"] >= 0, self.city.street_district[np.maximum(c["street"], 0)], -1
                                 ).astype(np.int16)
        c["deadline_min"] = c["created_min"] + np.asarray(self._deadline_min)[c["urgency"]]
        open_now = np.isnan(c["closed_min"])
        c["resolved"][open_now] = -1
        c["gamed"][open_now] = 0
        self._responses(c, now)
        self.survey.results(c, d["surveyed"][row], now, sel)
        waited, attempts = centre_experience(self.centre.callers, self.centre.callers.size, now)
        root = self.centre.callers.root[c["caller"]]
        survey_answers(c, d, self.t, waited[root], attempts[root])
        return c

    def records(self) -> TicketRecords:
        """Ticket records as seen at the end of the run (:meth:`_columns`), with the
        stations' visits and the league tables the accountability loop acted on."""
        now = self.env.now
        self.policy.hand_over_due(now)  # tickets the streets got since the last tick
        c = self._columns(now)
        return TicketRecords(
            caller=c["caller"], created_min=c["created_min"], category=c["category"], urgency=c["urgency"],
            street=c["street"], district=c["district"], deadline_min=c["deadline_min"],
            dispatched_min=c["dispatched_min"], delivered_min=c["delivered_min"], signed_min=c["signed_min"],
            closed_min=c["closed_min"], returns=c["returns"], resolved=c["resolved"],
            surveyed_min=c["surveyed_min"], reached=c["reached"], contacted=c["contacted"],
            satisfaction=c["satisfaction"], response_min=c["response_min"], responded=c["responded"],
            survey_status=c["survey_status"], repeat_of=c["repeat_of"], gamed=c["gamed"],
            duty_24h=c["duty_24h"], street_state=_stack_published(self._published),
            stations={kind: _visits(stations, now) for kind, stations in self._stations().items()},
            caseworkers=np.asarray(self.caseworkers),
            engine_counts={"reviewing": sum(1 for t0 in self._review_start.values() if t0 <= now),
                           **self.policy.engine_counts(), "to_sign": len(self._signings),
                           "surveys_listed_later": self.survey.listed_later},
        )

    def _responses(self, c: dict[str, np.ndarray], now: float) -> None:
        """``response_min``: delivery to signing on the response clock (the street's duty
        hours, or the wall clock; NaN if not signed by the end), and ``responded``: 1
        signed within the threshold, 0 not (signed late, or the threshold passed
        unsigned), -1 unknown (not delivered, or unsigned still inside the threshold)."""
        delivered, signed = c["delivered_min"], c["signed_min"]
        until = np.where(np.isnan(signed), now, signed)
        lag = until - delivered
        if self.t.streets.response_clock == "duty_hours":
            office = (c["street"] >= 0) & (c["duty_24h"] == 0) & ~np.isnan(delivered)
            lag[office] = self.office.open_minutes_between(delivered[office], until[office])
        threshold = self.t.streets.response_threshold_min
        c["response_min"] = np.where(np.isnan(signed), np.nan, lag)
        c["responded"] = np.where(np.isnan(delivered), -1, np.where(
            ~np.isnan(signed), np.where(lag <= threshold, 1, 0), np.where(lag > threshold, 0, -1))).astype(np.int8)


def _stack_published(tables: list[dict]) -> dict | None:
    """The loop's monthly tables as (months x streets) arrays (None: no loop ran)."""
    if not tables:
        return None
    out = {"month": [t["month"] for t in tables], "published_min": np.array([t["published_min"] for t in tables])}
    for key in tables[0]:
        if key not in out and key != "classes":
            out[key] = np.stack([t[key] for t in tables])
    for name in tables[0]["classes"]:
        out[f"is_{name}"] = np.stack([t["classes"][name] for t in tables])
    return out


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


def repeat_load_factor(cfg: SimConfig, category: str) -> float:
    """Street tickets per fresh street ticket of ``category`` once repeat calls come
    back: a problem closed unsolved is called about again with ``repeat.prob``, and so
    on, so the load is 1 / (1 - prob x (1 - p)), with p the chance the category's
    problem is solved at the streets' start (its ``resolve_prob`` shifted by
    ``accountability.start_effort_logit``: an average street at its target load, on
    time). Per category, because the hard problems (long to work, rarely solved) are
    the ones that come back. Sizing caseworkers to fresh demand alone left the streets'
    backlog growing for good."""
    t = cfg.tickets
    x = float(logit(t.streets.resolve_prob_for(category))) + cfg.accountability.start_effort_logit
    return 1.0 / (1.0 - t.repeat.prob * (1.0 - 1.0 / (1.0 + math.exp(-x))))


def street_caseworkers(cfg: SimConfig, city: City) -> np.ndarray:
    """Caseworker slots per street, sized to each street's expected workload.

    Expected street tickets/day = daily calls x ticket share x street share x the
    street's demand weight; workload = that x mean processing time of the queued
    urgency classes (over categories, each times its repeat-call load,
    :func:`repeat_load_factor`). Slots = workload / target utilisation, spread
    between streets by ``demand_elasticity`` (1: in proportion to workload; 0: the same
    for every street), times the street's ``capacity_factor``, its district's
    ``capacity.district_factor`` and its own ``capacity.street_factor``
    (sim/capacity_overrides.py) and ``capacity.scale``, at
    least ``min_caseworkers``.
    """
    t, a = cfg.tickets, cfg.arrivals
    mean_processing_min = sum(s * t.streets.processing_for(n).mean * repeat_load_factor(cfg, n)
                              for n, s in zip(a.categories, a.category_shares))
    mean_processing_min *= sum(u.share * u.processing_scale for u in t.streets.urgency if u.queued)
    per_day = a.daily_calls * cfg.call_center.ticket_share * t.dispatch.street_share
    workload = per_day * city.street_weight * mean_processing_min / MINUTES_PER_DAY  # busy slots on average
    e = t.streets.demand_elasticity
    spread = workload ** e * workload.mean() ** (1 - e)
    slots = spread / t.streets.target_utilisation * city.capacity_factor * t.streets.capacity_scale
    if t.streets.district_factor or t.streets.street_factor:
        slots = slots * street_factors(t.streets.district_factor, t.streets.street_factor, city)
    return np.maximum(np.ceil(slots), t.streets.min_caseworkers).astype(int)
