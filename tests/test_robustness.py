"""analysis.rankings.robustness: rank distributions under weight, sampling and simulation
uncertainty, agreement with the nominal table, effective weights."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.ranking import RobustnessConfig, composite, rank_matrix, rank_units, tie_order
from analysis.rankings.robustness import (
    COUNT_KEYS, SOURCES, UNIT_COLUMNS, ZERO_WEIGHT_FLOOR, effective_weights, rank_agreement, rank_distributions,
    rank_with_tie_rule, rates_from_counts,
)

pytestmark = pytest.mark.filterwarnings("error")  # no division or NaN warnings anywhere

WEIGHTS = (0.1, 0.45, 0.45)
BASIC = 0.9


def cfg(draws: int = 200, concentration: float = 50.0, seed: int = 7, sampling: int | None = None) -> RobustnessConfig:
    return RobustnessConfig(enabled=True, weight_draws=draws, dirichlet_concentration=concentration,
                            sampling_draws=draws if sampling is None else sampling, seed=seed)


def counts_from(known, surveyed, p_resp, p_res, p_sat, p_basic) -> dict:
    """Counts with exactly these proportions (rounded), so shrinking keeps them."""
    known, surveyed = np.asarray(known, np.int64), np.asarray(surveyed, np.int64)
    sat = np.rint(p_sat * surveyed).astype(np.int64)
    basic = np.minimum(np.rint(p_basic * surveyed).astype(np.int64), surveyed - sat)
    return {"signed_on_time": np.rint(p_resp * known).astype(np.int64), "responded_known": known,
            "surveyed": surveyed, "resolved": np.rint(p_res * surveyed).astype(np.int64),
            "satisfied": sat, "basically_satisfied": basic}


def random_counts(rng, n: int, mean_surveyed: float = 150.0) -> dict:
    """A month of n streets with realistic spread: rates differ, denominators vary."""
    surveyed = rng.poisson(mean_surveyed, n) + 1
    known = surveyed + rng.poisson(mean_surveyed / 2, n)
    p_sat = rng.uniform(0.5, 0.9, n)
    sat = rng.binomial(surveyed, p_sat)
    return {"signed_on_time": rng.binomial(known, rng.uniform(0.9, 1.0, n)), "responded_known": known,
            "surveyed": surveyed, "resolved": rng.binomial(surveyed, rng.uniform(0.4, 0.9, n)),
            "satisfied": sat, "basically_satisfied": rng.binomial(surveyed - sat, 0.5)}


def few_surveys(c: dict, units, surveyed: int) -> None:
    """Give ``units`` only ``surveyed`` callbacks (below min_surveys: not ranked)."""
    c["surveyed"][units] = surveyed
    for k in ("resolved", "satisfied"):
        c[k][units] = np.minimum(c[k][units], surveyed)
    c["basically_satisfied"][units] = np.minimum(c["basically_satisfied"][units], surveyed - c["satisfied"][units])


def col(result, source: str, name: str) -> np.ndarray:
    return result.units[name][result.units["source"] == source]


# ------------------------------------------------------------------ rates and nominal table
def test_rates_from_counts_by_hand():
    c = {"signed_on_time": [9, 0, 3], "responded_known": [10, 0, 4], "surveyed": [20, 0, 5],
         "resolved": [15, 0, 5], "satisfied": [10, 0, 1], "basically_satisfied": [5, 0, 4]}
    r = rates_from_counts(c, 0.9)
    np.testing.assert_allclose(r[0], [0.9, 0.75, (10 + 0.9 * 5) / 20])
    assert np.isnan(r[1]).all()
    np.testing.assert_allclose(r[2], [0.75, 1.0, (1 + 3.6) / 5])
    with pytest.raises(ValueError, match="resolved exceeds surveyed"):
        rates_from_counts({**c, "resolved": [21, 0, 5]}, 0.9)
    with pytest.raises(ValueError, match="lack"):
        rates_from_counts({k: v for k, v in c.items() if k != "satisfied"}, 0.9)


def test_weights_on_response_only_rank_by_response_with_the_tie_rule():
    rng = np.random.default_rng(1)
    n = 120
    known = rng.integers(5, 60, n)
    # Many ties on the response rate (everyone signed on time at 100%, or 4 of 5).
    signed = np.where(rng.random(n) < 0.5, known, (known * 4) // 5)
    signed[::7] = known[::7] // 2
    c = random_counts(rng, n)
    c.update(signed_on_time=signed, responded_known=known)
    few_surveys(c, slice(None, None, 11), 3)  # not ranked
    res = rank_distributions(c, BASIC, (1, 0, 0), cfg(50), min_surveys=10, top_n=10, bottom_n=10)
    rates = rates_from_counts(c, BASIC)
    ok = c["surveyed"] >= 10
    # Independent reference: sort by (-response, -resolution, -satisfaction, index).
    order = sorted(np.flatnonzero(ok), key=lambda i: (-rates[i, 0], -rates[i, 1], -rates[i, 2], i))
    expected = np.zeros(n, np.int64)
    expected[order] = np.arange(1, len(order) + 1)
    np.testing.assert_array_equal(res.nominal_ranks, expected)
    np.testing.assert_array_equal(col(res, "weights_dirichlet", "nominal_rank"), expected)
    # Zero nominal weights are floored, not zero, in the Dirichlet draws: finite, tiny.
    wd = res.weight_draws["weights_dirichlet"]
    assert np.isfinite(wd).all() and np.allclose(wd.sum(axis=1), 1)
    assert wd[:, 1:].mean() < 5 * ZERO_WEIGHT_FLOOR
    assert np.all(res.ranks["weights_dirichlet"][~ok] == 0)
    for name in ("median_rank", "rank_p05", "p_top_n", "share_ranked"):
        assert np.isnan(col(res, "sampling", name)[~ok]).all()


def test_tie_rule_ranking_per_draw_matches_rank_matrix():
    rng = np.random.default_rng(2)
    n, k = 60, 5
    rates = rng.choice([0.5, 0.75, 1.0], size=(n, 3))  # many exact ties, on score and rates
    rates[3] = np.nan
    eligible = ~np.isnan(rates).any(axis=1)
    eligible[::9] = False
    scores = composite(rates, WEIGHTS)
    expected = rank_matrix(scores[:, None], tie_order(rates), eligible)[:, 0]
    stacked = np.repeat(rates[:, None, :], k, axis=1)
    got = rank_with_tie_rule(composite(stacked, WEIGHTS), stacked, eligible)
    np.testing.assert_array_equal(got, np.repeat(expected[:, None], k, axis=1))


def test_permuting_units_permutes_the_deterministic_results():
    rng = np.random.default_rng(3)
    n = 150
    c = random_counts(rng, n)
    few_surveys(c, slice(0, 5), 2)  # a few unranked units
    scores = composite(rates_from_counts(c, BASIC), WEIGHTS)
    assert len(np.unique(scores)) == n  # no exact ties, so the index tie-break never acts
    perm = rng.permutation(n)
    a = rank_distributions(c, BASIC, WEIGHTS, cfg(300), 10, 10, 10)
    b = rank_distributions({k: v[perm] for k, v in c.items()}, BASIC, WEIGHTS, cfg(300), 10, 10, 10)
    np.testing.assert_array_equal(b.nominal_ranks, a.nominal_ranks[perm])
    for source in ("weights_dirichlet", "weights_simplex"):
        for name in ("nominal_rank", "median_rank", "rank_p05", "rank_p95", "p_top_n", "p_bottom_n", "share_ranked"):
            np.testing.assert_array_equal(col(b, source, name), col(a, source, name)[perm], err_msg=name)
        for key, value in a.overall[source].items():
            assert b.overall[source][key] == pytest.approx(value, nan_ok=True), key
    for key in ("first_order", "linear_r2", "first_order_normalised"):
        np.testing.assert_allclose(b.effective_weights[key], a.effective_weights[key], rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ rank intervals
def test_summaries_are_computed_from_the_draws():
    rng = np.random.default_rng(4)
    n = 80
    c = random_counts(rng, n, mean_surveyed=40)
    few_surveys(c, [0], 1)
    reps = np.column_stack([rank_units(rates_from_counts(random_counts(rng, n, 40), BASIC), WEIGHTS,
                                       np.full(n, 50), 10)[1] for _ in range(7)])
    reps[5:15, :3] = 0  # some units unranked in some replications
    top, bottom = 8, 6
    res = rank_distributions(c, BASIC, WEIGHTS, cfg(101), 10, top, bottom, replication_ranks=reps)
    assert list(res.overall) == list(SOURCES)
    assert set(res.units) == set(UNIT_COLUMNS) and len(res.units["unit"]) == 4 * n
    for source in SOURCES:
        r = res.ranks[source]
        for i in range(n):
            ranked = r[i][r[i] > 0]
            got = [col(res, source, name)[i] for name in ("rank_p05", "median_rank", "rank_p95")]
            if not ranked.size:
                assert np.isnan(got).all()
                continue
            want = np.quantile(ranked, (0.05, 0.5, 0.95), method="inverted_cdf")
            np.testing.assert_array_equal(got, want)
            assert np.mean(ranked >= got[0]) >= 0.95 and np.mean(ranked <= got[2]) >= 0.95
            n_ranked = (r > 0).sum(axis=0)
            assert col(res, source, "p_top_n")[i] == pytest.approx(np.mean((r[i] > 0) & (r[i] <= top)))
            assert col(res, source, "p_bottom_n")[i] == pytest.approx(
                np.mean((r[i] > 0) & (r[i] > n_ranked - bottom)))
            assert col(res, source, "share_ranked")[i] == pytest.approx(np.mean(r[i] > 0))


def test_sampling_interval_without_noise_is_narrow_and_holds_the_nominal_rank():
    rng = np.random.default_rng(5)
    n = 100
    p_res = rng.permutation(np.linspace(0.30, 0.95, n))  # well separated
    c = counts_from(np.full(n, 10**6), np.full(n, 10**6), np.full(n, 0.98), p_res,
                    np.clip(p_res + 0.02, 0, 0.95), np.full(n, 0.02))
    res = rank_distributions(c, BASIC, WEIGHTS, cfg(200), 10, 10, 10)
    nominal = col(res, "sampling", "nominal_rank")
    lo, hi = col(res, "sampling", "rank_p05"), col(res, "sampling", "rank_p95")
    assert np.mean((lo <= nominal) & (nominal <= hi)) >= 0.9
    assert np.mean(hi - lo) <= 1.0
    assert res.overall["sampling"]["spearman_rho_p05"] > 0.999


def test_fewer_surveys_widen_the_sampling_intervals():
    rng = np.random.default_rng(6)
    n = 100
    small_known, small_surveyed = rng.integers(15, 30, n), rng.integers(15, 30, n)
    p_resp, p_res = rng.uniform(0.9, 1, n), rng.uniform(0.5, 0.9, n)
    p_sat, p_basic = rng.uniform(0.5, 0.8, n), rng.uniform(0.05, 0.15, n)
    small = counts_from(small_known, small_surveyed, p_resp, p_res, p_sat, p_basic)
    big = {k: 20 * v for k, v in small.items()}  # same proportions, 20x the answers
    widths = {}
    for label, c in (("big", big), ("small", small)):
        res = rank_distributions(c, BASIC, WEIGHTS, cfg(300), 1, 10, 10)
        np.testing.assert_array_equal(res.nominal_ranks, rank_units(rates_from_counts(small, BASIC), WEIGHTS,
                                                                     small["surveyed"], 1)[1])
        widths[label] = np.mean(col(res, "sampling", "rank_p95") - col(res, "sampling", "rank_p05"))
        assert res.overall["sampling"]["kendall_tau_mean"] < 1
    assert widths["small"] > 1.5 * widths["big"]
    assert widths["big"] > 0


def test_results_are_reproducible_from_the_seed():
    rng = np.random.default_rng(7)
    c = random_counts(rng, 50, 30)
    a = rank_distributions(c, BASIC, WEIGHTS, cfg(100, seed=1), 10, 5, 5)
    b = rank_distributions(c, BASIC, WEIGHTS, cfg(100, seed=1), 10, 5, 5)
    d = rank_distributions(c, BASIC, WEIGHTS, cfg(100, seed=2), 10, 5, 5)
    for source in a.ranks:
        np.testing.assert_array_equal(a.ranks[source], b.ranks[source])
        assert not np.array_equal(a.ranks[source], d.ranks[source])


def test_tighter_dirichlet_moves_ranks_less():
    rng = np.random.default_rng(8)
    c = random_counts(rng, 120)
    shift = [rank_distributions(c, BASIC, WEIGHTS, cfg(200, concentration=k), 10, 10, 10)
             .overall["weights_dirichlet"]["mean_abs_shift"] for k in (5.0, 50.0, 500.0)]
    assert shift[0] > shift[1] > shift[2] > 0


# ------------------------------------------------------------------ agreement with the nominal table
def test_agreement_is_one_without_noise():
    rng = np.random.default_rng(9)
    n = 90
    c = counts_from(np.full(n, 500), np.full(n, 500), np.full(n, 1.0), rng.permutation(np.linspace(0.4, 0.9, n)),
                    np.full(n, 0.7), np.zeros(n))
    nominal = rank_units(rates_from_counts(c, BASIC), WEIGHTS, c["surveyed"], 10)[1]
    reps = np.repeat(nominal[:, None], 5, axis=1)
    res = rank_distributions(c, BASIC, WEIGHTS, cfg(100, concentration=1e12), 10, 10, 10, replication_ranks=reps)
    for source in ("weights_dirichlet", "replications"):
        o = res.overall[source]
        for key in ("kendall_tau_mean", "kendall_tau_p05", "spearman_rho_mean", "spearman_rho_p05"):
            assert o[key] == 1.0, (source, key)
        assert o["mean_abs_shift"] == 0 and o["share_shift_gt3"] == 0
        np.testing.assert_array_equal(col(res, source, "median_rank"), nominal)
        np.testing.assert_array_equal(col(res, source, "rank_p05"), col(res, source, "rank_p95"))
    # A reversed table disagrees completely.
    agree = rank_agreement(nominal, (n + 1 - nominal)[:, None])
    assert agree["kendall_tau"][0] == -1.0 and agree["spearman_rho"][0] == -1.0


def test_kendall_and_spearman_agree_with_scipy_on_the_common_units():
    rng = np.random.default_rng(10)
    n, k = 70, 12
    nominal = np.zeros(n, np.int64)
    ranked = rng.choice(n, 60, replace=False)
    nominal[ranked] = rng.permutation(60) + 1
    draws = np.zeros((n, k), np.int64)
    for j in range(k):
        who = rng.choice(n, 55 + j, replace=False)
        draws[who, j] = rng.permutation(len(who)) + 1
    agree = rank_agreement(nominal, draws)
    for j in range(k):
        both = (nominal > 0) & (draws[:, j] > 0)
        assert agree["units"][j] == both.sum()
        assert agree["kendall_tau"][j] == pytest.approx(stats.kendalltau(nominal[both], draws[both, j]).statistic)
        assert agree["spearman_rho"][j] == pytest.approx(stats.spearmanr(nominal[both], draws[both, j]).statistic)
        shift = np.abs(nominal[both] - draws[both, j])
        assert agree["mean_abs_shift"][j] == pytest.approx(shift.mean())
        assert agree["share_shift_gt10"][j] == pytest.approx(np.mean(shift > 10))
    empty = rank_agreement(nominal, np.zeros((n, 2), np.int64))
    assert np.isnan(empty["kendall_tau"]).all() and np.isnan(empty["mean_abs_shift"]).all()


# ------------------------------------------------------------------ effective weights
def test_constant_rate_has_zero_effective_weight():
    rng = np.random.default_rng(11)
    n = 333
    rates = np.column_stack([np.ones(n), rng.uniform(0.5, 0.9, n), rng.uniform(0.6, 0.95, n)])
    ew = effective_weights(rates, WEIGHTS, np.ones(n, bool))
    assert ew["first_order"][0] == 0 and ew["linear_r2"][0] == 0 and ew["first_order_normalised"][0] == 0
    assert np.isfinite(ew["first_order"]).all() and ew["first_order_normalised"].sum() == pytest.approx(1)
    # All rates constant: the score is constant, everything 0 (no 0/0).
    flat = effective_weights(np.full((n, 3), 0.8), WEIGHTS, np.ones(n, bool))
    assert np.all(flat["first_order"] == 0) and np.all(flat["first_order_normalised"] == 0)
    tiny = effective_weights(rates[:2], WEIGHTS, np.ones(2, bool))
    assert np.all(tiny["first_order"] == 0)


def test_independent_uniform_rates_with_equal_weights_get_a_third_each():
    rng = np.random.default_rng(12)
    n = 3000
    ew = effective_weights(rng.uniform(0, 1, (n, 3)), (1 / 3, 1 / 3, 1 / 3), np.ones(n, bool))
    np.testing.assert_allclose(ew["first_order_normalised"], 1 / 3, atol=0.05)
    np.testing.assert_allclose(ew["first_order"], 1 / 3, atol=0.06)
    np.testing.assert_allclose(ew["linear_r2_normalised"], 1 / 3, atol=0.05)


def test_first_order_index_matches_the_linear_model_value():
    rng = np.random.default_rng(13)
    n = 4000
    sd = np.array([0.02, 0.10, 0.05])  # e.g. response barely varies
    rates = 0.5 + sd * rng.standard_normal((n, 3))
    w = np.array([0.3, 0.35, 0.35])
    truth = (w * sd) ** 2 / np.sum((w * sd) ** 2)  # independent inputs: S_i = w_i^2 var_i / var(score)
    ew = effective_weights(rates, w, np.ones(n, bool))
    np.testing.assert_allclose(ew["first_order"], truth, atol=0.04)
    assert ew["first_order_normalised"][0] < 0.1 < w[0] - 0.1  # nominal 30%, effective a few %


def test_correlated_rate_gets_weight_without_nominal_weight_and_ties_group_by_value():
    rng = np.random.default_rng(14)
    n = 333
    res_rate = rng.uniform(0.4, 0.9, n)
    sat = np.clip(res_rate + rng.normal(0, 0.03, n), 0, 1)
    resp = rng.choice([0.9, 1.0], n)  # two values only
    ew = effective_weights(np.column_stack([resp, res_rate, sat]), (0.0, 1.0, 0.0), np.ones(n, bool))
    assert ew["first_order"][2] > 0.8  # moves with the score through its correlation
    assert ew["first_order"][0] < 0.05 and ew["bins"][0] == 2
    # Ineligible or NaN rows are left out.
    rates = np.column_stack([resp, res_rate, sat])
    rates[:10] = np.nan
    eligible = np.ones(n, bool)
    eligible[10:20] = False
    assert effective_weights(rates, (0.0, 1.0, 0.0), eligible)["units"] == n - 20


def test_count_keys_are_the_monthly_table_columns():
    from analysis.kpis.tickets import MONTHLY_COLUMNS
    assert set(COUNT_KEYS) <= set(MONTHLY_COLUMNS)


# ------------------------------------------------------------------ sorting with ties
def _plain_rank_with_tie_rule(scores, rates, eligible):
    """rank_with_tie_rule as one lexsort of every key (the reference)."""
    from sim.ranking import TIE_BREAK
    n, k = scores.shape
    keys = [np.broadcast_to(np.arange(n), (k, n))]
    keys += [-np.nan_to_num(rates[:, :, j].T, nan=-1.0) for j in reversed(TIE_BREAK)]
    keys.append(np.where(eligible[None, :], -scores.T, np.inf))
    order = np.lexsort(keys, axis=-1)
    ranks = np.empty((k, n), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[None, :], axis=1)
    ranks[:, ~eligible] = 0
    return np.ascontiguousarray(ranks.T)


def _tied_draws(rng, n=333, k=1000):
    """Rates of counts like a month's (a few streets with few callbacks and rates near
    1: ties in most draws, as in the default run's sampling draws, where 3/4 of the
    draws have tied scores), a few NaN rates and ineligible units."""
    surveyed = np.where(np.arange(n) < 12, 3, rng.integers(20, 400, size=n))[:, None]
    p = np.where(np.arange(n)[:, None, None] < 12, 0.97, rng.uniform(0.5, 1.0, size=(n, 1, 3)))
    rates = rng.binomial(surveyed[:, :, None], p, size=(n, k, 3)) / surveyed[:, :, None]
    rates[rng.random((n, k, 3)) < 0.002] = np.nan
    scores = composite(np.nan_to_num(rates.reshape(-1, 3)), WEIGHTS).reshape(n, k)
    eligible = rng.random(n) > 0.05
    return scores, rates, eligible


def test_lexsort_rows_is_a_lexsort_of_every_key():
    from analysis.rankings.robustness import lexsort_rows
    rng = np.random.default_rng(3)
    for trial in range(30):
        rows, n = rng.integers(1, 40), rng.integers(1, 60)
        primary = rng.integers(0, rng.integers(1, 8), size=(rows, n)).astype(float)
        specials = rng.random((rows, n))
        primary[specials < 0.05] = np.nan
        primary[(specials >= 0.05) & (specials < 0.1)] = np.inf
        primary[(specials >= 0.1) & (specials < 0.15)] = -0.0
        secondary = [rng.integers(0, 3, size=(rows, n)).astype(float) for _ in range(3)]
        secondary[0][rng.random((rows, n)) < 0.1] = np.nan
        want = np.lexsort([*secondary, primary], axis=-1)
        got = lexsort_rows(primary.copy(), lambda r, u: [key[r, u] for key in secondary])
        assert np.array_equal(got, want), trial


def test_rank_with_tie_rule_is_the_plain_lexsort():
    rng = np.random.default_rng(11)
    for _ in range(3):
        scores, rates, eligible = _tied_draws(rng)
        assert np.array_equal(rank_with_tie_rule(scores, rates, eligible),
                              _plain_rank_with_tie_rule(scores, rates, eligible))

