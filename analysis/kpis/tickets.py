"""Ticket KPIs of one replication, and the monthly per-street and per-district tables.

Every KPI counts the tickets *created* inside the measured window [warmup, horizon).
Definitions (the names are a promised interface):

- ``tickets_closed`` / ``tickets_open_at_end``: of those, closed by the end of the run / not.
- ``tickets_per_day``: throughput, tickets closed per measured day (any creation time).
- ``dispatch_delay_mean_h``: creation to delivery at the unit that works it (the centre's
  dispatch work, any district hop, returns and re-dispatch included).
- ``lead_time_mean_h``, ``lead_time_p90_h``: creation to closure, closed tickets.
- ``deadline_compliance``: closed within deadline / tickets whose deadline fell inside
  the run (a ticket still open past its deadline counts as missed).
- ``returned_share``: tickets returned (退单) at least once / tickets dispatched.
- ``response_rate``: signed for within ``streets.response_threshold_h`` of delivery,
  counted on ``streets.response_clock`` (the street's duty hours by default) /
  delivered tickets whose outcome is known (signed, or the threshold passed).
- ``survey_coverage``: callbacks made within their window / callbacks decided (made or
  missed); tickets drawn for a callback but still pending at the end are left out.
- ``resolution_rate``: citizen says solved / callbacks that reached the citizen (as
  measured: a gamed ticket that was not caught is said solved; ``true_resolution_rate``
  in the monthly city table is what was really solved).
- ``gaming_share``: callbacks that reached the citizen and heard "solved" about a problem
  that was not (a gamed ticket, sim.accountability) / callbacks that reached the citizen.
- ``satisfaction_rate``: (satisfied + w x basically satisfied) / callbacks that reached
  the citizen, w = ``survey.basic_satisfied_weight``.
- ``repeat_calls``: calls about a problem whose ticket closed unresolved (in the
  monthly tables: tickets of such calls, at the street that closed the problem).
City-wide rates cover all tickets (streets and departments); the monthly tables cover
street tickets, and say how complete each month's surveys are (``survey_pending``:
tickets drawn for a callback whose callback was not decided by the end of the run).
"""
from __future__ import annotations

import numpy as np

from sim.accountability import CAUGHT, GAMED
from sim.clock import month_bounds
from sim.ranking import RATES, assessment_counts, rates_from_counts, said_solved
from sim.records import BASIC, REPEAT, SATISFIED, CallRecords, TicketRecords
from sim.records import SURVEY_MADE as MADE
from sim.records import SURVEY_MISSED as MISSED
from sim.records import SURVEY_PENDING as PENDING

MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0

TICKET_KPIS = (
    "tickets_closed", "tickets_open_at_end", "tickets_per_day", "dispatch_delay_mean_h", "lead_time_mean_h",
    "lead_time_p90_h", "deadline_compliance", "returned_share", "response_rate", "survey_coverage",
    "resolution_rate", "satisfaction_rate", "repeat_calls", "gaming_share",
)
MONTHLY_COLUMNS = ("tickets", "signed_on_time", "responded_known", "surveyed", "contacted", "resolved",
                   "satisfied", "basically_satisfied", "response_rate", "resolution_rate", "satisfaction_rate",
                   "deadline_due", "deadline_met", "backlog", "survey_made", "survey_missed", "survey_pending",
                   "survey_coverage", "repeat_calls", "closed", "solved", "caseworkers", "gamed", "caught")
#: Columns of MONTHLY_COLUMNS that are shares (the rest are counts).
MONTHLY_SHARES = ("response_rate", "resolution_rate", "satisfaction_rate", "survey_coverage")
#: Bin edges (hours) of the lead-time histograms: fine near the 2 h and 24 h limits,
#: coarse around 7 and 15 days.
LEAD_TIME_EDGES_H = (0, 1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 144, 168, 216, 264, 312, 360, 480, 720, 1e9)


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")


