"""Benchmark: the vectorised rank-robustness analysis against a straightforward loop.

What
----
One month of a synthetic city (``--units`` streets, 333 by default, as in 2018):
tickets per street lognormal around 205 a month (410 k street tickets in H1 2019,
DOMAIN.md), about 60% of them reached by the callback survey, street-level response,
resolution and satisfaction probabilities spread around the 2019 levels; plus
``--replications`` (10) rankings of the same month from independent redraws of every
street's counts (standing in for simulation replications). Minimum 10 surveys to be
ranked, top/bottom 10, weights 10/45/45.

Both sides compute the same analysis: ``--draws`` (1000) Dirichlet weight draws
around the nominal weights, ``--draws`` uniform-simplex weight draws,
``--sampling-draws`` (1000) parametric-bootstrap redraws of the counts, and the
replications; per source each street's rank median, 90% interval and chances of the
top/bottom 10, and per draw Kendall's tau, Spearman's rho and rank shifts against the
nominal table.

* vectorised: ``analysis.rankings.robustness.rank_distributions`` (draws x units arrays, one
  lexsort per source, Kendall's tau by pairwise comparison over all draws at once);
* baseline: the obvious code -- a Python loop over draws that draws the weights (or
  the counts, vectorised over units), computes the scores, ranks them with
  ``scipy.stats.rankdata`` and calls ``scipy.stats.kendalltau`` and
  ``scipy.stats.spearmanr``; per-unit summaries with numpy on the stacked ranks.

Why
---
``rank_distributions`` runs for every month of every run; the brief requires it to
take seconds, and this measures what the vectorisation buys over the loop one would
write first. The mean Kendall's tau of each source is printed for both sides as a
check that they compute the same thing (the random draws differ, so the means agree
up to Monte Carlo noise, and exactly for the replications).

Method
------
Both run in this process, alternately, ``--repeats`` times (default 3); the best wall
time of each is kept. Wall time covers everything: rates, random draws, ranks,
summaries.

Usage::

    python benchmarks/bench_robustness.py [--units 333] [--draws 1000] [--sampling-draws 1000]
                                          [--replications 10] [--repeats 3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats

from analysis.ranking import RobustnessConfig, rank_units
from analysis.rankings.robustness import dirichlet_alpha, rank_distributions, rates_from_counts

WEIGHTS = np.array([0.10, 0.45, 0.45])
BASIC_WEIGHT = 0.9
MIN_SURVEYS = 10
TOP_N = BOTTOM_N = 10
CONCENTRATION = 50.0
TICKETS_PER_STREET = 205.0  # 410 k street tickets in H1 2019 / 6 months / 333 streets
SURVEY_REACH = 0.6  # [assume] share of tickets whose callback reaches the citizen
SEED = 12345


# ------------------------------------------------------------------ synthetic month
def city(units: int, rng: np.random.Generator) -> dict:
    """Each street's ticket volume and true response / resolution / satisfaction
    probabilities (satisfied, basically satisfied)."""
    p_sat = rng.beta(12, 4, units) * 0.9
    return {
        "tickets": rng.lognormal(np.log(TICKETS_PER_STREET), 0.6, units),
        "p_response": rng.beta(40, 1, units),
        "p_resolution": rng.beta(13, 7, units),
        "p_satisfied": p_sat,
        "p_basic_given_not": np.full(units, 0.4),
    }


def month(c: dict, rng: np.random.Generator) -> dict:
    """One realisation of a month's counts for the streets of ``c``."""
    tickets = rng.poisson(c["tickets"])
    surveyed = rng.binomial(tickets, SURVEY_REACH)
    satisfied = rng.binomial(surveyed, c["p_satisfied"])
    return {
        "signed_on_time": rng.binomial(tickets, c["p_response"]), "responded_known": tickets,
        "surveyed": surveyed, "resolved": rng.binomial(surveyed, c["p_resolution"]), "satisfied": satisfied,
        "basically_satisfied": rng.binomial(surveyed - satisfied, c["p_basic_given_not"]),
    }


