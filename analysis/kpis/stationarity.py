"""Is the measured window stationary? The street backlogs over the measured days, and a
test of a trend in them.

Street backlogs start empty and complex tickets take days, so with too short a warm-up
the backlogs are still rising while the run measures, and every KPI that depends on
them (deadline compliance, lead times, the league tables) is measured on a city that
has not settled yet. This module measures that, per replication and street:

- **The series** (:func:`daily_backlog`, in the worker): the backlog of each street at
  the end of each whole measured day, ``warmup + k days`` for ``k = 1, 2, ...``: the
  tickets delivered to the street by then and not closed by then (the definition of the
  monthly tables' ``backlog``). An integer array ``days x streets`` (61 x 333 for the
  default scenario: 80 kB a replication).
- **The statistic**: per replication and street, the least-squares slope of the backlog
  on the day number, in tickets per day. The slope rather than "mean of the second half
  minus mean of the first": for a linear trend it is the more precise of the two (it
  weights the days at the ends most instead of all days of a half alike), it uses every
  day, and it reads as a rate (tickets a day), which the warm-up question is about. A
  backlog that still rises towards its level is concave, and a slope catches that too.
- **The test** (:func:`trend_test`): the daily values are autocorrelated (a backlog
  carries over from one day to the next), so a regression's own standard error would
  be far too small. The replications are independent, though (each has its own random
  streams), so the slope is one independent number per replication: over replications,
  its mean, a Student-t 95% confidence interval and the two-sided one-sample t-test of
  "mean slope = 0" (``R - 1`` degrees of freedom; the slope is a weighted sum of many
  days, close to normal). Streets whose slope is the same in every replication (no
  tickets) are not tested.
- **Many streets**: the p-values are adjusted by Holm's step-down method (:func:`holm`),
  which keeps the chance of *any* false alarm among the streets at most 5%, and is never
  less powerful than Bonferroni. With a handful of replications that is a strict bar
  (6 replications and 333 streets: |t| above about 10 for the first), so a street is flagged only for a
  large trend; the count of streets below the level before adjustment, against the 5%
  chance alone gives, shows a spread-out trend. The city-wide backlog (all streets) gets
  the same test on its own: the sensitive one, a trend shared by many streets adds up
  there. A weekly rhythm in the backlogs (streets on office hours) moves the slope of a
  window that is not a whole number of weeks a little (measured on the default
  scenario: at most 0.3 tickets/day city-wide, against trends of 5-30/day and CIs of
  +-2-7/day); it is left in.

:func:`check_backlog_trend` writes ``backlog_trend.csv``, returns the block for
``summary.json``, and logs a WARNING (logger ``analysis.kpis.stationarity``; Hydra puts it
in the run's ``run.log`` and on the console) when a street or the city has a significant
trend, naming how many, the largest, and what to do: a longer ``warmup_days``.

SciPy's stats module is imported on first use (see docs/architecture.md).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.io import write_csv_atomic
from analysis.kpis.stats import t_quantile, t_sf
from analysis.rundir import BACKLOG_TREND_FILE

if TYPE_CHECKING:  # types only: analysis.kpis.calls imports this module in every worker
    from sim.city import City
    from sim.records import TicketRecords

log = logging.getLogger(__name__)

MINUTES_PER_DAY = 1440.0
#: Level of the tests (family-wise over the streets, by Holm), and of the CIs (1 - ALPHA).
ALPHA = 0.05
TEST_NAME = ("one-sample t-test over replications of the per-replication OLS slope of the daily "
             "backlog (tickets/day); Holm-adjusted across streets")
#: The key of each replication's series in the reduced results.
SERIES_KEY = "backlog_daily"
TREND_COLUMNS = ("unit", "district", "district_zh", "street", "street_zh", "mean_backlog", "slope_per_day",
                 "ci_low", "ci_high", "change_over_window", "p_value", "p_adjusted", "significant")
#: How many of the largest trends a warning names.
NAMED_IN_WARNING = 3


# ------------------------------------------------------------------ the series (worker)
def measured_day_ends(warmup_min: float, horizon_min: float) -> np.ndarray:
    """Minutes of the end of each whole measured day: ``warmup + k days``, k = 1, 2, ...,
    up to the horizon (a part day at the end is left out)."""
    n_days = int(math.floor((horizon_min - warmup_min) / MINUTES_PER_DAY + 1e-9))
    return warmup_min + MINUTES_PER_DAY * np.arange(1, max(n_days, 0) + 1)


def daily_backlog(tickets: TicketRecords, warmup_min: float, horizon_min: float, n_streets: int) -> np.ndarray:
    """Backlog of each street at the end of each whole measured day: tickets delivered
    to it at or before that moment and not closed at or before it (NaN: not yet).

    Returns an int32 array ``(days, n_streets)``. Tickets of the city departments
    (``street == -1``) are not in it. Counted as cumulative arrivals minus cumulative
    departures, the departure being ``max(delivered, closed)`` so that the count equals
    ``(delivered <= t) & ~(closed <= t)`` for every ticket, whatever its times.
    """
    ends = measured_day_ends(warmup_min, horizon_min)
    n_days = len(ends)
    if n_days == 0 or tickets.street is None:
        return np.zeros((n_days, n_streets), dtype=np.int32)
    street = tickets.street.astype(np.int64)
    on_street = street >= 0
    delivered = tickets.delivered_min
    left = np.maximum(delivered, tickets.closed_min)  # NaN if either is NaN

    def cumulative(times: np.ndarray) -> np.ndarray:
        sel = on_street & (times <= ends[-1])  # NaN compares False: not yet
        day = np.searchsorted(ends, times[sel], side="left")  # first day end at or after the time
        counts = np.bincount(day * n_streets + street[sel], minlength=n_days * n_streets)
        return np.cumsum(counts.reshape(n_days, n_streets), axis=0)

    return (cumulative(delivered) - cumulative(left)).astype(np.int32)


# ------------------------------------------------------------------ the test
def ols_slope(series: np.ndarray) -> np.ndarray:
    """Least-squares slope per day of each column of ``series`` (rows: consecutive
    days); NaN with fewer than two days."""
    y = np.asarray(series, dtype=float)
    if y.shape[0] < 2:
        return np.full(y.shape[1:], np.nan)
    x = np.arange(y.shape[0], dtype=float)
    x -= x.mean()
    return np.tensordot(x, y - y.mean(axis=0), axes=(0, 0)) / float(x @ x)


def trend_test(values: np.ndarray, alpha: float = ALPHA) -> dict[str, np.ndarray]:
    """Two-sided one-sample t-test of "mean = 0" for each column of ``values`` (rows:
    independent replications), with the Student-t ``1 - alpha`` CI of the mean.

    Returns arrays ``mean``, ``ci_low``, ``ci_high``, ``p_value`` and ``tested`` (False
    where the values do not vary: then p and the CI are NaN). Needs two rows or more.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        return {k: a[0] for k, a in trend_test(v[:, None], alpha).items()}
    r = v.shape[0]
    if r < 2:
        raise ValueError("a t-test over replications needs at least two replications")
    mean = v.mean(axis=0)
    se = v.std(axis=0, ddof=1) / math.sqrt(r)
    tested = se > 1e-12 * np.maximum(np.abs(mean), 1.0)
    safe_se = np.where(tested, se, 1.0)
    t = np.where(tested, mean / safe_se, np.nan)
    p = np.where(tested, 2 * t_sf(np.abs(t), r - 1), np.nan)  # scipy.stats's values, without importing it
    half = t_quantile(1 - alpha / 2, r - 1) * se
    return {"mean": mean, "ci_low": np.where(tested, mean - half, np.nan),
            "ci_high": np.where(tested, mean + half, np.nan), "p_value": p, "tested": tested}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are not tests and stay NaN).

    With the ``m`` p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of the
    i-th is ``max over j <= i of min(1, (m - j + 1) p_(j))``; rejecting where the adjusted
    value is below ``alpha`` keeps the family-wise error rate at most ``alpha``.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok], kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[ok][order]))
    idx = np.flatnonzero(ok)[order]
    out[idx] = adjusted
    return out


