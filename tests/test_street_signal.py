"""analysis.rankings.street_signal: ICC(1) of street scores across replications and the
month-to-month persistence of the league table, on data with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.io import write_csv_atomic
from analysis.rankings.league import ROBUSTNESS_COLUMNS, SIGNAL_COLUMNS, UNIT_ROBUSTNESS_COLUMNS
from analysis.ranking import RATES
from analysis.rundir import read_csv
from analysis.rankings.street_signal import (MEASURES, SOURCE, STATISTICS, icc_oneway, month_to_month, panel, signal_rows,
                                    spearman_common, stay, street_signal)

pytestmark = pytest.mark.filterwarnings("error")  # no division or NaN warnings anywhere


def planted(rng, streets=333, reps=6, sd_between=1.0, sd_within=2.0, missing=0.0):
    """Scores = street effect + replication noise, a share ``missing`` of cells NaN."""
    x = rng.normal(0, sd_between, (streets, 1)) + rng.normal(0, sd_within, (streets, reps))
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x


# ------------------------------------------------------------------ ICC(1)
def test_icc_matches_shrout_fleiss_worked_example():
    """Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; BMS 11.24, WMS 6.26,
    ICC(1,1) = 0.17. The F-based interval is that of R's psych::ICC (ICC1: -0.13, 0.72)."""
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
    r = icc_oneway(x)
    assert r["msb"] == pytest.approx(11.24, abs=0.005) and r["msw"] == pytest.approx(6.26, abs=0.005)
    assert r["icc"] == pytest.approx((11.2417 - 6.2639) / (11.2417 + 3 * 6.2639), abs=1e-4)
    assert round(r["icc"], 2) == 0.17 and round(r["ci_low"], 2) == -0.13 and round(r["ci_high"], 2) == 0.72
    assert r["n0"] == 4 and r["streets"] == 6 and r["observations"] == 24 and r["reason"] is None


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_icc_recovers_planted_between_street_share(missing):
    """Population ICC = 1 / (1 + 4) = 0.2; balanced, and with 20% of cells missing
    (unbalanced estimator): the estimate is close and its 95% CI holds 0.2."""
    r = icc_oneway(planted(np.random.default_rng(3), missing=missing))
    assert r["ci_low"] < 0.2 < r["ci_high"]
    assert abs(r["icc"] - 0.2) < 0.05 and r["ci_high"] - r["ci_low"] < 0.15
    assert r["streets"] == 333 and (r["n0"] == 6 if not missing else 4 < r["n0"] < 6)


@pytest.mark.parametrize("missing, truth", [(0.0, 0.2), (0.25, 0.2), (0.0, 0.0), (0.25, 0.6)])
def test_icc_interval_covers_about_95_percent(missing, truth):
    """Coverage of the F interval over 300 planted data sets: 95% when balanced,
    close to it with a quarter of the cells missing (n0 approximation)."""
    rng = np.random.default_rng(11)
    sd_b = math.sqrt(truth / (1 - truth)) if truth else 0.0
    hits = []
    for _ in range(300):
        r = icc_oneway(planted(rng, streets=100, reps=5, sd_between=sd_b, sd_within=1.0, missing=missing))
        hits.append(r["ci_low"] <= truth <= r["ci_high"])
    assert 0.91 <= np.mean(hits) <= 0.985


def test_icc_of_pure_noise_is_about_zero():
    r = icc_oneway(planted(np.random.default_rng(5), sd_between=0.0))
    assert abs(r["icc"]) < 0.03 and r["ci_low"] < 0 < r["ci_high"]


def test_icc_limits_and_unavailable_cases():
    street = np.arange(10.0)[:, None]
    same = icc_oneway(np.repeat(street, 3, axis=1))  # no within-street variance
    assert same["icc"] == same["ci_low"] == same["ci_high"] == 1.0
    one = icc_oneway(np.random.default_rng(0).normal(size=(50, 1)))
    assert math.isnan(one["icc"]) and math.isnan(one["ci_low"]) and "2 replications" in one["reason"]
    flat = icc_oneway(np.ones((5, 3)))
    assert math.isnan(flat["icc"]) and "no variance" in flat["reason"]
    lonely = np.full((5, 3), np.nan)
    lonely[np.arange(5), np.arange(5) % 3] = 1.0 + np.arange(5)  # every street scored once
    assert "in 2 replications" in icc_oneway(lonely)["reason"]
    with pytest.raises(ValueError):
        icc_oneway(np.ones(4))


