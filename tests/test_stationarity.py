"""The stationarity check of the measured window (analysis/kpis/stationarity.py): the daily
street backlogs equal a brute-force count, the trend test finds a planted trend and
keeps its level on autocorrelated null series, Holm's adjustment is right, the run's
outputs say what they found, and a run that is not stationary warns in its run.log.
"""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from analysis.kpis.calls import reduce_replication
from analysis.rundir import BACKLOG_TREND_FILE, read_csv
from analysis.kpis.stationarity import (ALPHA, SERIES_KEY, TREND_COLUMNS, backlog_trend, check_backlog_trend,
                                   daily_backlog, holm, measured_day_ends, ols_slope, trend_test)
from sim.model import run_replication
from sim.records import TicketRecords
from tests.test_cli import assert_ok, run_cli
from tests.test_tickets import MONDAY, SMALL, full_config

DAY = 1440.0


def brute_force_backlog(t: TicketRecords, ends: np.ndarray, n_streets: int) -> np.ndarray:
    """Ticket by ticket and day by day: delivered at or before the day's end, not closed
    at or before it."""
    out = np.zeros((len(ends), n_streets), dtype=np.int64)
    for k, end in enumerate(ends):
        for i in range(len(t.street)):
            if t.street[i] >= 0 and t.delivered_min[i] <= end and not t.closed_min[i] <= end:
                out[k, t.street[i]] += 1
    return out


def synthetic_tickets(rng: np.random.Generator, n: int, n_streets: int, horizon_min: float,
                      day_ends=()) -> TicketRecords:
    """Tickets with department tickets (street -1), not yet delivered or closed (NaN),
    times exactly on the given day ends, and a few closed 'before' delivery (never in a
    backlog)."""
    created = rng.uniform(0, horizon_min, n)
    delivered = created + rng.exponential(60, n)
    closed = delivered + rng.exponential(3 * DAY, n)
    if len(day_ends):  # exactly at a day's end: delivered / closed by then
        on_end = rng.random(n) < 0.05
        delivered[on_end] = rng.choice(day_ends, on_end.sum())
        closed[on_end] = delivered[on_end] + DAY * rng.integers(0, 3, on_end.sum())
    delivered[rng.random(n) < 0.05] = np.nan
    closed[rng.random(n) < 0.2] = np.nan
    odd = rng.random(n) < 0.02
    closed[odd] = delivered[odd] - 10.0
    closed[closed > horizon_min] = np.nan  # censored at the end, as in the records
    delivered[delivered > horizon_min] = np.nan
    street = rng.integers(-1, n_streets, n)
    return TicketRecords(caller=np.arange(n), created_min=created, category=np.zeros(n, dtype=np.int8),
                         street=street, delivered_min=delivered, closed_min=closed)


# ------------------------------------------------------------------ the series
@pytest.mark.parametrize("warmup_days, horizon_days", [(0.5, 6.0), (2.0, 7.0), (1.0, 5.7)])
def test_daily_backlog_equals_a_brute_force_count(warmup_days, horizon_days):
    rng = np.random.default_rng(7)
    ends = measured_day_ends(warmup_days * DAY, horizon_days * DAY)
    t = synthetic_tickets(rng, 600, 5, horizon_days * DAY, ends)
    assert len(ends) == int(horizon_days - warmup_days) and ends[0] == (warmup_days + 1) * DAY
    got = daily_backlog(t, warmup_days * DAY, horizon_days * DAY, 5)
    assert got.shape == (len(ends), 5) and got.dtype == np.int32
    want = brute_force_backlog(t, ends, 5)
    assert want.sum() > 300  # the case is not trivial
    np.testing.assert_array_equal(got, want)


def test_daily_backlog_of_a_real_replication_equals_a_brute_force_count():
    cfg = full_config(MONDAY, *SMALL, "horizon_days=4", "warmup_days=1.5", "replications=1")
    rec = run_replication(cfg, 0)
    series = reduce_replication(rec, cfg)[SERIES_KEY]
    ends = measured_day_ends(rec.calls.warmup_min, rec.calls.horizon_min)
    np.testing.assert_array_equal(ends, [2.5 * DAY, 3.5 * DAY])
    assert series.shape == (2, cfg.city.n_streets)
    t = rec.tickets
    for k, end in enumerate(ends):  # vectorised per day, ticket by ticket above
        open_then = (t.street >= 0) & (t.delivered_min <= end) & ~(t.closed_min <= end)
        np.testing.assert_array_equal(series[k], np.bincount(t.street[open_then], minlength=cfg.city.n_streets))
    assert series.sum() > 1000


def test_no_whole_measured_day_gives_an_empty_series():
    t = synthetic_tickets(np.random.default_rng(1), 50, 3, 2 * DAY)
    assert daily_backlog(t, 1.5 * DAY, 2 * DAY, 3).shape == (0, 3)


