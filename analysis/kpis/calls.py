"""Call-centre KPIs of one replication, city-wide and per hour of day.

Every KPI counts the calls that *arrived* inside the measured window
``[warmup, horizon)``; agent occupancy is the agents' busy time inside the window over
their time at their seats inside the window. Definitions (the names are a promised
interface):

- ``calls_offered`` / ``calls_answered`` / ``calls_abandoned``: counts in the window;
  ``calls_waiting_at_end``: still queued when the run stopped (offered = the three).
- ``abandonment_rate`` = abandoned / offered; ``p_wait`` = share of offered calls that
  waited at all; ``service_level`` = answered within ``sl_threshold_s`` / offered.
- ``asa_s``: mean wait of answered calls; ``mean_wait_s``: mean time in queue of all
  offered calls, an abandoning caller counted until it hangs up.
- ``agent_occupancy``: busy agent-time / present agent-time.
- ``tickets_created``: tickets handed on inside the window.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.kpis.stationarity import SERIES_KEY, daily_backlog
from analysis.kpis.tickets import lead_time_histogram, month_coverage, monthly_tables, ticket_kpis
from sim.clock import minutes_since_midnight, minutes_to_calendar
from sim.records import ABANDONED, ANSWERED, WAITING_AT_END, CallRecords

if TYPE_CHECKING:  # types only: importing the model would load SimPy and the whole ticket path
    from sim.config import SimConfig
    from sim.model import ReplicationRecords

SECONDS_PER_MINUTE = 60.0
MINUTES_PER_HOUR = 60.0
HOURS_PER_DAY = 24

#: KPI names in the order the CLI prints them.
CALL_KPIS = (
    "calls_offered", "calls_offered_per_day", "calls_answered", "calls_abandoned", "calls_waiting_at_end",
    "redials", "abandonment_rate", "p_wait", "service_level", "asa_s", "mean_wait_s",
    "agent_occupancy", "agents_on_duty_mean", "tickets_created", "tickets_per_day",
)
HOURLY_KPIS = (
    "calls_offered_per_day", "calls_answered_per_day", "abandonment_rate", "p_wait", "service_level",
    "asa_s", "mean_wait_s", "agents_on_duty_mean", "agent_occupancy",
)


def replication_kpis(rec: ReplicationRecords, sl_threshold_s: float) -> dict:
    """KPIs of one replication: ``{"overall": {name: value}, "hourly": {name: array(24)}}``."""
    calls = rec.calls
    in_window = (calls.arrival_min >= calls.warmup_min) & (calls.arrival_min < calls.horizon_min)
    measured_days = (calls.horizon_min - calls.warmup_min) / (HOURS_PER_DAY * MINUTES_PER_HOUR)
    t_created = rec.tickets.created_min
    tickets = int(np.count_nonzero((t_created >= calls.warmup_min) & (t_created < calls.horizon_min)))

    bin_edges = _clock_hour_edges(calls)  # clock hours, also cut at the end of warm-up
    bin_len = np.diff(bin_edges)
    busy = _busy_time_per_bin(calls, bin_edges)
    staffed = _step_integral_per_bin(calls.staff_time_min, calls.staff_agents, bin_edges)
    bin_hour = _hour_of_day(calls, bin_edges[:-1])
    measured_bin = bin_edges[:-1] >= calls.warmup_min

    columns = _CallColumns(calls)
    overall = _call_stats(columns, in_window, sl_threshold_s)
    overall.update(
        calls_offered_per_day=overall["calls_offered"] / measured_days,
        agent_occupancy=_ratio(busy[measured_bin].sum(), staffed[measured_bin].sum()),
        agents_on_duty_mean=staffed[measured_bin].sum() / bin_len[measured_bin].sum(),
        tickets_created=tickets,
        tickets_per_day=tickets / measured_days,
    )

    arrival_hour = _hour_of_day(calls, calls.arrival_min)
    hourly = {name: np.full(HOURS_PER_DAY, np.nan) for name in HOURLY_KPIS}
    for h in range(HOURS_PER_DAY):
        stats = _call_stats(columns, in_window & (arrival_hour == h), sl_threshold_s)
        sel = measured_bin & (bin_hour == h)
        exposure_min = bin_len[sel].sum()  # measured minutes that fell in this clock hour
        days = exposure_min / MINUTES_PER_HOUR if exposure_min else np.nan
        hourly["calls_offered_per_day"][h] = stats["calls_offered"] / days
        hourly["calls_answered_per_day"][h] = stats["calls_answered"] / days
        for name in ("abandonment_rate", "p_wait", "service_level", "asa_s", "mean_wait_s"):
            hourly[name][h] = stats[name]
        hourly["agents_on_duty_mean"][h] = staffed[sel].sum() / exposure_min if exposure_min else np.nan
        hourly["agent_occupancy"][h] = _ratio(busy[sel].sum(), staffed[sel].sum())
    return {"overall": overall, "hourly": hourly}


def reduce_replication(rec: ReplicationRecords, cfg: SimConfig) -> dict:
    """Everything kept of one replication: call KPIs, ticket KPIs (when tickets are
    simulated) in ``overall``, the ``hourly`` arrays, the ``monthly`` tables and each
    street's daily backlog over the measured days (``backlog_daily``, for the trend test
    of analysis.kpis.stationarity)."""
    out = replication_kpis(rec, cfg.call_center.sl_threshold_s)
    out["monthly"] = None
    if cfg.tickets is not None:
        threshold = cfg.tickets.streets.response_threshold_min
        weight = cfg.tickets.survey.basic_satisfied_weight
        out["overall"].update(ticket_kpis(rec.tickets, rec.calls, threshold, weight))
        out["monthly"] = monthly_tables(rec.tickets, rec.calls, threshold, weight, cfg.city.n_streets,
                                        cfg.city.street_district, cfg.city.n_districts)
        out["lead_time_hist"] = lead_time_histogram(rec.tickets, rec.calls, len(cfg.tickets.streets.urgency))
        out["month_coverage"] = month_coverage(rec.calls)
        out["street_state"] = rec.tickets.street_state  # the accountability loop's tables (None: no loop)
        out[SERIES_KEY] = daily_backlog(rec.tickets, rec.calls.warmup_min, rec.calls.horizon_min, cfg.city.n_streets)
    return out


def _call_stats(calls: _CallColumns, mask: np.ndarray, sl_threshold_s: float) -> dict:
    outcome = calls.outcome[mask]
    wait_s = calls.wait_s[mask]
    answered = outcome == ANSWERED
    offered = int(mask.sum())
    n_answered = int(answered.sum())
    n_abandoned = int(np.count_nonzero(outcome == ABANDONED))
    return {
        "calls_offered": offered,
        "calls_answered": n_answered,
        "calls_abandoned": n_abandoned,
        # counted, not the remainder: the CLI test checks that the three add up to offered
        "calls_waiting_at_end": int(np.count_nonzero(outcome == WAITING_AT_END)),
        "redials": int(np.count_nonzero(calls.is_redial[mask])),
        "abandonment_rate": _ratio(n_abandoned, offered),
        "p_wait": _ratio(np.count_nonzero(wait_s > 0), offered),
        "service_level": _ratio(np.count_nonzero(answered & (wait_s <= sl_threshold_s)), offered),
        "asa_s": float(wait_s[answered].mean()) if n_answered else float("nan"),
        "mean_wait_s": float(wait_s.mean()) if offered else float("nan"),
    }


class _CallColumns:
    """The derived per-call columns the statistics need, computed once."""

    def __init__(self, calls: CallRecords):
        self.outcome = calls.outcome
        self.wait_s = calls.wait_min * SECONDS_PER_MINUTE
        self.is_redial = calls.is_redial


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")


def _clock_hour_edges(calls: CallRecords) -> np.ndarray:
    """Bin edges (minutes) at every clock hour inside the run, at the end of the
    warm-up, and at the run's two ends."""
    first = (-minutes_since_midnight(calls.start)) % MINUTES_PER_HOUR
    inner = np.arange(first, calls.horizon_min, MINUTES_PER_HOUR)
    return np.unique(np.concatenate([[0.0, calls.warmup_min], inner, [calls.horizon_min]]))