def test_icc_unbalanced_equals_balanced_when_nothing_is_missing_and_ignores_empty_streets():
    x = planted(np.random.default_rng(8), streets=40, reps=4)
    y = np.vstack([x, np.full((3, 4), np.nan)])  # three streets never ranked
    a, b = icc_oneway(x), icc_oneway(y)
    assert a["icc"] == pytest.approx(b["icc"]) and b["streets"] == 40
    k = 4
    assert a["icc"] == pytest.approx((a["msb"] - a["msw"]) / (a["msb"] + (k - 1) * a["msw"]))


# ------------------------------------------------------------------ month to month
def ranks_of(scores, eligible=None):
    """League ranks (1 = best, 0 = not ranked) of each column of ``scores``."""
    scores = np.asarray(scores, float)
    eligible = np.ones(scores.shape, bool) if eligible is None else eligible
    out = np.zeros(scores.shape, np.int64)
    for j in range(scores.shape[1]):
        idx = np.flatnonzero(eligible[:, j])
        order = idx[np.argsort(-scores[idx, j], kind="stable")]
        out[order, j] = np.arange(1, len(idx) + 1)
    return out


def test_spearman_matches_scipy_on_the_common_streets():
    rng = np.random.default_rng(2)
    s1, s2 = rng.normal(size=(200, 1)), rng.normal(size=(200, 1))
    e1, e2 = rng.random((200, 1)) < 0.9, rng.random((200, 1)) < 0.9
    r1, r2 = ranks_of(s1, e1)[:, 0], ranks_of(s2, e2)[:, 0]
    rho, n = spearman_common(r1, r2)
    both = (r1 > 0) & (r2 > 0)
    assert n == both.sum() and rho == pytest.approx(stats.spearmanr(r1[both], r2[both])[0])
    assert spearman_common(r1, r1)[0] == pytest.approx(1.0)
    assert spearman_common(r1, np.where(r1 > 0, r1.max() + 1 - r1, 0))[0] == pytest.approx(-1.0)
    assert math.isnan(spearman_common([1, 2, 0], [2, 1, 0])[0])


def test_rank_correlation_recovers_planted_persistence():
    """Month 2 score = r x month 1 score + sqrt(1 - r^2) x noise, r = 0.8 (bivariate
    normal): Spearman's rho is (6 / pi) asin(r / 2) = 0.786. Mean over 20 replications,
    its t interval holds it."""
    rng = np.random.default_rng(4)
    r, reps = 0.8, 20
    m1 = rng.normal(size=(333, reps))
    m2 = r * m1 + math.sqrt(1 - r * r) * rng.normal(size=(333, reps))
    out = month_to_month({"2019-06": ranks_of(m1), "2019-07": ranks_of(m2)})
    truth = 6 / math.pi * math.asin(r / 2)
    rc = out["rank_correlation"]
    assert rc["ci_low"] < truth < rc["ci_high"] and abs(rc["mean"] - truth) < 0.02
    assert len(rc["per_replication"]) == reps and out["reason"] is None
    assert out["pairs"][0]["from"] == "2019-06" and out["pairs"][0]["to"] == "2019-07"


def test_bottom_and_top_stay_perfect_reversed_and_random():
    rng = np.random.default_rng(6)
    s = rng.normal(size=(333, 8))
    same = month_to_month({"2019-06": ranks_of(s), "2019-07": ranks_of(s + 1e-9)}, bottom_n=10, top_n=5)
    assert same["bottom_n_stay"]["mean"] == 10 and same["top_n_stay"]["mean"] == 5
    assert same["rank_correlation"]["mean"] == pytest.approx(1.0)
    rev = month_to_month({"2019-06": ranks_of(s), "2019-07": ranks_of(-s)})
    assert rev["bottom_n_stay"]["mean"] == 0 and rev["rank_correlation"]["mean"] == pytest.approx(-1.0)
    # Independent months: about chance, 10 x 10 / 333 = 0.30 staying.
    noise = rng.normal(size=(333, 200))
    rnd = month_to_month({"2019-06": ranks_of(rng.normal(size=(333, 200))), "2019-07": ranks_of(noise)})
    assert rnd["bottom_n_stay_chance"]["mean"] == pytest.approx(100 / 333)
    b = rnd["bottom_n_stay"]
    assert b["ci_low"] < 100 / 333 < b["ci_high"] and abs(rnd["rank_correlation"]["mean"]) < 0.02


