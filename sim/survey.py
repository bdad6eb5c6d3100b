"""The callback survey (回访): which closed tickets are called back, by whom, when.

Which tickets are surveyed is drawn per ticket before the run (``survey.share``,
common random numbers); the callback falls due ``survey.delay`` after closure and is
listed every ``batch_interval_min`` (no event per callback). Citizens are called only
between ``callback_hours``. Who makes the callbacks is ``survey.staffing``:

- ``team``: a callback team of its own (``team_agents``, or sized to the expected
  callbacks), first come first served in order of listing. Who is surveyed then does
  not depend on how busy the call agents are.
- ``shared``: the call agents, between calls and below the dispatch work, a few
  callbacks per job (``callbacks_per_job``); short of agents, callbacks wait.

A callback not made within ``window_h`` of falling due is **missed**: counted as not
surveyed (``survey_coverage`` = made / decided). The team skips a callback it could
only start after its window; the agents' late callbacks are dropped after the run.
Status per ticket (:data:`NOT_DRAWN`, :data:`PENDING`, :data:`MADE`, :data:`MISSED`):
pending means the run ended before it was decided (not yet closed, or still in its
window), which is how a month whose surveys are incomplete is recognised.
"""
from __future__ import annotations

import math
from array import array
from math import ceil
from collections import defaultdict

import numpy as np

from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY, MINUTES_PER_HOUR, OfficeHours, minutes_since_midnight
from sim.records import SURVEY_MADE as MADE
from sim.records import SURVEY_MISSED as MISSED
from sim.records import SURVEY_NOT_DRAWN as NOT_DRAWN
from sim.records import SURVEY_PENDING as PENDING
from sim.records import WORK_KINDS
from sim.station import FcfsStation

NAN = math.nan


def survey_team_size(cfg) -> int:
    """Agents of a callback team sized to the expected callbacks: tickets per day x
    share x mean work, over the calling minutes of a day x target utilisation."""
    s = cfg.tickets.survey
    if s.team_agents is not None:
        return s.team_agents
    per_day = cfg.arrivals.daily_calls * cfg.call_center.ticket_share * s.share
    calling_min = (s.callback_end_h - s.callback_start_h) * MINUTES_PER_HOUR
    return max(1, math.ceil(per_day * s.work_time.mean / (calling_min * s.team_target_utilisation)))