def _hour_of_day(calls: CallRecords, t_min: np.ndarray) -> np.ndarray:
    _, _, minute = minutes_to_calendar(calls.start, t_min)
    return (minute // MINUTES_PER_HOUR).astype(np.int64)


def _busy_time_per_bin(calls: CallRecords, edges: np.ndarray) -> np.ndarray:
    """Agent busy minutes inside each bin: calls and back-office work, cut at bins."""
    answered = ~np.isnan(calls.answer_min)
    starts = np.concatenate([calls.answer_min[answered], calls.work_start_min])
    ends = starts + np.concatenate([calls.handle_min[answered], calls.work_min])
    return np.diff(_cumulative_overlap(np.sort(starts), edges) - _cumulative_overlap(np.sort(ends), edges))


def _cumulative_overlap(sorted_points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sum_i max(x - p_i, 0) for each x: the area under 'number of points <= t' up to x."""
    k = np.searchsorted(sorted_points, x, side="right")
    prefix = np.concatenate([[0.0], np.cumsum(sorted_points)])
    return x * k - prefix[k]


def _step_integral_per_bin(change_t: np.ndarray, level: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral of a right-continuous step function over each bin."""
    seg_len = np.diff(np.append(change_t, np.inf))
    area_before = np.concatenate([[0.0], np.cumsum(level[:-1] * seg_len[:-1])])
    idx = np.searchsorted(change_t, edges, side="right") - 1
    cum = area_before[idx] + level[idx] * (edges - change_t[idx])
    return np.diff(cum)