def test_stay_counts_an_unranked_street_as_leaving_and_shrinks_small_classes():
    r1 = np.array([1, 2, 3, 4, 5, 6])
    r2 = np.array([1, 2, 3, 4, 5, 0])  # the worst of month 1 is not ranked in month 2
    kept, chance, size = stay(r1, r2, 2, "bottom")
    assert (kept, size) == (1.0, 2) and chance == pytest.approx(1 * 2 / 5)
    assert stay(r1, r2, 10, "top")[2] == 3  # never more than half the ranked units
    assert stay(r1, r2, 2, "top")[:2] == (2.0, pytest.approx(2 * 2 / 5))
    with pytest.raises(ValueError):
        stay(r1, r2, 2, "middle")


def test_one_ranked_month_is_not_available_with_its_reason():
    out = month_to_month({"2019-06": ranks_of(np.random.default_rng(0).normal(size=(50, 3)))})
    assert "only one ranked month (2019-06)" in out["reason"] and out["pairs"] == []
    for s in ("rank_correlation", "bottom_n_stay", "top_n_stay"):
        assert math.isnan(out[s]["mean"]) and math.isnan(out[s]["ci_low"])
    assert "no ranked month" in month_to_month({})["reason"]


def test_one_replication_gives_a_mean_without_interval():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(100, 1))
    out = month_to_month({"2019-06": ranks_of(s), "2019-07": ranks_of(s + rng.normal(size=(100, 1)))})
    rc = out["rank_correlation"]
    assert 0 < rc["mean"] < 1 and math.isnan(rc["ci_low"]) and math.isnan(rc["ci_high"])


# ------------------------------------------------------------------ from league tables to outputs
def tables_from(scores: dict[str, np.ndarray], eligible: dict[str, np.ndarray] | None = None,
                rng=None) -> list[dict]:
    """League-table dicts (the keys analysis.rankings.street_signal reads) from scores per month
    (streets x replications); units listed in a shuffled order, as a table may be."""
    rng = rng or np.random.default_rng(0)
    out = []
    for month, s in scores.items():
        el = np.ones(s.shape, bool) if eligible is None else eligible[month]
        ranks = ranks_of(s, el)
        for j in range(s.shape[1]):
            order = rng.permutation(s.shape[0])
            rates = np.column_stack([s[:, j] / 100 + c for c in (0.9, 0.6, 0.7)])
            out.append({"replication": j, "month": month, "level": "streets", "unit": order,
                        "score": np.where(el[:, j], s[:, j], np.nan)[order], "rank": ranks[order, j],
                        "rates": rates[order]})
            out.append({"replication": j, "month": month, "level": "districts", "unit": np.arange(3),
                        "score": np.zeros(3), "rank": np.arange(1, 4), "rates": np.zeros((3, 3))})
    return out


def test_panel_aligns_units_and_blanks_unranked_streets():
    rng = np.random.default_rng(9)
    s = rng.normal(size=(30, 2))
    el = np.ones((30, 2), bool)
    el[4, 1] = False
    p = panel(tables_from({"2019-06": s}, {"2019-06": el}))
    assert p["months"] == ["2019-06"] and list(p["units"]) == list(range(30)) and p["replications"] == [0, 1]
    score = p["score"]["2019-06"]
    assert np.isnan(score[4, 1]) and score[4, 0] == s[4, 0] and score[7, 1] == s[7, 1]
    assert p["rank"]["2019-06"][4, 1] == 0 and np.all(np.isnan(p["rates"]["2019-06"][4, 1]))
    assert p["rates"]["2019-06"][7, 1, 1] == pytest.approx(s[7, 1] / 100 + 0.6)


