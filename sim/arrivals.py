"""Fresh call arrivals: a non-homogeneous Poisson process, sampled exactly.

The rate is piecewise constant: daily volume x weekday factor x month factor x
intraday profile slice x active shocks, per call category. The horizon is cut at every
profile-slice boundary, day boundary and shock boundary; inside each piece the count is
Poisson(rate x length) and the times are uniform. This is exact for a piecewise-constant
rate, so no arrivals are lost or doubled at boundaries, and it is vectorised (no Python
loop per call).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from sim.clock import MINUTES_PER_DAY, minutes_after, minutes_since_midnight, minutes_to_calendar
from sim.config import ArrivalsConfig


@dataclass(frozen=True)
class RateSchedule:
    """Piecewise-constant arrival rate: ``rate[i, k]`` calls/min of category k on
    ``[edges[i], edges[i+1])`` minutes from the scenario start."""

    edges: np.ndarray
    rate: np.ndarray

    def expected_counts(self) -> np.ndarray:
        """Expected arrivals per piece and category."""
        return self.rate * np.diff(self.edges)[:, None]


@dataclass(frozen=True)
class FreshArrivals:
    """Sorted arrival times (minutes) and the category index of each call."""

    time_min: np.ndarray
    category: np.ndarray


def rate_schedule(cfg: ArrivalsConfig, start: datetime, horizon_min: float) -> RateSchedule:
    """Build the piecewise-constant rate over ``[0, horizon_min)``."""
    slices = len(cfg.intraday_profile)
    slice_min = MINUTES_PER_DAY / slices
    # Slice boundaries in absolute clock time, so a start at 08:20 still lines up with
    # the profile's hours.
    offset = (-minutes_since_midnight(start)) % slice_min
    cuts = [np.arange(offset, horizon_min, slice_min)]
    shock_windows = [(minutes_after(start, shock.start), shock.days * MINUTES_PER_DAY) for shock in cfg.shocks]
    for s, length in shock_windows:
        cuts.append(np.array([s, s + length]))
    edges = np.unique(np.clip(np.concatenate([[0.0, horizon_min], *cuts]), 0.0, horizon_min))
    mid = (edges[:-1] + edges[1:]) / 2.0
    weekday, month, minute_of_day = minutes_to_calendar(start, mid)
    slice_idx = np.minimum((minute_of_day // slice_min).astype(int), slices - 1)
    total_rate = (cfg.daily_calls
                  * np.asarray(cfg.weekday_factors)[weekday]
                  * np.asarray(cfg.month_factors)[month]
                  * np.asarray(cfg.intraday_profile)[slice_idx] / slice_min)
    rate = total_rate[:, None] * np.asarray(cfg.category_shares)[None, :]
    for shock, (s, length) in zip(cfg.shocks, shock_windows):
        active = (mid >= s) & (mid < s + length)
        cats = (np.ones(len(cfg.categories), bool) if shock.categories is None
                else np.isin(cfg.categories, shock.categories))
        rate[np.ix_(active, cats)] *= shock.factor
    return RateSchedule(edges=edges, rate=rate)


def sample_arrivals(schedule: RateSchedule, rng: np.random.Generator) -> FreshArrivals:
    """Draw one realisation of the arrival process, sorted by time.

    Superposition: the calls of all categories in a piece form one Poisson stream
    (count ~ Poisson(total rate x length), times uniform), and each call's category is
    drawn from the piece's category mix. Pieces do not overlap, so sorting the times in
    place keeps every call in its piece; no index arrays are needed (low peak memory).
    """
    expected = schedule.expected_counts()
    per_piece = rng.poisson(expected.sum(axis=1))
    piece = np.repeat(np.arange(len(per_piece), dtype=np.int32), per_piece)
    lengths = np.diff(schedule.edges)
    times = rng.random(piece.size)
    times *= lengths[piece]
    times += schedule.edges[:-1][piece]
    times.sort()
    return FreshArrivals(time_min=times, category=_draw_categories(expected, piece, rng))


def _draw_categories(expected: np.ndarray, piece: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category of each call by inverse CDF of its piece's mix, one category at a time
    (memory: a few arrays of one value per call, never calls x categories)."""
    totals = expected.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(np.divide(expected, totals, out=np.zeros_like(expected), where=totals > 0), axis=1)
    u = rng.random(piece.size)
    category = np.zeros(piece.size, dtype=np.int16)
    for k in range(expected.shape[1] - 1):
        category += u >= cumulative[piece, k]
    return category
