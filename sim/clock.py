"""The simulation clock: minutes from the scenario start, and the calendar behind them."""
from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

import numpy as np

MINUTES_PER_DAY = 1440
MINUTES_PER_HOUR = 60
#: The window [lo, hi) ends just before ``hi``: its last month is the one holding
#: ``hi`` minus this (a rounding margin, not a modelling choice).
MONTH_END_EPSILON_MIN = 1e-6
DAYS_PER_WEEK = 7
SECONDS_PER_MINUTE = 60
#: Office openings are listed this many days past the end of the run, so a ticket
#: delivered on the last Friday evening still finds the next opening (a long weekend).
OPENINGS_MARGIN_DAYS = 8


def minutes_since_midnight(t: datetime) -> float:
    """Minutes since midnight of the date-time ``t`` (seconds and microseconds included)."""
    return t.hour * MINUTES_PER_HOUR + t.minute + (t.second + t.microsecond / 1e6) / SECONDS_PER_MINUTE


def minutes_after(start: datetime, t: datetime) -> float:
    """Simulation time of the date-time ``t`` in a run that starts at ``start``."""
    return (t - start).total_seconds() / SECONDS_PER_MINUTE


def minutes_to_calendar(start: datetime, t_min: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekday (0=Monday), month (0=January) and minute of the day of times ``t_min``
    minutes after ``start`` (a naive local date-time). Exact in floating point: no
    rounding to whole seconds."""
    absolute = minutes_since_midnight(start) + np.asarray(t_min, dtype=float)
    day_offset = np.floor(absolute / MINUTES_PER_DAY)
    minute_of_day = absolute - day_offset * MINUTES_PER_DAY
    days = np.datetime64(start.date(), "D") + day_offset.astype(np.int64)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    return weekday, month, minute_of_day


def month_bounds(start: datetime, lo_min: float, hi_min: float) -> list[tuple[str, float, float]]:
    """Every calendar month that overlaps [``lo_min``, ``hi_min``) minutes after
    ``start`` (a naive local date-time), as (label 'YYYY-MM', begin, end) in minutes
    from ``start``, exact (a start with seconds included); the first and last may reach
    outside the interval. One place for month arithmetic: the monthly tables and the
    accountability loop's months."""
    def first_of_month_at(t_min: float) -> datetime:
        t = start + timedelta(minutes=t_min)
        return datetime(t.year, t.month, 1)

    def next_month(m: datetime) -> datetime:
        return datetime(m.year + m.month // 12, m.month % 12 + 1, 1)

    out, month, last = [], first_of_month_at(lo_min), first_of_month_at(hi_min - MONTH_END_EPSILON_MIN)
    while month <= last:
        following = next_month(month)
        out.append((f"{month.year:04d}-{month.month:02d}", minutes_after(start, month), minutes_after(start, following)))
        month = following
    return out


class OfficeHours:
    """When an office-hours unit is open: on ``weekdays`` (0 = Monday), from ``start_h``
    to ``end_h`` o'clock.

    Built once per run for its horizon (a short list of open intervals), so "when does
    it next open?" is a bisection, not a calendar computation.
    """

    def __init__(self, start: datetime, horizon_min: float, start_h: float, end_h: float,
                 weekdays: tuple[int, ...]):
        days = int(np.ceil(horizon_min / MINUTES_PER_DAY)) + OPENINGS_MARGIN_DAYS
        first_midnight = -minutes_since_midnight(start)
        midnights = first_midnight + MINUTES_PER_DAY * np.arange(days)
        weekday, _, _ = minutes_to_calendar(start, midnights)
        keep = np.isin(weekday, weekdays)
        self.opens: list[float] = (midnights[keep] + start_h * MINUTES_PER_HOUR).tolist()
        self.closes: list[float] = (midnights[keep] + end_h * MINUTES_PER_HOUR).tolist()

    def next_open(self, t: float) -> float:
        """``t`` if open at ``t``, else the next opening time (inf if none in the run)."""
        k = bisect_right(self.closes, t)
        if k == len(self.opens):
            return float("inf")
        return max(t, self.opens[k])

    def open_minutes_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Minutes the unit is open between times ``a`` and ``b`` (vectorised): the
        clock of the unit's duty hours, on which the response time is counted."""
        return self._open_minutes_until(b) - self._open_minutes_until(a)

    def _open_minutes_until(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if not self.opens:
            return np.zeros_like(t)
        opens, closes = np.asarray(self.opens), np.asarray(self.closes)
        before = np.concatenate([[0.0], np.cumsum(closes - opens)])  # open minutes before opening k
        k = np.searchsorted(opens, t, side="right") - 1  # the last opening at or before t
        kk = np.maximum(k, 0)
        inside = np.clip(t - opens[kk], 0.0, closes[kk] - opens[kk])
        return np.where(k < 0, 0.0, before[kk] + inside)