def test_street_signal_of_planted_tables_and_its_csv_rows(tmp_path):
    rng = np.random.default_rng(12)
    street = rng.normal(0, 1, (333, 1))
    scores = {m: 80 + 5 * (street + rng.normal(0, 1, (333, 6))) for m in ("2019-06", "2019-07")}
    sig = street_signal(tables_from(scores, rng=rng), bottom_n=10, top_n=10)
    assert sig["icc_month"] == "2019-07" and sig["replications"] == 6 and sig["icc_streets"] == 333
    assert sig["icc_ci"][0] < 0.5 < sig["icc_ci"][1]  # population ICC 1 / (1 + 1)
    for rate in RATES:  # each rate is the score / 100 plus a constant: the same ICC
        assert sig["icc_by_rate"][rate]["icc"] == pytest.approx(sig["icc"])
    # corr of the month scores = 0.5, Spearman = (6 / pi) asin(0.25)
    truth = 6 / math.pi * math.asin(0.25)
    assert sig["rank_correlation_ci"][0] < truth < sig["rank_correlation_ci"][1]
    assert sig["bottom_n_stay_chance"] == pytest.approx(100 / 333) and sig["bottom_n_stay"] > 100 / 333
    assert sig["reasons"] == {"icc": None, "rank_correlation": None}
    rows = signal_rows(sig, ROBUSTNESS_COLUMNS)
    assert all(len(r) == len(ROBUSTNESS_COLUMNS) for r in rows)
    assert len(rows) == 2 * len(MEASURES) + len(STATISTICS) - len(MEASURES)
    path = tmp_path / "robustness.csv"
    write_csv_atomic(path, list(ROBUSTNESS_COLUMNS), rows)
    got = {(r["month"], r["statistic"]): r for r in read_csv(path)}
    assert {r["source"] for r in got.values()} == {SOURCE}
    assert all(r[c] == "" for r in got.values() for c in UNIT_ROBUSTNESS_COLUMNS if c not in ("month", "source"))
    icc = got[("2019-07", "icc_score")]
    assert float(icc["value"]) == pytest.approx(sig["icc"], rel=1e-5)  # 6 significant digits in the file
    assert icc["n"] == "333" and icc["previous_month"] == ""
    rc = got[("2019-07", "rank_correlation")]
    assert rc["previous_month"] == "2019-06"
    assert float(rc["value"]) == pytest.approx(sig["rank_correlation"], rel=1e-5)
    assert rc["n"] == "6" and got[("2019-07", "bottom_n_stay")]["note"] == "bottom 10"
    assert list(ROBUSTNESS_COLUMNS[-len(SIGNAL_COLUMNS):]) == list(SIGNAL_COLUMNS)


def test_street_signal_with_one_month_and_one_replication_does_not_crash():
    rng = np.random.default_rng(13)
    sig = street_signal(tables_from({"2019-06": rng.normal(size=(40, 1))}))
    assert math.isnan(sig["icc"]) and "2 replications" in sig["reasons"]["icc"]
    assert math.isnan(sig["rank_correlation"]) and "only one ranked month" in sig["reasons"]["rank_correlation"]
    rows = signal_rows(sig, ROBUSTNESS_COLUMNS)
    col = {c: i for i, c in enumerate(ROBUSTNESS_COLUMNS)}
    by_stat = {r[col["statistic"]]: r for r in rows}
    assert set(by_stat) == set(STATISTICS)
    assert by_stat["rank_correlation"][col["value"]] is None
    assert "only one ranked month" in by_stat["rank_correlation"][col["note"]]
    assert "2 replications" in by_stat["icc_score"][col["note"]]
    empty = street_signal([])  # no ranked month at all
    assert empty["icc_month"] is None and math.isnan(empty["icc"]) and empty["icc_by_rate"] == {}
    assert all(r[col["value"]] is None and "no ranked month" in r[col["note"]]
               for r in signal_rows(empty, ROBUSTNESS_COLUMNS))


def test_intervals_stay_within_the_possible_range():
    """Few replications and a count near 0: the t interval is clipped at 0 (and at n)."""
    s = np.random.default_rng(21).normal(size=(100, 3))
    r0 = ranks_of(s)
    r1 = r0.copy()
    r1[:, 0] = ranks_of(-s[:, :1])[:, 0]  # replication 0 reversed: nobody stays, rho = -1
    out = month_to_month({"2019-06": r0, "2019-07": r1}, bottom_n=10)
    assert out["bottom_n_stay"]["per_replication"] == [0.0, 10.0, 10.0]
    assert out["bottom_n_stay"]["ci_low"] == 0.0 and out["bottom_n_stay"]["ci_high"] == 10.0
    assert out["rank_correlation"]["ci_low"] == -1.0 and out["rank_correlation"]["ci_high"] == 1.0


def test_a_month_ranked_in_some_replications_only():
    """A replication where the second month is not ranked (all ranks 0) adds nothing
    to the month-to-month means, and the month's ICC uses the replications ranking it."""
    rng = np.random.default_rng(22)
    s = rng.normal(size=(60, 3))
    r0, r1 = ranks_of(s), ranks_of(s + 0.1 * rng.normal(size=(60, 3)))
    r1[:, 2] = 0
    out = month_to_month({"2019-06": r0, "2019-07": r1})
    for name in ("rank_correlation", "bottom_n_stay", "bottom_n_stay_chance", "top_n_stay"):
        assert math.isnan(out[name]["per_replication"][2]) and math.isfinite(out[name]["mean"])
    assert out["rank_correlation"]["mean"] > 0.9
    score = np.where(r1 > 0, s, np.nan)
    assert icc_oneway(score)["replications"] == 2 and icc_oneway(score)["streets"] == 60