class CallbackSurvey:
    """Callbacks of one replication: ``plan`` one when a ticket closes, ``tick`` every
    listing interval, ``status`` after the run."""

    def __init__(self, system):
        self.system = system
        cfg = system.cfg
        s = cfg.tickets.survey
        self._s = s
        self._interval = s.batch_interval_min
        self._buckets: defaultdict[int, list[int]] = defaultdict(list)  # listing tick -> tickets due by then
        self._waiting: list[int] = []  # due, waiting for calling hours
        self._minute0 = minutes_since_midnight(cfg.start)
        if s.staffing == "team":
            every_day = tuple(range(DAYS_PER_WEEK))
            hours = OfficeHours(cfg.start, cfg.horizon_min, s.callback_start_h, s.callback_end_h, every_day)
            self.team = FcfsStation(survey_team_size(cfg), hours)
        else:
            self.team = None
            # Callback lists handed to the agents, one job each: their tickets (flat), where
            # each job's tickets begin, and when the agent finished it (NaN: not yet).
            self._job_tickets, self._job_start, self._job_end = array("q"), array("q"), array("d")

    def bind_views(self) -> None:
        """Fast view of the ticket table's due times (again after the table grew)."""
        self._due = self.system.column("survey_due_min")

    def plan(self, tid: int, due: float) -> None:
        """Ticket ``tid`` closed; its callback falls due at ``due``."""
        self._due[tid] = due
        self._buckets[ceil(due / self._interval)].append(tid)

    def tick(self, tick: int, now: float) -> None:
        """Listing tick ``tick`` at ``now``: hand the callbacks due by now to whoever
        makes them (only in calling hours: citizens are not called at night)."""
        self._waiting.extend(self._buckets.pop(tick, ()))
        hour = ((self._minute0 + now) % MINUTES_PER_DAY) / MINUTES_PER_HOUR
        if not self._waiting or not self._s.callback_start_h <= hour < self._s.callback_end_h:
            return
        release, self._waiting = self._waiting, []
        if self.team is not None:
            self._to_team(release, now)
        else:
            self._to_agents(release)

    def _to_team(self, release: list[int], now: float) -> None:
        work = self._work_min(release).tolist()
        window = self._s.window_min
        due_at, made_at = self.system.column("survey_due_min"), self.system.column("surveyed_min")
        # a callback that could only be made after its window is not taken: missed
        starts = self.team.assign_many(release, now, work, [due_at[tid] + window for tid in release])
        for tid, start in zip(release, starts):
            if start == start:  # not NaN: taken
                made_at[tid] = start

    def _to_agents(self, release: list[int]) -> None:
        """A few callbacks per job (``callbacks_per_job``): an agent works through a
        short list before looking at the call queue again."""
        per_job, kind = self._s.callbacks_per_job, WORK_KINDS["survey"]
        starts = range(0, len(release), per_job)
        first_job = len(self._job_end)
        self._job_start.extend([len(self._job_tickets) + k for k in starts])
        self._job_tickets.extend(release)
        self._job_end.extend([NAN] * len(starts))
        centre = self.system.centre
        for job, job_min in enumerate(np.add.reduceat(self._work_min(release), starts).tolist(), start=first_job):
            centre.submit_work(job_min, self._on_job_done, job, kind)

    def _on_job_done(self, job: int, now: float) -> None:
        """The list's callbacks were made one after another, ending ``now`` (when each
        was made is worked out after the run, :meth:`_agents_made_min`)."""
        self._job_end[job] = now

    def _work_min(self, tickets: list[int]) -> np.ndarray:
        s = self.system
        return s.draws.cols["survey_work_min"][s.table.cols["row"][tickets]]

    @property
    def listed_later(self) -> int:
        """Callbacks due after the last tick or waiting for calling hours."""
        return sum(map(len, self._buckets.values())) + len(self._waiting)

    # ------------------------------------------------------------ after the run
    def results(self, c: dict[str, np.ndarray], sampled: np.ndarray, now: float,
                sel: np.ndarray | None = None) -> None:
        """Set ``surveyed_min`` (NaN: no callback made in its window) and add
        ``survey_status`` in the ticket columns ``c`` (copies of the table's, of the
        tickets ``sel``, default all); ``sampled``: drawn for a callback."""
        made_min, due = c["surveyed_min"], c["survey_due_min"]
        if self.team is None:
            if sel is None:
                self._agents_made_min(made_min)
            else:
                every = np.full(self.system.table.size, np.nan)
                self._agents_made_min(every)
                made_min[:] = every[sel]
        made_min[made_min > now] = np.nan
        made = ~np.isnan(made_min) & (made_min <= due + self._s.window_min)
        made_min[~made] = np.nan
        missed = ~made & (due + self._s.window_min <= now)
        status = np.where(made, MADE, np.where(missed, MISSED, PENDING))
        c["survey_status"] = np.where(sampled, status, NOT_DRAWN).astype(np.int8)

    def _agents_made_min(self, out: np.ndarray) -> None:
        """When each callback the agents made was made: its list ended when the agent
        finished, and the callbacks were made one after another in list order."""
        tid = np.frombuffer(self._job_tickets, dtype=np.int64)
        bounds = np.append(np.frombuffer(self._job_start, dtype=np.int64), len(tid))  # job k: [b_k, b_k+1)
        job = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        end = np.frombuffer(self._job_end, dtype=np.float64)[job]
        work = self._work_min(tid)
        cumulative = np.cumsum(work)
        job_total_to = cumulative[bounds[1:] - 1][job]  # up to the job's last entry
        done = ~np.isnan(end)
        out[tid[done]] = (end - (job_total_to - cumulative))[done]
