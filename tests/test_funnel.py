"""analysis.rankings.funnel: exact-binomial funnel limits (Spiegelhalter 2005) and flags."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.rankings.funnel import COLUMNS, binomial_limit, funnel_table
from analysis.ranking import RATES

pytestmark = pytest.mark.filterwarnings("error")

BASIC = 0.9


def counts(n_known, signed, surveyed, resolved, satisfied, basically=None) -> dict:
    surveyed = np.asarray(surveyed)
    return {"signed_on_time": np.asarray(signed), "responded_known": np.asarray(n_known), "surveyed": surveyed,
            "resolved": np.asarray(resolved), "satisfied": np.asarray(satisfied),
            "basically_satisfied": np.zeros_like(surveyed) if basically is None else np.asarray(basically)}


def block(table: dict, rate: str) -> dict:
    sel = table["rate"] == rate
    return {k: v[sel] for k, v in table.items()}


def test_limit_by_hand():
    n, p0 = 100, 0.5
    r = 60  # smallest r with F(r) >= 0.975
    f60, f59 = stats.binom.cdf(60, n, p0), stats.binom.cdf(59, n, p0)
    assert f59 < 0.975 <= f60
    alpha = (f60 - 0.975) / (f60 - f59)
    assert binomial_limit(0.975, n, p0, "spiegelhalter") == pytest.approx((r - alpha) / n)
    assert binomial_limit(0.975, n, p0) == pytest.approx((r - alpha + 0.5) / n)
    # Centred: symmetric around p0 = 0.5 and close to the normal approximation.
    assert binomial_limit(0.025, n, p0) == pytest.approx(1 - binomial_limit(0.975, n, p0))
    assert binomial_limit(0.975, n, p0) == pytest.approx(0.5 + 1.96 * 0.05, abs=0.002)
    assert np.isnan(binomial_limit(0.975, 0, p0))


@pytest.mark.parametrize("n,p0", [(40, 0.7), (25, 0.95), (200, 0.62)])
def test_outside_the_limits_is_the_mid_p_test(n, p0):
    y = np.arange(n + 1)
    pmf, cdf = stats.binom.pmf(y, n, p0), stats.binom.cdf(y, n, p0)
    upper_mid_p = (1 - cdf) + pmf / 2  # P(Y > y) + P(Y = y) / 2
    lower_mid_p = (cdf - pmf) + pmf / 2  # P(Y < y) + P(Y = y) / 2
    for tail in (0.025, 0.001):
        hi, lo = binomial_limit(1 - tail, n, p0), binomial_limit(tail, n, p0)
        np.testing.assert_array_equal(y / n > hi, upper_mid_p < tail)
        np.testing.assert_array_equal(y / n < lo, lower_mid_p < tail)


def test_limits_widen_as_n_shrinks_contain_p0_and_nest():
    n = 10 * 2 ** np.arange(10)  # 10 ... 5120
    n = np.concatenate([n, n])
    t = funnel_table(counts(n, np.rint(0.93 * n), n, np.rint(0.6 * n), np.rint(0.55 * n), np.rint(0.3 * n)), BASIC)
    assert set(t) == set(COLUMNS) and len(t["unit"]) == 3 * len(n)
    for rate in RATES:
        b = block(t, rate)
        p0 = b["p0"][0]
        assert np.all(b["lo998"] <= b["lo95"]) and np.all(b["lo95"] <= p0) and np.all(p0 <= b["hi95"])
        assert np.all(b["hi95"] <= b["hi998"])
        inner = (b["lo998"] > 0) & (b["hi998"] < 1)  # strict where no clipping at 0 or 1
        assert inner.sum() >= 10
        assert np.all(b["lo998"][inner] < b["lo95"][inner]) and np.all(b["hi95"][inner] < b["hi998"][inner])
        order = np.argsort(b["n"][:10])
        for lo, hi in (("lo95", "hi95"), ("lo998", "hi998")):
            width = (b[hi] - b[lo])[:10][order]
            assert np.all(np.diff(width) < 0), (rate, lo)


def test_units_on_target_fall_outside_at_the_nominal_rate():
    rng = np.random.default_rng(2005)
    units = 2000
    n = rng.integers(30, 1000, units)
    p = 0.7
    sat = rng.binomial(n, p)
    t = funnel_table(counts(n, rng.binomial(n, p), n, rng.binomial(n, p), sat), BASIC)
    for rate in RATES:
        b = block(t, rate)
        assert b["p0"][0] == pytest.approx(p, abs=0.01)
        outside95 = int(np.sum(b["flag"] != "inside"))
        assert stats.binomtest(outside95, units, 0.05).pvalue > 0.001, (rate, outside95)
        outside998 = int(np.isin(b["flag"], ["above_99.8", "below_99.8"]).sum())
        assert outside998 <= 0.01 * units, (rate, outside998)
        # Roughly symmetric: both directions occur.
        assert np.sum(np.char.startswith(b["flag"], "above")) > 0.3 * outside95
        assert np.sum(np.char.startswith(b["flag"], "below")) > 0.3 * outside95


def test_a_large_unit_far_off_target_is_flagged_and_no_data_is_marked():
    n = np.array([200] * 30 + [3000, 3000, 0])
    resolved = np.rint(0.8 * n)
    resolved[30] = 0.6 * 3000  # far below
    resolved[31] = 0.95 * 3000  # far above
    t = funnel_table(counts(n, n, n, resolved, np.rint(0.7 * n)), BASIC)
    b = block(t, "resolution_rate")
    assert b["flag"][30] == "below_99.8" and b["flag"][31] == "above_99.8"
    assert np.all(b["flag"][:30] == "inside")
    for rate in RATES:
        b = block(t, rate)
        assert b["flag"][32] == "no_data" and np.isnan(b["value"][32]) and np.isnan(b["hi95"][32])


def test_satisfaction_uses_the_weighted_numerator_and_p0_is_pooled():
    surveyed = np.array([10, 50, 200])
    sat, basic = np.array([5, 30, 100]), np.array([3, 10, 60])
    t = funnel_table(counts(surveyed, surveyed, surveyed, [5, 25, 150], sat, basic), BASIC)
    b = block(t, "satisfaction_rate")
    np.testing.assert_allclose(b["value"], (sat + BASIC * basic) / surveyed)
    assert b["p0"][0] == pytest.approx((sat + BASIC * basic).sum() / surveyed.sum())
    r = block(t, "resolution_rate")
    assert r["p0"][0] == pytest.approx(180 / 260)  # pooled, not the mean of the rates


def test_full_response_is_not_flagged_when_the_target_is_near_one():
    """Response rate "always 100%": the textbook interpolation puts every unit at 100%
    above its upper limit; the mid-p limits leave them inside."""
    n = np.full(300, 60)
    signed = n.copy()
    signed[:3] = 59
    c = counts(n, signed, n, np.rint(0.7 * n), np.rint(0.7 * n))
    mid = block(funnel_table(c, BASIC), "response_rate")
    assert np.all(mid["flag"][3:] == "inside")
    textbook = block(funnel_table(c, BASIC, method="spiegelhalter"), "response_rate")
    assert np.all(textbook["flag"][3:] == "above_99.8")
    with pytest.raises(ValueError, match="method"):
        funnel_table(c, BASIC, method="normal")
