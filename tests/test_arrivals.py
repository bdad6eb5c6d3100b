"""Fresh arrivals: the piecewise-constant rate of sim.arrivals.rate_schedule integrates
to the analytic daily volume (weekday, month, intraday profile and shocks), and
sim.arrivals.sample_arrivals draws a Poisson process with that rate (goodness-of-fit
tests with fixed seeds; tolerances come from the Poisson law, not from a seed's output).
Also the calendar behind the clock (sim.clock.minutes_to_calendar).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from sim.arrivals import rate_schedule, sample_arrivals
from sim.clock import minutes_to_calendar
from sim.config import MINUTES_PER_DAY, SimConfig, build_config
from sim.scenario_data import load_named

P_MIN = 1e-3  # a goodness-of-fit test must not reject at this level
WEEKDAY_FACTORS = [1.08, 1.02, 1.02, 1.02, 1.02, 0.92, 0.92]
MONTH_FACTORS = [0.80 + 0.03 * m for m in range(12)]  # all different, so a wrong month shows
BEIJING_WEIGHTS = np.asarray(load_named("profiles", "beijing_weekday", "test", "weights")[1], dtype=float)
BEIJING_PROFILE = BEIJING_WEIGHTS / BEIJING_WEIGHTS.sum()


def make_config(start="2019-06-03T00:00", days=7.0, daily_calls=13800.0, profile="beijing_weekday",
                weekday_factors=None, month_factors=None, shocks=(), category_mix="uniform") -> SimConfig:
    raw = {
        "seed": 1, "replications": 1, "horizon_days": days, "warmup_days": 0, "start": start,
        "arrivals": {
            "daily_calls": daily_calls,
            "intraday_profile": profile,
            "weekday_factors": list(weekday_factors or WEEKDAY_FACTORS),
            "month_factors": list(month_factors or MONTH_FACTORS),
            "shocks": [dict(s) for s in shocks],
            "category_mix": category_mix,
        },
        "call_center": {"seats": 10, "handle_time": {"dist": "exponential", "mean_min": 5.0},
                        "patience": {"dist": "infinite"}, "ticket_share": 0.4},
    }
    return build_config(raw)


def schedule_of(cfg: SimConfig):
    return rate_schedule(cfg.arrivals, cfg.start, cfg.horizon_min)


def day_factor(day: datetime) -> float:
    return WEEKDAY_FACTORS[day.weekday()] * MONTH_FACTORS[day.month - 1]


def profile_share(from_min: float, to_min: float) -> float:
    """Share of a day's calls (beijing_weekday) arriving between two clock minutes."""
    edges = np.arange(25) * 60.0
    overlap = np.clip(np.minimum(edges[1:], to_min) - np.maximum(edges[:-1], from_min), 0, None) / 60.0
    return float(np.dot(BEIJING_PROFILE, overlap))