def ticket_kpis(t: TicketRecords, calls: CallRecords, response_threshold_min: float,
                basic_weight: float) -> dict:
    """The city-wide ticket KPIs of one replication."""
    lo, hi = calls.warmup_min, calls.horizon_min
    mine = (t.created_min >= lo) & (t.created_min < hi)
    closed = mine & ~np.isnan(t.closed_min)
    lead_h = (t.closed_min[closed] - t.created_min[closed]) / MINUTES_PER_HOUR
    delivered = mine & ~np.isnan(t.delivered_min)
    due = mine & (t.deadline_min <= hi)
    met = due & (t.closed_min <= t.deadline_min)  # NaN (still open) compares False
    dispatched = mine & ~np.isnan(t.dispatched_min)
    responded, known = _response(t)
    reached = mine & (t.reached == 1)
    satisfied = np.count_nonzero(reached & (t.satisfaction == SATISFIED))
    basic = np.count_nonzero(reached & (t.satisfaction == BASIC))
    closed_in_window = (t.closed_min >= lo) & (t.closed_min < hi)
    return {
        "tickets_closed": int(closed.sum()),
        "tickets_open_at_end": int(np.count_nonzero(mine & np.isnan(t.closed_min))),
        "tickets_per_day": int(closed_in_window.sum()) / ((hi - lo) / MINUTES_PER_DAY),
        "dispatch_delay_mean_h": float(np.mean(t.delivered_min[delivered] - t.created_min[delivered]))
        / MINUTES_PER_HOUR if delivered.any() else float("nan"),
        "lead_time_mean_h": float(lead_h.mean()) if lead_h.size else float("nan"),
        "lead_time_p90_h": float(np.percentile(lead_h, 90)) if lead_h.size else float("nan"),
        "deadline_compliance": _ratio(met.sum(), due.sum()),
        "returned_share": _ratio(np.count_nonzero(dispatched & (t.returns > 0)), dispatched.sum()),
        "response_rate": _ratio(np.count_nonzero(mine & responded), np.count_nonzero(mine & known)),
        "survey_coverage": _ratio(np.count_nonzero(mine & (t.survey_status == MADE)),
                                  np.count_nonzero(mine & np.isin(t.survey_status, (MADE, MISSED)))),
        "resolution_rate": _ratio(np.count_nonzero(reached & said_solved(t)), reached.sum()),
        "satisfaction_rate": _ratio(satisfied + basic_weight * basic, reached.sum()),
        "repeat_calls": int(np.count_nonzero((calls.origin == REPEAT) & (calls.arrival_min >= lo)
                                             & (calls.arrival_min < hi))),
        "gaming_share": _ratio(np.count_nonzero(reached & (_gamed(t) == GAMED)), reached.sum()),
    }


def _gamed(t: TicketRecords) -> np.ndarray:
    """The ``gamed`` column (all 0 for records written before there was one)."""
    return np.zeros(len(t.created_min), np.int8) if t.gamed is None else t.gamed


def _response(t: TicketRecords) -> tuple[np.ndarray, np.ndarray]:
    """Signed within the threshold (on the response clock), and whether that is known."""
    return t.responded == 1, t.responded >= 0


def monthly_tables(t: TicketRecords, calls: CallRecords, response_threshold_min: float,
                   basic_weight: float, n_streets: int, street_district: np.ndarray,
                   n_districts: int) -> dict[str, dict[str, np.ndarray]]:
    """Per month (of ticket creation, measured window only) per street and per
    district: counts, the three rates and the backlog at the month's end.

    Returns ``{"streets": columns, "districts": columns}``; columns include ``month``
    ('YYYY-MM'), ``unit`` (street or district index) and :data:`MONTHLY_COLUMNS`.
    """
    lo, hi = calls.warmup_min, calls.horizon_min
    street_tickets = (t.street >= 0) & (t.created_min >= lo) & (t.created_min < hi)
    month_key, month_ends = _months(calls, t.created_min)
    responded, known = _response(t)
    due = t.deadline_min <= hi
    met = due & (t.closed_min <= t.deadline_min)
    reached = t.reached == 1
    closed = ~np.isnan(t.closed_min)
    caseworkers = (np.zeros(n_streets, dtype=np.int64) if t.caseworkers is None
                   else np.asarray(t.caseworkers, dtype=np.int64)[:n_streets])
    out = {"streets": [], "districts": []}
    for m, (label, end) in enumerate(month_ends.items()):
        sel = street_tickets & (month_key == m)
        st = t.street[sel].astype(np.int64)
        gamed = _gamed(t)[sel]
        counts = {
            **assessment_counts({"street": st, "responded": t.responded[sel], "reached": t.reached[sel],
                                 "resolved": t.resolved[sel], "gamed": gamed, "satisfaction": t.satisfaction[sel]},
                                n_streets),
            "contacted": np.bincount(st, reached[sel] & (t.contacted[sel] == 1), minlength=n_streets),
            "gamed": np.bincount(st, reached[sel] & (gamed == GAMED), minlength=n_streets),
            "caught": np.bincount(st, gamed == CAUGHT, minlength=n_streets),
            "deadline_due": np.bincount(st, due[sel], minlength=n_streets),
            "deadline_met": np.bincount(st, met[sel], minlength=n_streets),
            **{name: np.bincount(st, t.survey_status[sel] == code, minlength=n_streets)
               for name, code in (("survey_made", MADE), ("survey_missed", MISSED), ("survey_pending", PENDING))},
            "repeat_calls": np.bincount(st, t.repeat_of[sel] >= 0, minlength=n_streets),
            # Whether the problem was really solved (decided at closure), surveyed or not.
            "closed": np.bincount(st, closed[sel], minlength=n_streets),
            "solved": np.bincount(st, closed[sel] & (t.resolved[sel] == 1), minlength=n_streets),
            "caseworkers": _caseworkers_at(t, end, caseworkers),
        }
        at_end = min(end, hi)
        open_then = (t.street >= 0) & (t.delivered_min <= at_end) & ~(t.closed_min <= at_end)
        counts["backlog"] = np.bincount(t.street[open_then].astype(np.int64), minlength=n_streets)
        for level, index, n in (("streets", np.arange(n_streets), n_streets),
                                ("districts", street_district.astype(np.int64), n_districts)):
            agg = {k: np.bincount(index, v.astype(float), minlength=n) for k, v in counts.items()}
            agg.update(_rates(agg, basic_weight))
            agg["month"] = np.full(n, label)
            agg["unit"] = np.arange(n)
            out[level].append(agg)
    return {level: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
            for level, parts in out.items()}