@dataclass
class BacklogTrend:
    """The trend test of a run: per street (arrays of length n_streets) and city-wide."""

    replications: int
    days: int
    mean_backlog: np.ndarray
    slope: dict  # per street: trend_test's arrays
    p_adjusted: np.ndarray
    significant: np.ndarray
    city: dict  # city-wide: mean_backlog and trend_test's numbers
    alpha: float = ALPHA

    @property
    def change_over_window(self) -> np.ndarray:
        """The mean slope times the days between the first and last sample: the rise of
        the backlog over the measured window, in tickets."""
        return self.slope["mean"] * max(self.days - 1, 0)


def backlog_trend(series_by_rep: list[np.ndarray], alpha: float = ALPHA) -> BacklogTrend:
    """Test every street's backlog, and the city's, for a trend (``days x streets``
    series, one per replication; at least two replications and two days)."""
    stack = np.stack([np.asarray(s, dtype=float) for s in series_by_rep])  # reps x days x streets
    slopes = np.stack([ols_slope(s) for s in stack])  # reps x streets
    city_slopes = np.array([ols_slope(s.sum(axis=1)[:, None])[0] for s in stack])
    per_street = trend_test(slopes, alpha)
    p_adj = holm(per_street["p_value"])
    city = trend_test(city_slopes, alpha)
    city = {"mean_backlog": float(stack.sum(axis=2).mean()), "slope_per_day": float(city["mean"]),
            "ci_low": float(city["ci_low"]), "ci_high": float(city["ci_high"]),
            "p_value": float(city["p_value"]), "significant": bool(city["p_value"] < alpha)}
    return BacklogTrend(replications=stack.shape[0], days=stack.shape[1], mean_backlog=stack.mean(axis=(0, 1)),
                        slope=per_street, p_adjusted=p_adj, significant=np.nan_to_num(p_adj, nan=1.0) < alpha,
                        city=city, alpha=alpha)


