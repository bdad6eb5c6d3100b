"""The simulation clock: minutes from the scenario start, and the calendar behind them."""
from __future__ import annotations

from datetime import datetime

import numpy as np

MINUTES_PER_DAY = 1440


def minutes_to_calendar(start: datetime, t_min: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekday (0=Monday), month (0=January) and minute of the day of times ``t_min``
    minutes after ``start`` (a naive local date-time). Exact in floating point: no
    rounding to whole seconds."""
    start_minute = start.hour * 60 + start.minute + (start.second + start.microsecond / 1e6) / 60
    absolute = start_minute + np.asarray(t_min, dtype=float)
    day_offset = np.floor(absolute / MINUTES_PER_DAY)
    minute_of_day = absolute - day_offset * MINUTES_PER_DAY
    days = np.datetime64(start.date(), "D") + day_offset.astype(np.int64)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    return weekday, month, minute_of_day