def reference_expected(cfg: SimConfig) -> np.ndarray:
    """Expected arrivals per category over the horizon, integrated independently with
    Python datetimes: cut at every profile slice and shock boundary, evaluate the rate
    at each piece's midpoint."""
    a = cfg.arrivals
    start, end = cfg.start, cfg.start + timedelta(minutes=cfg.horizon_min)
    slice_td = timedelta(minutes=MINUTES_PER_DAY / len(a.intraday_profile))
    points = {start, end}
    t = datetime(start.year, start.month, start.day)
    while t < end:
        if t > start:
            points.add(t)
        t += slice_td
    windows = [(s.start, s.start + timedelta(days=s.days)) for s in a.shocks]
    for w in windows:
        points.update(b for b in w if start < b < end)
    pts = sorted(points)
    shares = np.asarray(a.category_shares)
    total = np.zeros(len(a.categories))
    for lo, hi in zip(pts, pts[1:]):
        mid = lo + (hi - lo) / 2
        clock = timedelta(hours=mid.hour, minutes=mid.minute, seconds=mid.second)
        k = int(clock // slice_td)
        per_min = (a.daily_calls * a.weekday_factors[mid.weekday()] * a.month_factors[mid.month - 1]
                   * a.intraday_profile[k] / (slice_td.total_seconds() / 60))
        rate = per_min * shares
        for shock, (s0, s1) in zip(a.shocks, windows):
            if s0 <= mid < s1:
                hit = np.ones(len(shares), bool) if shock.categories is None else np.isin(a.categories, shock.categories)
                rate = np.where(hit, rate * shock.factor, rate)
        total += rate * (hi - lo).total_seconds() / 60
    return total


def poisson_z(observed: float, expected: float) -> float:
    return (observed - expected) / np.sqrt(expected)


# ---------------------------------------------------------------- expected counts (analytic)


def test_expected_total_is_daily_calls_times_day_factors():
    cfg = make_config(days=60)  # 2019-06-03 .. 2019-08-01: three months, every weekday
    first = datetime(2019, 6, 3)
    analytic = 13800 * sum(day_factor(first + timedelta(days=d)) for d in range(60))
    sched = schedule_of(cfg)
    assert sched.expected_counts().sum() == pytest.approx(analytic, rel=1e-10)
    assert sched.edges[0] == 0 and sched.edges[-1] == cfg.horizon_min
    assert np.all(np.diff(sched.edges) > 0)
    assert np.all(sched.rate >= 0)


def test_expected_total_with_start_not_at_midnight():
    # Friday 2019-06-28 08:20 for 5 days: crosses the June/July boundary and ends at 08:20
    cfg = make_config(start="2019-06-28T08:20", days=5)
    early = profile_share(0, 8 * 60 + 20)  # share of a day's calls before 08:20
    days = [datetime(2019, 6, 28) + timedelta(days=d) for d in range(6)]
    analytic = 13800 * (day_factor(days[0]) * (1 - early) + sum(day_factor(d) for d in days[1:5])
                        + day_factor(days[5]) * early)
    sched = schedule_of(cfg)
    assert sched.expected_counts().sum() == pytest.approx(analytic, rel=1e-10)
    assert sched.expected_counts().sum() == pytest.approx(reference_expected(cfg).sum(), rel=1e-10)
    # the profile is cut on clock hours, not on hours since the start
    inner = sched.edges[1:-1]
    assert np.allclose((inner + 8 * 60 + 20) % 60, 0)


def test_expected_total_includes_shock_with_boundaries_mid_slice():
    shock = {"start": "2019-06-04T10:30", "days": 0.25, "factor": 3.0}  # Tuesday 10:30-16:30
    cfg = make_config(days=3, shocks=[shock])
    days = [datetime(2019, 6, 3) + timedelta(days=d) for d in range(3)]
    base = 13800 * sum(day_factor(d) for d in days)
    extra = (3.0 - 1.0) * 13800 * day_factor(days[1]) * profile_share(10 * 60 + 30, 16 * 60 + 30)
    sched = schedule_of(cfg)
    assert sched.expected_counts().sum() == pytest.approx(base + extra, rel=1e-10)
    s = MINUTES_PER_DAY + 10 * 60 + 30
    assert s in sched.edges and s + 360 in sched.edges


@pytest.mark.parametrize(("start", "days", "shocks"), [
    ("2019-06-03T00:00", 1.0, []),
    ("2019-06-29T13:47", 2.6, []),  # odd minute, fractional horizon, month boundary
    ("2019-12-30T22:00", 3.0, [{"start": "2019-12-31T23:15", "days": 0.1, "factor": 5}]),  # year boundary
    ("2019-06-03T08:20", 2.0, [{"start": "2019-06-01T00:00", "days": 2.5, "factor": 2},  # starts before the run
                               {"start": "2019-06-04T20:00", "days": 3, "factor": 0.5},  # ends after it
                               {"start": "2019-06-04T21:10", "days": 0.02, "factor": 4}]),  # overlaps another
])
def test_expected_counts_match_an_independent_integration(start, days, shocks):
    cfg = make_config(start=start, days=days, shocks=shocks, category_mix="beijing_2019_06")
    sched = schedule_of(cfg)
    assert sched.rate.shape == (len(sched.edges) - 1, len(cfg.arrivals.categories))
    np.testing.assert_allclose(sched.expected_counts().sum(axis=0), reference_expected(cfg), rtol=1e-10)


def test_zero_volume_outside_the_only_nonzero_hour_weekday_and_month():
    # only Sundays in July between 09:00 and 10:00 have calls
    profile = [0.0] * 24
    profile[9] = 1.0
    cfg = make_config(start="2019-06-26T08:20", days=19, profile=profile,
                      weekday_factors=[0, 0, 0, 0, 0, 0, 1], month_factors=[0] * 6 + [1] + [0] * 5)
    sched = schedule_of(cfg)
    assert sched.expected_counts().sum() == pytest.approx(2 * 13800)  # Sundays 2019-07-07 and 07-14 (06-30 is in June)
    arr = sample_arrivals(sched, np.random.default_rng(7))
    when = [cfg.start + timedelta(minutes=float(t)) for t in arr.time_min[:: max(1, arr.time_min.size // 500)]]
    assert all(w.weekday() == 6 and w.month == 7 and w.hour == 9 for w in when)


# ---------------------------------------------------------------- goodness of fit of the samples


def test_hour_of_day_counts_follow_the_profile():
    cfg = make_config(days=60)
    arr = sample_arrivals(schedule_of(cfg), np.random.default_rng(20190603))
    hour = (arr.time_min % MINUTES_PER_DAY // 60).astype(int)  # start is at midnight
    observed = np.bincount(hour, minlength=24)
    assert stats.chisquare(observed, observed.sum() * BEIJING_PROFILE).pvalue > P_MIN
    # the test has power: a flat profile is rejected outright
    assert stats.chisquare(observed, np.full(24, observed.sum() / 24)).pvalue < 1e-12


def test_weekday_counts_follow_the_weekday_and_month_factors():
    cfg = make_config(days=63)  # nine weeks, June to August
    arr = sample_arrivals(schedule_of(cfg), np.random.default_rng(11))
    weekday = (arr.time_min // MINUTES_PER_DAY).astype(int) % 7  # 2019-06-03 is a Monday
    observed = np.bincount(weekday, minlength=7)
    weight = np.zeros(7)
    for d in range(63):
        day = datetime(2019, 6, 3) + timedelta(days=d)
        weight[day.weekday()] += day_factor(day)
    expected = observed.sum() * weight / weight.sum()
    assert stats.chisquare(observed, expected).pvalue > P_MIN
    assert abs(poisson_z(observed.sum(), 13800 * weight.sum())) < 4


def test_category_counts_follow_the_mix():
    cfg = make_config(days=5, category_mix="beijing_2019_06")
    arr = sample_arrivals(schedule_of(cfg), np.random.default_rng(5))
    assert arr.category.min() >= 0 and arr.category.max() < len(cfg.arrivals.categories)
    observed = np.bincount(arr.category, minlength=len(cfg.arrivals.categories))
    expected = observed.sum() * np.asarray(cfg.arrivals.category_shares)
    assert stats.chisquare(observed, expected).pvalue > P_MIN
    uniform = np.full(observed.size, observed.sum() / observed.size)
    assert stats.chisquare(observed, uniform).pvalue < 1e-12


def test_counts_inside_and_outside_a_shock_match_expectation():
    shock = {"start": "2019-06-05T10:30", "days": 0.25, "factor": 3.0}
    cfg = make_config(days=7, shocks=[shock])
    arr = sample_arrivals(schedule_of(cfg), np.random.default_rng(99))
    s = 2 * MINUTES_PER_DAY + 10 * 60 + 30
    inside = np.count_nonzero((arr.time_min >= s) & (arr.time_min < s + 360))
    outside = arr.time_min.size - inside
    wed = datetime(2019, 6, 5)
    exp_in = 3.0 * 13800 * day_factor(wed) * profile_share(10 * 60 + 30, 16 * 60 + 30)
    exp_total = 13800 * sum(day_factor(datetime(2019, 6, 3) + timedelta(days=d)) for d in range(7)) + exp_in * 2 / 3
    exp_out = exp_total - exp_in
    assert abs(poisson_z(inside, exp_in)) < 4 and abs(poisson_z(outside, exp_out)) < 4
    assert stats.chisquare([inside, outside], np.array([exp_in, exp_out]) * arr.time_min.size / exp_total).pvalue > P_MIN
    # without the factor the window would hold a third of that: far outside Poisson noise
    assert abs(poisson_z(inside, exp_in / 3)) > 10


def test_shock_on_one_category_raises_only_that_category():
    shock = {"start": "2019-06-04T10:30", "days": 0.25, "factor": 4.0, "categories": ["municipal"]}
    plain = make_config(days=3, category_mix="beijing_2019_06")
    shocked = make_config(days=3, category_mix="beijing_2019_06", shocks=[shock])
    k = shocked.arrivals.categories.index("municipal")
    s_sched, p_sched = schedule_of(shocked), schedule_of(plain)
    mid = (s_sched.edges[:-1] + s_sched.edges[1:]) / 2
    piece = np.searchsorted(p_sched.edges, mid, side="right") - 1
    ratio = s_sched.rate / p_sched.rate[piece]
    s = MINUTES_PER_DAY + 10 * 60 + 30
    active = (mid >= s) & (mid < s + 360)
    assert active.any()
    others = np.arange(ratio.shape[1]) != k
    np.testing.assert_allclose(ratio[active][:, k], 4.0)
    np.testing.assert_allclose(ratio[~active][:, k], 1.0)
    np.testing.assert_allclose(ratio[:, others], 1.0)

    # and in a sample: municipal calls in the window are four times as many, the rest unchanged
    arr = sample_arrivals(s_sched, np.random.default_rng(3))
    in_win = (arr.time_min >= s) & (arr.time_min < s + 360)
    base_in = 13800 * day_factor(datetime(2019, 6, 4)) * profile_share(10 * 60 + 30, 16 * 60 + 30)
    shares = np.asarray(shocked.arrivals.category_shares)
    observed = np.bincount(arr.category[in_win], minlength=shares.size)
    expected = base_in * shares * np.where(others, 1.0, 4.0)
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > P_MIN
    assert abs(poisson_z(observed[k], expected[k])) < 4
    assert abs(poisson_z(observed[others].sum(), expected[others].sum())) < 4


# ---------------------------------------------------------------- the sample itself


def test_arrivals_sorted_inside_horizon_and_none_lost_at_boundaries():
    shocks = [{"start": "2019-06-04T10:30", "days": 0.25, "factor": 3.0},
              {"start": "2019-06-05T06:50", "days": 0.01, "factor": 2.0}]
    cfg = make_config(start="2019-06-03T08:20", days=2.3, shocks=shocks, category_mix="beijing_2019_06")
    sched = schedule_of(cfg)
    arr = sample_arrivals(sched, np.random.default_rng(2024))
    t = arr.time_min
    assert t.size == arr.category.size and t.dtype == np.float64
    assert np.all(np.diff(t) >= 0)
    assert t[0] >= 0 and t[-1] < cfg.horizon_min
    expected = sched.expected_counts()
    assert abs(poisson_z(t.size, expected.sum())) < 4
    # per piece of constant rate: counts agree with the piece's expectation
    piece = np.searchsorted(sched.edges, t, side="right") - 1
    observed = np.bincount(piece, minlength=len(sched.edges) - 1)
    exp_piece = expected.sum(axis=1)
    big = exp_piece >= 5  # chi-square on pieces with enough calls, a z-test on the rest pooled
    assert stats.chisquare(observed[big], exp_piece[big] * observed[big].sum() / exp_piece[big].sum()).pvalue > P_MIN
    if (~big).any():
        assert abs(poisson_z(observed[~big].sum(), exp_piece[~big].sum())) < 4
    # inside a piece the rate is constant: positions within it are uniform, up to both ends
    within = (t - sched.edges[piece]) / np.diff(sched.edges)[piece]
    assert stats.kstest(within, "uniform").pvalue > P_MIN


def test_total_count_is_poisson_over_many_draws():
    cfg = make_config(start="2019-06-03T08:20", days=0.9, daily_calls=500,
                      shocks=[{"start": "2019-06-03T12:10", "days": 0.05, "factor": 3.0}])
    sched = schedule_of(cfg)
    rng = np.random.default_rng(1)
    counts = np.array([sample_arrivals(sched, rng).time_min.size for _ in range(400)])
    mean = sched.expected_counts().sum()
    # mean within 4 standard errors; variance = mean (Poisson dispersion test)
    assert abs(counts.mean() - mean) < 4 * np.sqrt(mean / counts.size)
    dispersion = ((counts - mean) ** 2).sum() / mean  # chi-square with n degrees of freedom
    assert stats.chi2.sf(dispersion, counts.size) > P_MIN and stats.chi2.cdf(dispersion, counts.size) > P_MIN


def test_same_generator_state_same_arrivals():
    sched = schedule_of(make_config(days=1, category_mix="beijing_2019_06"))
    a, b = (sample_arrivals(sched, np.random.default_rng(8)) for _ in range(2))
    np.testing.assert_array_equal(a.time_min, b.time_min)
    np.testing.assert_array_equal(a.category, b.category)
    c = sample_arrivals(sched, np.random.default_rng(9))
    assert c.time_min.size != a.time_min.size or not np.array_equal(c.time_min, a.time_min)


def test_no_calls_no_arrivals():
    arr = sample_arrivals(schedule_of(make_config(days=2, daily_calls=0)), np.random.default_rng(0))
    assert arr.time_min.size == 0 and arr.category.size == 0


# ---------------------------------------------------------------- the calendar


def test_scenario_start_is_a_monday_in_june():
    weekday, month, minute = minutes_to_calendar(datetime(2019, 6, 3), np.array([0.0]))
    assert (weekday[0], month[0], minute[0]) == (0, 5, 0.0)


def test_calendar_across_midnight_and_month_boundary():
    start = datetime(2019, 6, 30, 23, 50)  # a Sunday
    weekday, month, minute = minutes_to_calendar(start, np.array([0.0, 9.5, 10.0, 70.25, 1450.0]))
    np.testing.assert_array_equal(weekday, [6, 6, 0, 0, 1])
    np.testing.assert_array_equal(month, [5, 5, 6, 6, 6])
    np.testing.assert_allclose(minute, [1430.0, 1439.5, 0.0, 60.25, 0.0])


def test_calendar_across_year_end_and_leap_day():
    weekday, month, minute = minutes_to_calendar(datetime(2019, 12, 31, 23, 59), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(weekday, [1, 2])  # Tuesday, then Wednesday 2020-01-01
    np.testing.assert_array_equal(month, [11, 0])
    np.testing.assert_allclose(minute, [1439.0, 0.0])
    weekday, month, _ = minutes_to_calendar(datetime(2020, 2, 28, 12, 0), np.array([720.0, 2160.0]))
    np.testing.assert_array_equal(weekday, [5, 6])  # 2020-02-29 is a Saturday, 03-01 a Sunday
    np.testing.assert_array_equal(month, [1, 2])


def test_calendar_agrees_with_python_datetime():
    start = datetime(2019, 6, 3, 8, 20)
    t = np.random.default_rng(4).integers(0, 800 * MINUTES_PER_DAY * 60, 1000) / 60.0  # whole seconds
    weekday, month, minute = minutes_to_calendar(start, t)
    for ti, wd, mo, mi in zip(t, weekday, month, minute):
        when = start + timedelta(minutes=float(ti))
        assert (wd, mo) == (when.weekday(), when.month - 1)
        assert mi == pytest.approx(when.hour * 60 + when.minute + when.second / 60, abs=1e-6)


def test_calendar_keeps_sub_second_precision():
    _, _, minute = minutes_to_calendar(datetime(2019, 6, 3), np.array([123 / 60, 0.01]))
    np.testing.assert_allclose(minute, [123 / 60, 0.01], atol=1e-9)