# ------------------------------------------------------------------ the test
def ar1(rng: np.random.Generator, shape: tuple, phi: float, days: int) -> np.ndarray:
    """Stationary AR(1) series of unit variance along the first axis (days)."""
    x = np.empty((days, *shape))
    x[0] = rng.standard_normal(shape)
    for d in range(1, days):
        x[d] = phi * x[d - 1] + np.sqrt(1 - phi ** 2) * rng.standard_normal(shape)
    return x


def test_ols_slope_is_least_squares():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(30, 4)) + np.arange(30)[:, None] * [0.0, 1.0, -2.0, 0.3]
    want = [np.polyfit(np.arange(30), y[:, j], 1)[0] for j in range(4)]
    np.testing.assert_allclose(ols_slope(y), want, rtol=1e-10)
    assert np.isnan(ols_slope(y[:1])).all()


def test_trend_test_is_the_one_sample_t_test():
    rng = np.random.default_rng(4)
    v = rng.normal(0.3, 1.0, size=(6, 5))
    got = trend_test(v)
    want = stats.ttest_1samp(v, 0.0)
    np.testing.assert_allclose(got["p_value"], want.pvalue, rtol=1e-10)
    ci = want.confidence_interval(0.95)
    np.testing.assert_allclose(got["ci_low"], ci.low, rtol=1e-10)
    np.testing.assert_allclose(got["ci_high"], ci.high, rtol=1e-10)
    with pytest.raises(ValueError):
        trend_test(v[:1])


def test_the_trend_test_finds_a_planted_linear_trend_in_autocorrelated_series():
    """Six replications of 60 days, AR(1) noise (phi 0.9, sd 5 tickets) around a level
    of 100: a rise of 0.5 tickets/day (30 over the window) is found, and the CI covers
    it; the streets without a trend are not flagged."""
    rng = np.random.default_rng(11)
    days, reps, streets = 60, 6, 20
    trend = np.zeros(streets)
    trend[:3] = [0.5, -0.5, 1.0]
    series = [100 + 5 * ar1(rng, (streets,), 0.9, days) + np.arange(days)[:, None] * trend for _ in range(reps)]
    result = backlog_trend(series)
    assert result.significant[:3].all() and not result.significant[3:].any()
    s = result.slope
    assert (s["ci_low"][:3] < trend[:3]).all() and (trend[:3] < s["ci_high"][:3]).all()
    assert result.city["significant"] and result.city["ci_low"] < 1.0 < result.city["ci_high"]


def test_false_positive_rate_on_autocorrelated_null_series_is_near_its_level():
    """4,000 independent null datasets (6 replications x 60 days of AR(1) noise with
    phi 0.9, strong day-to-day carry-over, no trend): the share the test calls
    significant at 5% is 5% within its 99% Clopper-Pearson interval. A regression's own
    standard error within one series would reject far more often here."""
    rng = np.random.default_rng(2024)
    datasets, reps, days = 4000, 6, 60
    slopes = np.stack([ols_slope(ar1(rng, (datasets,), 0.9, days)) for _ in range(reps)])  # reps x datasets
    p = trend_test(slopes)["p_value"]
    k = int(np.count_nonzero(p < ALPHA))
    ci = stats.binomtest(k, datasets, ALPHA).proportion_ci(0.99, method="exact")
    assert ci.low <= ALPHA <= ci.high, k / datasets
    # and the naive test (one series, iid residuals) is far off: its share of rejections
    x = np.arange(days) - (days - 1) / 2
    y = ar1(rng, (datasets,), 0.9, days)
    b = ols_slope(y)
    resid = y - y.mean(axis=0) - np.outer(x, b)
    se = np.sqrt((resid ** 2).sum(axis=0) / (days - 2) / (x @ x))
    naive = 2 * stats.t.sf(np.abs(b / se), days - 2)
    assert np.mean(naive < ALPHA) > 0.3


