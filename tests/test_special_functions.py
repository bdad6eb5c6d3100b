"""The run's tables compute their Student-t, F and binomial values with scipy.special
instead of scipy.stats (whose import costs about 0.5 s more): the values must be the
very same bits, since every table a run writes is compared byte for byte
(analysis.reproducible). Each replacement calls the function scipy.stats calls for
these arguments, so equality is exact (``==`` with NaN equal to NaN), not a tolerance.

And a default-style run (league tables, funnel limits, the backlog trend test, the
street-signal ICC: every former user) writes its tables without importing
scipy.stats, checked in a fresh interpreter as tests/test_imports.py does.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.kpis.stats import f_quantile, t_quantile, t_sf
from sim.ranking import _binomial_functions, binomial_limit

REPO = Path(__file__).resolve().parent.parent
PROBS = (1e-12, 1e-6, 0.001, 0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.995, 0.999, 1 - 1e-9)
DFS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 19, 29, 30, 59, 99, 1000, 10**6, 0.5, 2.5)


def same(a, b) -> bool:
    """Bit for bit (NaN equal to NaN), and the same shape."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_t_quantile_is_scipy_stats_bit_for_bit():
    for df in DFS:
        for p in PROBS + (0.0, 1.0):
            t_quantile.cache_clear()
            assert same(t_quantile(p, df), stats.t.ppf(p, df)), (p, df)


def test_t_survival_function_is_scipy_stats_bit_for_bit():
    x = np.array([0.0, -0.0, 1e-9, 0.3, 1.0, 1.96, 2.5, 4.0, 12.0, 40.0, 1e6, np.inf, -np.inf, np.nan, -1.5])
    for df in DFS:
        assert same(t_sf(x, df), stats.t.sf(x, df)), df
        assert same(2 * t_sf(np.abs(x), df), 2 * stats.t.sf(np.abs(x), df)), df  # trend_test's p-values


def test_f_quantile_is_scipy_stats_bit_for_bit():
    for q in PROBS:
        for dfn in (1, 2, 5, 29, 332, 1000):
            for dfd in (1, 3, 10, 333, 1665, 10**5):
                assert same(f_quantile(q, dfn, dfd), stats.f.ppf(q, dfn, dfd)), (q, dfn, dfd)
    assert same(f_quantile(0.0, 3, 4), stats.f.ppf(0.0, 3, 4))  # the edges: scipy.stats's own answer
    assert same(f_quantile(1.0, 3, 4), stats.f.ppf(1.0, 3, 4))


def test_binomial_ppf_and_cdf_are_scipy_stats_bit_for_bit():
    n = np.array([1, 2, 3, 7, 20, 55, 100, 333, 1000, 12345], dtype=float)
    for p0 in (0.0, 1e-4, 0.03, 0.5, 0.71, 0.97, 0.9999, 1.0):
        for q in (0.001, 0.025, 0.5, 0.975, 0.999):
            ppf, cdf = _binomial_functions(q, n, p0)
            assert ppf is not stats.binom.ppf  # the scipy.special path, not the fallback
            assert same(ppf(q, n, p0), stats.binom.ppf(q, n, p0)), (p0, q)
            for k in (-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 6.0, 6.7, 19.0, 54.0, 99.0, 332.0, 1000.0, 12345.0, 10**6):
                assert same(cdf(np.full(n.shape, k), n, p0), stats.binom.cdf(k, n, p0)), (p0, q, k)
            r = stats.binom.ppf(q, n, p0)
            for shift in (-2, -1, 0, 1):
                assert same(cdf(r + shift, n, p0), stats.binom.cdf(r + shift, n, p0)), (p0, q, shift)


def _binomial_limit_with_scipy_stats(q, n, p0, method):
    """sim.ranking.binomial_limit with scipy.stats.binom's own functions (the reference)."""
    return binomial_limit(q, n, p0, method, binomial=(stats.binom.ppf, stats.binom.cdf))


@pytest.mark.parametrize("method", ["mid_p", "spiegelhalter"])
def test_funnel_limits_are_the_same_as_with_scipy_stats(method):
    n = np.concatenate([np.arange(0, 400, dtype=float), [555.0, 1000.0, 4321.0, 20000.0]])
    for p0 in (0.0, 0.2, 0.613, 0.8734, 0.95, 1.0):
        for q in (0.001, 0.0013498980316301035, 0.025, 0.5, 0.975, 0.999):
            assert same(binomial_limit(q, n, p0, method), _binomial_limit_with_scipy_stats(q, n, p0, method)), \
                (p0, q)
    # arguments off the fast path (a fractional n) still give scipy.stats's answer
    frac = np.array([2.5, 10.0])
    assert same(binomial_limit(0.025, frac, 0.5), _binomial_limit_with_scipy_stats(0.025, frac, 0.5, "mid_p"))


#: A default-style run, small: two replications, a city volume low enough to be quick,
#: ranked months (league tables, robustness, funnel limits, the street-signal ICC) and
#: the backlog trend test.
TABLES_RUN = ["replications=2", "start=2019-05-29T00:00", "horizon_days=40", "warmup_days=3",
              "arrivals.daily_calls=600", "call_center.seats=25", "ranking.min_surveys=2",
              "ranking.robustness.weight_draws=50", "ranking.robustness.sampling_draws=50", "executor=serial",
              "charts=none", "report=false"]


def test_a_default_style_run_writes_its_tables_without_scipy_stats(tmp_path):
    out = tmp_path / "run"
    code = f"""
        import sys
        sys.argv = ["run.py", *{TABLES_RUN!r}, "hydra.run.dir={out}"]
        import run
        run.cli()
        print([m for m in ("scipy.stats", "matplotlib") if m in sys.modules])
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert eval(proc.stdout.strip().splitlines()[-1]) == []  # noqa: S307 - our own one-line repr
    summary = json.loads((out / "summary.json").read_text())
    # every former user of scipy.stats ran: CIs, the trend test, the ICC, the funnel limits
    assert summary["metrics"]["service_level"]["ci_low"] is not None
    assert summary["stationarity"]["tested"]
    assert summary["ranking"]["street_signal"]["icc"] == summary["ranking"]["street_signal"]["icc"]  # not NaN
    assert (out / "funnel.csv").read_text().count("\n") > 10
