"""sim.clock.month_bounds: the one place for calendar-month arithmetic."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from sim.clock import month_bounds

DAY = 1440.0


def test_month_bounds_tile_the_interval_with_calendar_months():
    """Random starts and windows (leap February, year ends, mid-minute starts): the
    months are consecutive, each 28-31 days long, end where the next begins, and the
    first holds the window's start, the last its end."""
    rng = np.random.default_rng(7)
    for _ in range(500):
        start = datetime(2019, 1, 1) + timedelta(minutes=float(rng.uniform(0, 3 * 365 * DAY)))
        lo = float(rng.uniform(0, 60 * DAY))
        hi = lo + float(rng.uniform(1, 400 * DAY))
        months = month_bounds(start, lo, hi)
        assert months[0][1] <= lo < months[0][2] and months[-1][1] < hi <= months[-1][2]
        for (label, begin, end), (next_label, next_begin, _) in zip(months, months[1:]):
            assert end == next_begin
            assert np.datetime64(next_label, "M") - np.datetime64(label, "M") == np.timedelta64(1, "M")
        for label, begin, end in months:
            assert 28 * DAY - 1e-6 <= end - begin <= 31 * DAY + 1e-6  # minutes of a start with seconds round
            assert (datetime.fromisoformat(label + "-01") - start).total_seconds() / 60 == begin


def test_a_window_of_whole_months_gives_exactly_those_months():
    start = datetime(2019, 12, 4)  # the year scenario: four weeks of warm-up, then 2019
    lo = (datetime(2020, 1, 1) - start).total_seconds() / 60
    hi = (datetime(2021, 1, 1) - start).total_seconds() / 60
    months = month_bounds(start, lo, hi)
    assert [m[0] for m in months] == [f"2020-{k:02d}" for k in range(1, 13)]
    assert months[1][2] - months[1][1] == 29 * DAY  # 2020 is a leap year