def test_holm_on_a_known_example():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> 0.06 (monotone)
    p = [0.01, 0.04, np.nan, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, np.nan, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    assert np.isnan(holm([np.nan, np.nan])).all()
    # Holm rejects at least what Bonferroni rejects
    rng = np.random.default_rng(5)
    q = rng.uniform(0, 0.02, 50)
    assert ((np.minimum(q * 50, 1) < ALPHA) <= (holm(q) < ALPHA)).all()


# ------------------------------------------------------------------ the run's outputs
def small_city(n: int):
    return SimpleNamespace(district_names=("East", "West"), district_zh=("东", "西"),
                           street_district=np.array([i % 2 for i in range(n)]),
                           street_names=tuple(f"S{i}" for i in range(n)),
                           street_zh=tuple(f"街{i}" for i in range(n)))


def per_rep_with(rng, reps: int, days: int, trend: np.ndarray) -> list[dict]:
    n = len(trend)
    return [{SERIES_KEY: np.rint(50 + 3 * ar1(rng, (n,), 0.8, days) + np.arange(days)[:, None] * trend)
             .astype(np.int32)} for _ in range(reps)]


def test_a_trend_is_written_summarised_and_warned_about(tmp_path, caplog):
    trend = np.zeros(8)
    trend[[2, 5]] = [1.5, 0.8]
    per_rep = per_rep_with(np.random.default_rng(8), 6, 40, trend)
    with caplog.at_level(logging.INFO, logger="analysis.kpis.stationarity"):
        block = check_backlog_trend(tmp_path, per_rep, small_city(8), warmup_days=3)
    assert block["tested"] and not block["stationary"]
    assert block["streets_tested"] == 8 and block["streets_significant"] == 2 and block["streets_rising"] == 2
    assert [x["street"] for x in block["largest"]] == ["S2", "S5"] and block["largest_among"] == "significant"
    assert block["streets_unadjusted"] >= 2 and block["streets_unadjusted_expected"] == pytest.approx(0.4)
    assert block["city"]["significant"] and block["replications"] == 6 and block["days"] == 40
    json.dumps(block, allow_nan=False)  # JSON-safe
    rows = read_csv(tmp_path / BACKLOG_TREND_FILE)
    assert list(rows[0]) == list(TREND_COLUMNS) and len(rows) == 8
    assert [r["unit"] for r in rows if r["significant"] == "1"] == ["2", "5"]
    assert rows[3]["district"] == "West" and rows[3]["street_zh"] == "街3"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "2 of 8 streets" in text and "S2" in text and "warmup_days (now 3)" in text


def test_no_trend_no_warning(tmp_path, caplog):
    per_rep = per_rep_with(np.random.default_rng(9), 6, 40, np.zeros(8))
    with caplog.at_level(logging.INFO, logger="analysis.kpis.stationarity"):
        block = check_backlog_trend(tmp_path, per_rep, small_city(8))
    assert block["stationary"] and block["streets_significant"] == 0 and not block["city"]["significant"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert block["largest_among"] == "unadjusted p below alpha"
    assert any("no significant trend" in r.getMessage() for r in caplog.records)


def test_a_street_without_tickets_is_not_tested(tmp_path):
    per_rep = per_rep_with(np.random.default_rng(10), 4, 20, np.zeros(3))
    for rep in per_rep:
        rep[SERIES_KEY][:, 1] = 0
    block = check_backlog_trend(tmp_path, per_rep, small_city(3))
    assert block["streets_tested"] == 2
    row = read_csv(tmp_path / BACKLOG_TREND_FILE)[1]
    assert row["p_value"] == "" and row["p_adjusted"] == "" and row["significant"] == "0"


@pytest.mark.parametrize("reps, days, reason", [(1, 30, "one replication"), (3, 1, "at least two"),
                                                 (0, 0, "no street tickets")])
def test_when_the_test_cannot_run_it_says_so(tmp_path, caplog, reps, days, reason):
    per_rep = per_rep_with(np.random.default_rng(12), reps, days, np.ones(4)) if reps else [{"monthly": None}]
    with caplog.at_level(logging.INFO, logger="analysis.kpis.stationarity"):
        block = check_backlog_trend(tmp_path, per_rep, small_city(4) if reps else None)
    assert block["tested"] is False and reason in block["reason"]
    assert not (tmp_path / BACKLOG_TREND_FILE).exists()
    assert any(reason in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def filling_up(tmp_path_factory):
    """Three days from an empty city with no warm-up: the backlogs can only rise."""
    return run_cli(tmp_path_factory.mktemp("stationarity") / "run",
                   ["replications=3", "horizon_days=3", "warmup_days=0", MONDAY, *SMALL, "charts=none",
                    "report=false"])


def test_a_run_that_is_not_stationary_warns_in_its_run_log(filling_up):
    assert_ok(filling_up)
    log = (filling_up.dir / "run.log").read_text(encoding="utf-8")
    warning = [line for line in log.splitlines() if "[WARNING]" in line]
    assert len(warning) == 1 and "[analysis.kpis.stationarity]" in warning[0]
    assert "not stationary" in warning[0] and "warmup_days (now 0)" in warning[0]
    assert "city-wide backlog" in warning[0] and "(significant)" in warning[0]
    assert "[run][INFO] - run started" in log and "[run][INFO] - run finished" in log
    block = filling_up.summary["stationarity"]
    assert block["tested"] and not block["stationary"] and block["city"]["significant"]
    assert block["city"]["ci_low"] > 0 and block["days"] == 3
    assert (filling_up.dir / BACKLOG_TREND_FILE).is_file()
    # on the console: the warning, not the run's INFO lines (the table says the same)
    assert "not stationary" in filling_up.proc.stdout and "run started" not in filling_up.proc.stdout
