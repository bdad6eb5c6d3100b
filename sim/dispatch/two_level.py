"""Two-level dispatch (两级派单): centre -> district desk -> street, as before 2019.

The centre sends a street ticket to its district (``dispatch.centre.misroute_prob``:
the wrong district, which returns it to the centre); the district's desk (its own
staff and office hours, ``dispatch.district_desk``) reads it and sends it on to a
street (``district_desk.misroute_prob``: the wrong street, which returns it to the
desk). Before the 2019 reform Beijing's tickets went this way; the extra hop is what
the reform removed.

The street gets the ticket when the desk has done with it. Streets sign for tickets
in time order (their caseworker slots are taken at signing), which a multi-server desk
does not finish them in. A timer per ticket would keep that order; cheaper, and as
exact, the ticket waits for the next callback listing tick, which hands over every
ticket due by then in time order (with the time it arrived) before it lists callbacks;
nothing else reads the streets meanwhile, and a timer's hand-over first hands over the
waiting tickets due before it. The first thing a delivered ticket sets off is its
signing, ``sign + wait`` after delivery at the earliest: the ticket waits for the tick
only if that falls after the tick; the other ones go through a timer.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.dispatch.base import DispatchPolicy
from sim.station import FcfsStation
from sim.timers import Timers

#: A ticket the district desk has done with is handed over at the next callback
#: listing tick (no event of its own) when nothing it sets off can fall due within this
#: many listing intervals of its delivery, else on time through a timer. Exact either
#: way (see the module docstring): the next tick is at most one interval away.
HAND_OVER_SLACK_TICKS = 1


class Policy(DispatchPolicy):
    label_en = "Two-level dispatch"
    label_zh = "两级派单"
    description = ("two-level dispatch (before 2019): the centre sends a street ticket to the district, whose "
                   "desk re-dispatches it to a street")
    source = "Beijing 12345 before the 2019 接诉即办 reform: centre -> district -> street"
    uses_district_desk = True

    def __init__(self, system, options):
        super().__init__(system, options)
        d = system.cfg.tickets.dispatch
        self._centre_misroute = d.centre_misroute_prob
        self._district_misroute = d.district_misroute_prob
        desk_hours = None if d.district_desk_hours == "24h" else system.office
        self.desk_staff = district_desk_staff(system.cfg, system.city, desk_hours)
        self.desks = [FcfsStation(int(n), desk_hours) for n in self.desk_staff]
        self._street_district = system.city.street_district.tolist()
        self._district_work = system.sampler(d.district_work_time.sample)
        self._interval = system.cfg.tickets.survey.batch_interval_min
        self._deliveries = Timers(system.env, self._on_delivered)  # hand-overs due on time
        self._returns_to_district = Timers(system.env, self._on_return_to_district)
        self._hand_overs: list[tuple[float, int, int]] = []  # (time, seq, ticket): at the next tick
        self._hand_over_seq = 0

    def route(self, tid: int, now: float, row: int, first: bool) -> None:
        s = self.system
        u = s.draw_views["centre_u"][row] if first else s.uniform.next()
        if u < self._centre_misroute:  # a wrong district
            s.misroute(tid, now, s.returns_to_centre)
            return
        work = s.draw_views["district_work_min"][row] if first else self._district_work.next()
        self._district_desk(tid, now, row, work, first)

    def _district_desk(self, tid: int, now: float, row: int, work_min: float, first_draw: bool) -> None:
        s = self.system
        district = self._street_district[s.draw_views["dest"][row]]
        _, end = self.desks[district].assign(tid, now, work_min)
        u = s.draw_views["district_u"][row] if first_draw else s.uniform.next()
        if u < self._district_misroute:  # a wrong street, which returns it to the desk
            s.misroute(tid, end, self._returns_to_district)
        else:
            self._hand_over(tid, end, row)

    def _hand_over(self, tid: int, at: float, row: int) -> None:
        """The street gets the ticket at ``at``: at the next listing tick, or on time by
        a timer if something it sets off could fall due before that tick."""
        interval = self._interval
        if at + self.system.draw_views["quiet_after_delivery_min"][row] > (
                math.floor(at / interval) + HAND_OVER_SLACK_TICKS) * interval:
            self._hand_over_seq += 1
            heapq.heappush(self._hand_overs, (at, self._hand_over_seq, tid))
        else:
            self._deliveries.add(at, tid)

    def hand_over_due(self, now: float) -> None:
        waiting, row_of, deliver = self._hand_overs, self.system.row_of, self.system.deliver
        while waiting and waiting[0][0] <= now:
            at, _, tid = heapq.heappop(waiting)
            deliver(tid, at, row_of(tid))

    def _on_delivered(self, tid: int) -> None:
        now = self.system.env.now
        self.hand_over_due(now)  # those due before it reach their streets first
        self.system.deliver(tid, now, self.system.row_of(tid))

    def _on_return_to_district(self, tid: int) -> None:
        s = self.system
        s.returned(tid)
        self._district_desk(tid, s.env.now, s.row_of(tid), self._district_work.next(), first_draw=False)

    def stations(self) -> dict:
        return {"district_desk": self.desks}

    def engine_counts(self) -> dict[str, int]:
        return {"to_deliver": len(self._deliveries) + len(self._hand_overs), "coordinating": 0}


def district_desk_staff(cfg, city, hours) -> np.ndarray:
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