def _caseworkers_at(t: TicketRecords, at_min: float, base: np.ndarray) -> np.ndarray:
    """Caseworker slots per street in force at ``at_min``: as the accountability loop
    last set them by then (``t.street_state``), else the street's own."""
    state = t.street_state
    if not state:
        return base
    published = np.asarray(state["published_min"])
    k = int(np.searchsorted(published, at_min, side="right")) - 1
    return base if k < 0 else np.asarray(state["caseworkers"][k], dtype=np.int64)[: len(base)]


def _rates(c: dict, basic_weight: float) -> dict:
    rates = rates_from_counts(c, basic_weight)  # the league table's own (sim.ranking)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            **{name: rates[:, k] for k, name in enumerate(RATES)},
            "survey_coverage": np.where(c["survey_made"] + c["survey_missed"] > 0,
                                        c["survey_made"] / (c["survey_made"] + c["survey_missed"]), np.nan),
        }


def _months(calls: CallRecords, t_min: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Index of the calendar month of each time (0 = the month the window starts in;
    -1 before it, the number of months after the last, NaN as -1), and each month's
    label -> its end in minutes from the start."""
    bounds = month_bounds(calls.start, calls.warmup_min, calls.horizon_min)
    edges = np.array([begin for _, begin, _ in bounds] + [bounds[-1][2]])
    key = np.searchsorted(edges, np.where(np.isnan(t_min), -np.inf, t_min), side="right") - 1
    return key.astype(np.int64), {label: end for label, _, end in bounds}


def month_coverage(calls: CallRecords) -> dict[str, float]:
    """Share of each calendar month inside the measured window [warmup, horizon)."""
    lo, hi = calls.warmup_min, calls.horizon_min
    return {label: max(0.0, min(end, hi) - max(begin, lo)) / (end - begin)
            for label, begin, end in month_bounds(calls.start, lo, hi)}


def lead_time_histogram(t: TicketRecords, calls: CallRecords, n_urgency: int) -> np.ndarray:
    """Counts of closed tickets (created in the window) per urgency class and lead-time
    bin (:data:`LEAD_TIME_EDGES_H`): array (classes, bins)."""
    lo, hi = calls.warmup_min, calls.horizon_min
    closed = (t.created_min >= lo) & (t.created_min < hi) & ~np.isnan(t.closed_min)
    lead_h = (t.closed_min[closed] - t.created_min[closed]) / MINUTES_PER_HOUR
    urgency = t.urgency[closed].astype(np.int64)
    edges = np.asarray(LEAD_TIME_EDGES_H)
    bins = np.clip(np.searchsorted(edges, lead_h, side="right") - 1, 0, len(edges) - 2)
    out = np.zeros((n_urgency, len(edges) - 1), dtype=np.int64)
    np.add.at(out, (urgency, bins), 1)
    return out
