"""The simulation clock: minutes from the scenario start, and the calendar behind them."""
from __future__ import annotations

from datetime import datetime

import numpy as np


def minutes_to_calendar(start: datetime, t_min: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekday (0=Monday), month (0=January) and minute of the day of times ``t_min``
    minutes after ``start``."""
    start64 = np.datetime64(start.replace(tzinfo=None), "s")
    absolute = start64 + (np.asarray(t_min) * 60.0).astype("timedelta64[s]")
    days = absolute.astype("datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    minute_of_day = (absolute - days).astype("timedelta64[s]").astype(np.int64) / 60.0
    return weekday, month, minute_of_day
