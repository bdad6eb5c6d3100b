"""How much of a street's league-table score is the street, and how much is chance?

What
----
A monthly league table ranks 333 streets on a composite of three rates. Part of the
spread of scores is the street (its staffing, its demand, the latent quality of its
operations), part is the month's luck (which problems came in, which callbacks were
answered, how the queues fell). :mod:`analysis.rankings.robustness` asks how far ranks move
when one source of noise is redrawn; this module asks the complementary question --
how large the persistent street component is -- with two measures a planner can read:

* **Intra-class correlation across replications** (:func:`icc_oneway`,
  :func:`street_signal`): per ranked month, streets are the groups and the independent
  replications of the simulator the repeated measures. ICC(1) is the share of the
  variance of a month's scores that lies between streets (what every replication of
  that street shares) rather than within them (replication to replication). ICC 0.8:
  four-fifths of the spread in a league table is the street; ICC 0.1: the table is
  mostly chance. It is also the expected correlation between the scores the same
  streets get in two independent runs of the same month. Given for the composite score
  and for each rate.
* **Month-to-month persistence within a replication** (:func:`month_to_month`): the
  Spearman correlation between the streets' ranks in consecutive ranked months of one
  replication, and of the bottom ``n`` (the rectification class, 整改) of one month, how
  many are again in the bottom ``n`` the next month (likewise the top ``n``, 先进), with
  the number expected by chance. Means over replications, Student-t 95% CIs over
  replications (replications are independent, months within one are not), clipped to
  the possible range (-1..1; 0..n streets).

The two answer different questions and can disagree. The ICC across replications counts
as "street" only what is the same in every replication: what the configuration fixes
(capacity factors, populations, demand mix, and any street quality set in the config or
drawn from a stream that does not depend on the replication). A street effect drawn
afresh in each replication is noise to it, but signal within a replication: the
month-to-month correlation sees it (along with backlog carried over from one month to
the next, which also makes consecutive months alike).

Estimators and conventions
--------------------------
* Scores and rates are those of the league tables (:func:`analysis.rankings.league.league_tables`):
  a street enters a month's ICC in the replications where it is ranked (enough
  answered callbacks, ``ranking.min_surveys``); its rates are taken on the same
  observations as its score. Missing scores are handled by the **unbalanced one-way
  ANOVA estimator** (no street is dropped for missing a replication; a street ranked in
  one replication only adds to the between-street sum of squares and to nothing
  within): ``MSB = SSB / (a - 1)``, ``MSW = SSW / (N - a)``,
  ``n0 = (N - sum n_i^2 / N) / (a - 1)`` (Searle 1971, the average group size adjusted
  for imbalance), ``ICC = (MSB - MSW) / (MSB + (n0 - 1) MSW)`` (may be slightly negative
  when there is no street component). Being ranked is itself informative (small
  streets drop out more often and have noisier scores), which the estimator ignores.
* **CI: the F-distribution interval** of ICC(1) (Shrout & Fleiss 1979; McGraw & Wong
  1996, case 1) with ``k`` replaced by ``n0``: ``F = MSB / MSW``,
  ``F_L = F / F_{1-a/2}(a-1, N-a)``, ``F_U = F x F_{1-a/2}(N-a, a-1)``,
  ``[(F_L - 1) / (F_L + n0 - 1), (F_U - 1) / (F_U + n0 - 1)]``. Exact for balanced
  normal data, approximate when unbalanced (a few missing cells hardly matter). It
  assumes normal street effects and errors of equal variance; the tests check its
  coverage on planted data. Not available (NaN, with the reason) with one replication.
* Spearman's rho between months ``m`` and ``m+1`` (consecutive *ranked* months, in
  calendar order) over the streets ranked in both: both rankings are re-ranked within
  that common set and ``rho = 1 - 6 sum d^2 / (n (n^2 - 1))`` (exact: a league table has
  no ties). Ranks, not scores, because the rank is what is published and it includes
  the tie rule.
* Bottom (top) ``n``: the ranked streets with ``rank > n_ranked - b`` (``rank <= b``),
  ``b = min(n, n_ranked // 2)`` as in :func:`sim.ranking.classes` when both classes
  have the same size. A street of month ``m``'s bottom ``n`` that is not ranked in
  ``m+1`` counts as not staying. Chance level: if the ranks of ``m+1`` were a random
  order, the expected number staying is (bottom-``n`` streets of ``m`` ranked in ``m+1``)
  x ``b_{m+1} / n_ranked_{m+1}`` (hypergeometric mean), about 0.3 for 10 of 333.
* With several month pairs the headline numbers are each replication's mean over the
  pairs, then mean and CI over replications; each pair is also given on its own. With
  a single ranked month there is nothing to compare: NaN, with the reason.

References: Shrout & Fleiss (1979) Psychol. Bull. 86:420-428; McGraw & Wong (1996)
Psychol. Methods 1:30-46; Searle (1971) Linear Models, ch. 9 (n0); Donner (1986) Int.
Stat. Rev. 54:67-82 (ICC with unequal group sizes).
"""
from __future__ import annotations