# ------------------------------------------------------------------ baseline
def baseline(counts: dict, draws: int, sampling_draws: int, replication_ranks: np.ndarray, seed: int) -> dict:
    """The straightforward version: a Python loop per draw, scipy per draw."""
    rng = np.random.default_rng(seed)
    rates = rates_from_counts(counts, BASIC_WEIGHT)
    surveyed = counts["surveyed"]
    eligible = (surveyed >= MIN_SURVEYS) & ~np.isnan(rates @ WEIGHTS)
    idx = np.flatnonzero(eligible)
    nominal = stats.rankdata(-(rates[idx] @ WEIGHTS), method="ordinal")

    out = {}
    sources = {
        "weights_dirichlet": ("weights", lambda: rng.dirichlet(dirichlet_alpha(WEIGHTS, CONCENTRATION)), draws),
        "weights_simplex": ("weights", lambda: rng.dirichlet(np.ones(3)), draws),
        "sampling": ("counts", None, sampling_draws),
    }
    p = {k: np.nan_to_num(rates[:, j]) for j, k in enumerate(("response", "resolution", "satisfaction"))}
    p_sat = counts["satisfied"] / np.maximum(surveyed, 1)
    q_basic = counts["basically_satisfied"] / np.maximum(surveyed - counts["satisfied"], 1)
    for source, (kind, draw_weights, k) in sources.items():
        ranks = np.zeros((len(idx), k), dtype=np.int64)
        taus, rhos, shifts = np.empty(k), np.empty(k), np.empty(k)
        for d in range(k):
            if kind == "weights":
                score = 100.0 * (rates[idx] @ draw_weights())
            else:
                signed = rng.binomial(counts["responded_known"], p["response"])
                resolved = rng.binomial(surveyed, p["resolution"])
                sat = rng.binomial(surveyed, p_sat)
                basic = rng.binomial(surveyed - sat, q_basic)
                r = np.column_stack([signed / np.maximum(counts["responded_known"], 1), resolved / surveyed.clip(1),
                                     (sat + BASIC_WEIGHT * basic) / surveyed.clip(1)])
                score = 100.0 * (r[idx] @ WEIGHTS)
            rk = stats.rankdata(-score, method="ordinal")
            ranks[:, d] = rk
            taus[d] = stats.kendalltau(nominal, rk).statistic
            rhos[d] = stats.spearmanr(nominal, rk).statistic
            shifts[d] = np.mean(np.abs(rk - nominal))
        out[source] = _baseline_summary(ranks, taus, rhos, shifts)
    # Replications: per replication, the units ranked in both.
    k = replication_ranks.shape[1]
    taus, rhos, shifts = np.empty(k), np.empty(k), np.empty(k)
    full_nominal = np.zeros(len(rates), dtype=np.int64)
    full_nominal[idx] = nominal
    for d in range(k):
        both = (full_nominal > 0) & (replication_ranks[:, d] > 0)
        taus[d] = stats.kendalltau(full_nominal[both], replication_ranks[both, d]).statistic
        rhos[d] = stats.spearmanr(full_nominal[both], replication_ranks[both, d]).statistic
        shifts[d] = np.mean(np.abs(full_nominal[both] - replication_ranks[both, d]))
    ranked = np.where(replication_ranks > 0, replication_ranks, np.nan)
    out["replications"] = _baseline_summary(ranked, taus, rhos, shifts)
    return out


def _baseline_summary(ranks, taus, rhos, shifts) -> dict:
    q = np.nanpercentile(ranks, [5, 50, 95], axis=1)
    return {"rank_quantiles": q, "p_top": np.nanmean(ranks <= TOP_N, axis=1),
            "kendall_tau_mean": float(np.mean(taus)), "spearman_rho_mean": float(np.mean(rhos)),
            "mean_abs_shift": float(np.mean(shifts))}


# ------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=333)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--sampling-draws", type=int, default=1000)
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    rng = np.random.default_rng(SEED)
    streets = city(a.units, rng)
    counts = month(streets, rng)
    reps = []
    for _ in range(a.replications):
        c = month(streets, rng)
        reps.append(rank_units(rates_from_counts(c, BASIC_WEIGHT), WEIGHTS, c["surveyed"], MIN_SURVEYS)[1])
    replication_ranks = np.column_stack(reps)
    cfg = RobustnessConfig(enabled=True, weight_draws=a.draws, dirichlet_concentration=CONCENTRATION,
                           sampling_draws=a.sampling_draws, seed=SEED)

    best = {"vectorised": np.inf, "baseline": np.inf}
    fast = slow = None
    for _ in range(a.repeats):
        t = time.perf_counter()
        fast = rank_distributions(counts, BASIC_WEIGHT, WEIGHTS, cfg, MIN_SURVEYS, TOP_N, BOTTOM_N, replication_ranks)
        best["vectorised"] = min(best["vectorised"], time.perf_counter() - t)
        t = time.perf_counter()
        slow = baseline(counts, a.draws, a.sampling_draws, replication_ranks, SEED)
        best["baseline"] = min(best["baseline"], time.perf_counter() - t)

    ranked = int((fast.nominal_ranks > 0).sum())
    print(f"Rank robustness, one month: {a.units} units ({ranked} ranked), {a.draws} Dirichlet + {a.draws} simplex "
          f"weight draws, {a.sampling_draws} sampling draws, {a.replications} replications; best of {a.repeats}\n")
    print(f"{'':22s}{'wall s':>9s}")
    for side in ("vectorised", "baseline"):
        print(f"{side:22s}{best[side]:9.3f}")
    ratio = best["baseline"] / best["vectorised"]
    print(f"\nbaseline / vectorised, wall time: {ratio:.1f}x\n")
    print(f"{'source':22s}{'tau vect.':>10s}{'tau base':>10s}{'rho vect.':>10s}{'rho base':>10s}"
          f"{'|shift| v.':>11s}{'|shift| b.':>11s}")
    figures = {"seconds": best, "ratio": ratio, "units": a.units, "ranked": ranked, "draws": a.draws,
               "sampling_draws": a.sampling_draws, "replications": a.replications, "sources": {}}
    for source, o in fast.overall.items():
        b = slow[source]
        print(f"{source:22s}{o['kendall_tau_mean']:10.4f}{b['kendall_tau_mean']:10.4f}{o['spearman_rho_mean']:10.4f}"
              f"{b['spearman_rho_mean']:10.4f}{o['mean_abs_shift']:11.2f}{b['mean_abs_shift']:11.2f}")
        figures["sources"][source] = {"vectorised": {k: o[k] for k in ("kendall_tau_mean", "spearman_rho_mean",
                                                                        "mean_abs_shift")},
                                      "baseline": {k: b[k] for k in ("kendall_tau_mean", "spearman_rho_mean",
                                                                     "mean_abs_shift")}}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