# ------------------------------------------------------------------ the run's outputs
def check_backlog_trend(out_dir: Path, per_rep: list[dict], city: City, warmup_days: float | None = None) -> dict:
    """Test the run's street backlogs for a trend over the measured window: write
    ``backlog_trend.csv`` (when the test can run), log the outcome (a WARNING when a
    street or the city has a significant trend) and return the ``summary.json`` block.

    Without a ticket side, with one replication or fewer than two whole measured days,
    the test cannot run: the block says why (and so does run.log), and no file is
    written.
    """
    series = [rep.get(SERIES_KEY) for rep in per_rep]
    block = {"test": TEST_NAME, "alpha": ALPHA, "replications": len(per_rep)}
    if not series or any(s is None for s in series) or city is None:
        return _not_run(block, "no street tickets simulated")
    days = series[0].shape[0]
    block["days"] = days
    if len(series) < 2:
        return _not_run(block, "one replication: a trend over replications needs at least two")
    if days < 2:
        return _not_run(block, f"{days} whole measured day(s): a trend needs at least two")
    result = backlog_trend(series)
    write_csv_atomic(Path(out_dir) / BACKLOG_TREND_FILE, list(TREND_COLUMNS), trend_rows(result, city))
    block.update(summary_block(result, city))
    _log_outcome(block, warmup_days)
    return block


def trend_rows(result: BacklogTrend, city: City) -> list[list]:
    """Rows of ``backlog_trend.csv``, one per street (columns :data:`TREND_COLUMNS`)."""
    rows = []
    s = result.slope
    change = result.change_over_window
    for u in range(len(result.mean_backlog)):
        d = int(city.street_district[u])
        rows.append([u, city.district_names[d], city.district_zh[d], city.street_names[u], city.street_zh[u],
                     _num(result.mean_backlog[u]), _num(s["mean"][u]), _num(s["ci_low"][u]), _num(s["ci_high"][u]),
                     _num(change[u]), _num(s["p_value"][u]), _num(result.p_adjusted[u]),
                     int(result.significant[u])])
    return rows