import math

import numpy as np

from sim.ranking import RATES
from analysis.kpis.stats import CONFIDENCE, f_quantile, mean_ci

#: The measures whose ICC is computed, in report order: the composite score, then each rate.
MEASURES = ("score", *RATES)
#: Value of the ``source`` column of the street-signal rows of ``robustness.csv``.
SOURCE = "street_signal"
#: The ``statistic`` values of those rows.
STATISTICS = tuple(f"icc_{m}" for m in MEASURES) + (
    "rank_correlation", "bottom_n_stay", "bottom_n_stay_chance", "top_n_stay", "top_n_stay_chance")


# ------------------------------------------------------------------ ICC(1)
def _nan_icc(reason: str, **extra) -> dict:
    out = {"icc": math.nan, "ci_low": math.nan, "ci_high": math.nan, "streets": 0, "observations": 0,
           "replications": 0, "n0": math.nan, "msb": math.nan, "msw": math.nan, "reason": reason}
    out.update(extra)
    return out


def icc_oneway(values, confidence: float = CONFIDENCE) -> dict:
    """One-way random-effects ICC(1) of ``values`` (groups x repeated measures; here
    streets x replications, NaN = no value) with its F-based confidence interval
    (module docstring: unbalanced ANOVA estimator with Searle's ``n0``).

    Returns ``icc``, ``ci_low``, ``ci_high``, ``streets`` (groups with at least one
    value), ``observations`` (N), ``replications`` (columns with a value), ``n0``, ``msb``, ``msw``
    and ``reason`` (None, or why the ICC is not available: NaN then). Without any
    within-street variance and some between, ICC = 1 and so is its interval."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be (streets, replications), got shape {x.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    ok = np.isfinite(x)
    k = int(ok.any(axis=0).sum())  # replications with a value (a month may be ranked in some only)
    n_i = ok.sum(axis=1)
    keep = n_i > 0
    x, ok, n_i = x[keep], ok[keep], n_i[keep]
    a, big_n = len(n_i), int(n_i.sum())
    base = {"streets": a, "observations": big_n, "replications": k}
    if k < 2:
        return _nan_icc("needs at least 2 replications (streets are compared across replications)", **base)
    if a < 2:
        return _nan_icc("fewer than 2 streets with a score", **base)
    if big_n - a < 1:
        return _nan_icc("no street has a score in 2 replications", **base)
    xz = np.where(ok, x, 0.0)
    means = xz.sum(axis=1) / n_i
    grand = xz.sum() / big_n
    ssb = float(np.sum(n_i * (means - grand) ** 2))
    ssw = float(np.sum(np.where(ok, x - means[:, None], 0.0) ** 2))
    df1, df2 = a - 1, big_n - a
    msb, msw = ssb / df1, ssw / df2
    n0 = (big_n - float(np.sum(n_i.astype(float) ** 2)) / big_n) / df1
    out = {**base, "n0": n0, "msb": msb, "msw": msw, "reason": None}
    scale = max(float(np.sum(xz ** 2)) / big_n, 1e-300)
    if msw <= 1e-24 * scale:  # every street the same in every replication
        if msb <= 1e-24 * scale:
            return _nan_icc("no variance at all (every value the same)", **base, n0=n0, msb=msb, msw=msw)
        return {**out, "icc": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    icc = (msb - msw) / (msb + (n0 - 1.0) * msw)
    f = msb / msw
    tail = 0.5 + confidence / 2
    f_lo = f / f_quantile(tail, df1, df2)  # scipy.stats.f.ppf's values, without importing it
    f_hi = f * f_quantile(tail, df2, df1)
    return {**out, "icc": float(icc), "ci_low": float((f_lo - 1.0) / (f_lo + n0 - 1.0)),
            "ci_high": float((f_hi - 1.0) / (f_hi + n0 - 1.0))}


# ------------------------------------------------------------------ month to month
def spearman_common(r1, r2) -> tuple[float, int]:
    """Spearman's rho between two league tables of the same units (ranks, 0 = not
    ranked) over the units ranked in both, re-ranked within that set; NaN with fewer
    than 3 common units. Returns (rho, common units)."""
    r1, r2 = np.asarray(r1), np.asarray(r2)
    both = (r1 > 0) & (r2 > 0)
    n = int(both.sum())
    if n < 3:
        return math.nan, n
    a = np.argsort(np.argsort(r1[both], kind="stable"), kind="stable")
    b = np.argsort(np.argsort(r2[both], kind="stable"), kind="stable")
    d2 = float(np.sum((a - b).astype(float) ** 2))
    return 1.0 - 6.0 * d2 / (n * (n * n - 1.0)), n


def _class_size(n: int, n_ranked: int) -> int:
    return min(int(n), n_ranked // 2)


def stay(r1, r2, n: int, end: str = "bottom") -> tuple[float, float, int]:
    """Of the ``end`` (bottom or top) ``n`` of table ``r1``, how many are in the same
    end of ``r2`` (ranks, 0 = not ranked); and the number expected if ``r2`` were a
    random order of its ranked units. Returns (staying, chance, class size in r1);
    NaN if either table has no such class (fewer than 2 ranked units)."""
    r1, r2 = np.asarray(r1), np.asarray(r2)
    if end not in ("bottom", "top"):
        raise ValueError(f"end must be 'bottom' or 'top', got {end!r}")

    def members(r):
        ranked = int((r > 0).sum())
        b = _class_size(n, ranked)
        sel = (r > 0) & ((r > ranked - b) if end == "bottom" else (r <= b))
        return sel, b, ranked

    s1, b1, _ = members(r1)
    s2, b2, ranked2 = members(r2)
    if b1 == 0 or b2 == 0:  # a table without that class (e.g. a replication where a month is not ranked)
        return math.nan, math.nan, b1
    chance = float((s1 & (r2 > 0)).sum()) * b2 / ranked2
    return float((s1 & s2).sum()), chance, b1


def month_to_month(ranks: dict[str, np.ndarray], bottom_n: int = 10, top_n: int = 10,
                   confidence: float = CONFIDENCE) -> dict:
    """Month-to-month persistence of the league table (module docstring).

    ``ranks``: month -> (streets, replications) ranks, 0 = not ranked, the same
    streets in the same row order every month. Consecutive months in calendar order
    are paired. Returns the headline ``rank_correlation``, ``bottom_n_stay``,
    ``bottom_n_stay_chance``, ``top_n_stay``, ``top_n_stay_chance`` (each ``{"mean",
    "ci_low", "ci_high", "per_replication"}``), ``bottom_n``, ``top_n``, ``replications``, ``pairs``
    (per pair of months the same, plus ``from``/``to`` and ``common_streets``) and
    ``reason`` (None, or why nothing could be compared: all NaN then)."""
    months = sorted(ranks)
    stats_names = ("rank_correlation", "bottom_n_stay", "bottom_n_stay_chance", "top_n_stay", "top_n_stay_chance")
    reps = {np.asarray(ranks[m]).shape[1] for m in months}
    if len(reps) > 1:
        raise ValueError(f"every month needs the same replications, got {sorted(reps)}")
    k = reps.pop() if reps else 0
    empty = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "per_replication": []}
    if len(months) < 2:
        reason = (f"only one ranked month ({months[0]}): no consecutive months to compare" if months
                  else "no ranked month")
        return {**{s: dict(empty) for s in stats_names}, "bottom_n": int(bottom_n), "top_n": int(top_n),
                "replications": k, "pairs": [], "reason": reason}
    bounds = {"rank_correlation": (-1.0, 1.0), "bottom_n_stay": (0.0, bottom_n),
              "bottom_n_stay_chance": (0.0, bottom_n), "top_n_stay": (0.0, top_n), "top_n_stay_chance": (0.0, top_n)}
    pairs, per_rep = [], {s: np.full((len(months) - 1, k), math.nan) for s in stats_names}
    for p, (m0, m1) in enumerate(zip(months[:-1], months[1:])):
        r0, r1 = np.asarray(ranks[m0]), np.asarray(ranks[m1])
        common = []
        for j in range(k):
            rho, c = spearman_common(r0[:, j], r1[:, j])
            per_rep["rank_correlation"][p, j] = rho
            common.append(c)
            for end, n in (("bottom", bottom_n), ("top", top_n)):
                kept, chance, _ = stay(r0[:, j], r1[:, j], n, end)
                per_rep[f"{end}_n_stay"][p, j] = kept
                per_rep[f"{end}_n_stay_chance"][p, j] = chance
        pair = {"from": m0, "to": m1, "common_streets": float(np.mean(common)) if common else math.nan}
        pair.update({s: _ci(per_rep[s][p], confidence, bounds[s]) for s in stats_names})
        pairs.append(pair)
    out = {s: _ci(_nanmean_rows(per_rep[s]), confidence, bounds[s]) for s in stats_names}
    return {**out, "bottom_n": int(bottom_n), "top_n": int(top_n), "replications": k, "pairs": pairs,
            "reason": None}


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    """Per replication (column), the mean over month pairs (rows) of the finite values."""
    ok = np.isfinite(a)
    cnt = ok.sum(axis=0)
    return np.divide(np.where(ok, a, 0.0).sum(axis=0), cnt, out=np.full(a.shape[1], math.nan), where=cnt > 0)


def _ci(values: np.ndarray, confidence: float, bounds: tuple[float, float]) -> dict:
    """Mean and Student-t CI over replications, the interval clipped to the possible
    range ``bounds`` (a count of streets is never negative, a correlation within +-1)."""
    ci = {k: math.nan if v is None else float(v) for k, v in mean_ci(values, confidence).items()}
    lo, hi = bounds
    if math.isfinite(ci["ci_low"]):
        ci["ci_low"], ci["ci_high"] = max(ci["ci_low"], lo), min(ci["ci_high"], hi)
    return ci | {"per_replication": [float(v) for v in values]}


# ------------------------------------------------------------------ from the league tables
def panel(tables: list[dict], level: str = "streets") -> dict:
    """The league tables of one level as arrays aligned on unit ids: ``months``
    (sorted), ``units`` (sorted ids), ``replications`` (sorted) and per month
    ``score``, ``rank`` (streets x replications; NaN / 0 where not ranked or absent)
    and ``rates`` (streets x replications x 3, NaN where not ranked)."""
    rows = [t for t in tables if t["level"] == level]
    months = sorted({str(t["month"]) for t in rows})
    units = np.unique(np.concatenate([np.asarray(t["unit"]) for t in rows])) if rows else np.zeros(0, int)
    reps = sorted({int(t["replication"]) for t in rows})
    col = {r: j for j, r in enumerate(reps)}
    shape = (len(units), len(reps))
    out = {"months": months, "units": units, "replications": reps, "score": {}, "rank": {}, "rates": {}}
    for m in months:
        out["score"][m] = np.full(shape, math.nan)
        out["rank"][m] = np.zeros(shape, dtype=np.int64)
        out["rates"][m] = np.full(shape + (3,), math.nan)
    for t in rows:
        m, j = str(t["month"]), col[int(t["replication"])]
        idx = np.searchsorted(units, np.asarray(t["unit"]))
        rank = np.asarray(t["rank"]).astype(np.int64)
        ranked = rank > 0
        out["rank"][m][idx, j] = rank
        out["score"][m][idx, j] = np.where(ranked, np.asarray(t["score"], dtype=float), math.nan)
        out["rates"][m][idx, j] = np.where(ranked[:, None], np.asarray(t["rates"], dtype=float), math.nan)
    return out


def street_signal(tables: list[dict], bottom_n: int = 10, top_n: int = 10, confidence: float = CONFIDENCE,
                  level: str = "streets") -> dict:
    """The street signal of a run's league tables (:func:`analysis.rankings.league.league_tables`):
    the ICC of every ranked month and measure, and the month-to-month persistence.

    The block written to ``summary.json`` under ``ranking.street_signal``: headline
    ``icc``, ``icc_ci`` ([low, high]) and ``icc_month`` (the last ranked month, the one
    the CLI and report show), ``icc_by_rate`` ({rate: {icc, ci}} of that month),
    ``rank_correlation`` and ``rank_correlation_ci``, ``bottom_n``, ``bottom_n_stay``,
    ``bottom_n_stay_ci``, ``bottom_n_stay_chance`` (and the same for ``top_n``),
    ``replications``, ``reasons`` ({"icc": ..., "rank_correlation": ...}: None or why
    NaN), and the detail: ``icc_by_month`` ({month: {measure: icc_oneway result}})
    and ``month_pairs`` (per pair of consecutive ranked months)."""
    p = panel(tables, level)
    by_month = {}
    for m in p["months"]:
        by_month[m] = {"score": icc_oneway(p["score"][m], confidence)}
        for i, rate in enumerate(RATES):
            by_month[m][rate] = icc_oneway(p["rates"][m][:, :, i], confidence)
    mm = month_to_month(p["rank"], bottom_n, top_n, confidence)
    last = p["months"][-1] if p["months"] else None
    head = by_month[last]["score"] if last else _nan_icc("no ranked month")

    def pair(d):
        return [d["ci_low"], d["ci_high"]]

    return {
        "level": level, "confidence": confidence, "replications": len(p["replications"]),
        "icc_month": last, "icc": head["icc"], "icc_ci": pair(head), "icc_streets": head["streets"],
        "icc_by_rate": {r: {"icc": by_month[last][r]["icc"], "ci": pair(by_month[last][r])} for r in RATES}
        if last else {},
        "rank_correlation": mm["rank_correlation"]["mean"], "rank_correlation_ci": pair(mm["rank_correlation"]),
        "bottom_n": mm["bottom_n"], "bottom_n_stay": mm["bottom_n_stay"]["mean"],
        "bottom_n_stay_ci": pair(mm["bottom_n_stay"]), "bottom_n_stay_chance": mm["bottom_n_stay_chance"]["mean"],
        "top_n": mm["top_n"], "top_n_stay": mm["top_n_stay"]["mean"], "top_n_stay_ci": pair(mm["top_n_stay"]),
        "top_n_stay_chance": mm["top_n_stay_chance"]["mean"],
        "reasons": {"icc": head["reason"], "rank_correlation": mm["reason"]},
        "method": {"icc": "one-way random-effects ICC(1), streets x replications, unbalanced ANOVA estimator "
                          "(Searle's n0; missing scores kept, no street dropped); F-distribution CI",
                   "rank_correlation": "Spearman's rho of the ranks in consecutive ranked months within a "
                                       "replication (streets ranked in both); mean and Student-t CI over "
                                       "replications"},
        "icc_by_month": by_month,
        "month_pairs": mm["pairs"],
    }


# ------------------------------------------------------------------ rows of robustness.csv
def signal_rows(signal: dict, columns) -> list[list]:
    """Rows of ``robustness.csv`` (in the order of ``columns``) for :func:`street_signal`'s
    result: ``source`` = :data:`SOURCE`, no unit; ``statistic`` (:data:`STATISTICS`),
    ``month`` (for month-to-month rows the later month, ``previous_month`` the earlier),
    ``value``, ``ci_low``, ``ci_high``, ``n`` (streets for an ICC, replications for
    month-to-month rows; the class size for ``*_n_stay`` is in ``note``) and ``note``
    (the reason when ``value`` is empty)."""
    columns = list(columns)
    rows = []

    def add(month, statistic, value, lo, hi, n, note=None, previous=None):
        row = dict.fromkeys(columns)
        row.update(month=month, source=SOURCE, statistic=statistic, previous_month=previous, value=_num(value),
                   ci_low=_num(lo), ci_high=_num(hi), n=n, note=note)
        rows.append([row[c] for c in columns])

    for month, measures in signal["icc_by_month"].items():
        for m in MEASURES:
            r = measures[m]
            add(month, f"icc_{m}", r["icc"], r["ci_low"], r["ci_high"], r["streets"], r["reason"])
    k = signal["replications"]
    if not signal["month_pairs"]:
        month = signal["icc_month"]
        for s in STATISTICS[len(MEASURES):]:
            add(month, s, None, None, None, k, signal["reasons"]["rank_correlation"])
    for pair in signal["month_pairs"]:
        for s in STATISTICS[len(MEASURES):]:
            d = pair[s]
            end = s.split("_")[0]
            note = f"{end} {signal[f'{end}_n']}" if end in ("bottom", "top") else None
            add(pair["to"], s, d["mean"], d["ci_low"], d["ci_high"], k, note, pair["from"])
    return rows


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