def summary_block(result: BacklogTrend, city: City) -> dict:
    """The numbers of the ``summary.json`` block: streets tested, streets with a
    significant trend (rising and falling), how many before the adjustment (and how many
    chance alone would give), the largest trends, the city-wide trend.

    ``largest`` lists the largest trends (tickets/day) among the significant streets,
    or, when there are none, among those with an unadjusted p below the level
    (``largest_among`` says which): with few replications the per-street test has little
    power, and the city-wide test, on the sum, is the sensitive one.
    """
    s = result.slope
    sig = np.flatnonzero(result.significant)
    raw = np.flatnonzero(np.nan_to_num(s["p_value"], nan=1.0) < result.alpha)
    among, pool = ("significant", sig) if len(sig) else ("unadjusted p below alpha", raw)
    largest = pool[np.argsort(-np.abs(s["mean"][pool]), kind="stable")][:NAMED_IN_WARNING]
    tested = int(s["tested"].sum())
    return {
        "tested": True,
        "statistic": "OLS slope of the street's backlog at the end of each measured day, tickets/day",
        "correction": "Holm",
        "streets_tested": tested,
        "streets_significant": int(len(sig)),
        "streets_rising": int(np.count_nonzero(s["mean"][sig] > 0)),
        "streets_unadjusted": int(len(raw)),
        "streets_unadjusted_expected": result.alpha * tested,
        "largest_among": among,
        "largest": [{"unit": int(u), "street": city.street_names[u], "street_zh": city.street_zh[u],
                     "slope_per_day": _num(s["mean"][u]), "mean_backlog": _num(result.mean_backlog[u]),
                     "p_value": _num(s["p_value"][u]), "p_adjusted": _num(result.p_adjusted[u])} for u in largest],
        "city": {k: (_num(v) if isinstance(v, float) else v) for k, v in result.city.items()},
        "stationary": not (len(sig) or result.city["significant"]),
    }


def _log_outcome(block: dict, warmup_days: float | None) -> None:
    c = block["city"]
    city_text = f"city-wide backlog {c['mean_backlog']:,.0f} tickets, trend {c['slope_per_day']:+,.1f}/day"
    if c["p_value"] is not None:
        city_text += f" [{c['ci_low']:+,.1f} .. {c['ci_high']:+,.1f}], p = {c['p_value']:.2g}"
    city_text += " (significant)" if c["significant"] else " (not significant)"
    window = f"{block['days']} measured days, {block['replications']} replications"
    streets = (f"{block['streets_significant']} of {block['streets_tested']} streets with a significant trend "
               f"(Holm-adjusted, {100 * ALPHA:g}%), {block['streets_unadjusted']} before adjustment "
               f"({block['streets_unadjusted_expected']:.0f} expected by chance)")
    if block["stationary"]:
        log.info("street backlogs: no significant trend over the measured window (%s): %s; %s",
                 window, city_text, streets)
        return
    named = ", ".join(f"{x['street']} {x['street_zh']} ({x['slope_per_day']:+.2f}/day on "
                      f"{x['mean_backlog']:.0f})" for x in block["largest"])
    if named:
        named = f"; largest{' before adjustment' if block['streets_significant'] == 0 else ''}: {named}"
    now = f" (now {warmup_days:g})" if warmup_days is not None else ""
    log.warning(
        "street backlogs are not stationary over the measured window (%s): %s; %s%s. KPIs that depend on "
        "backlogs (deadline compliance, lead times, league tables) are measured while the streets still fill "
        "up: run with a longer warm-up, warmup_days%s, moving start back and horizon_days up by as many days to "
        "keep the measured dates (see backlog_trend.csv); a trend that a longer warm-up does not remove comes from streets "
        "whose work outgrows their caseworkers (a capacity question, not a warm-up one)", window, city_text, streets,
        named, now)


def _not_run(block: dict, reason: str) -> dict:
    block.update({"tested": False, "reason": reason})
    log.info("street backlogs not tested for a trend: %s", reason)
    return block


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
