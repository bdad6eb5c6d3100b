"""How firm is a month's league table? Rank distributions under the sources of
uncertainty behind it, and the effective weights of the three rates.

What
----
A street's monthly rank rests on choices and on data, and both could have been
otherwise. :func:`rank_distributions` redraws each source of uncertainty in turn,
re-ranks every unit for every draw (ties by the lead's rule,
:func:`sim.ranking.tie_order`), and reports per unit and source the distribution
of its rank (median, 90% interval, chance of being among the best ``top_n`` or the
worst ``bottom_n``) and per source how far the whole table moves (Kendall's tau and
Spearman's rho against the nominal table, mean rank shift, share of units moving more
than 3 or 10 places). The sources (:data:`SOURCES`):

* ``weights_dirichlet`` -- the official weights are not published (DOMAIN.md, item 7),
  so the weights are drawn around the nominal ones: ``w ~ Dirichlet(c * w_nominal)``,
  ``c = RobustnessConfig.dirichlet_concentration`` (mean ``w_nominal``; the larger
  ``c``, the tighter; per-weight s.d. ``sqrt(w(1-w)/(c+1))``). Dirichlet parameters
  must be positive: a zero nominal weight is floored at :data:`ZERO_WEIGHT_FLOOR`
  (0.001) of the weight sum before multiplying by ``c``, so it is drawn tiny (mean
  about 0.001) rather than exactly zero, and the other weights' means shrink by as
  much. This is the "uncertainty in the weighting scheme" input of Saisana,
  Saltelli & Tarantola (2005) and of the OECD/JRC Handbook (2008, step 7).
* ``weights_simplex`` -- no prior at all: weights uniform on the simplex,
  ``Dirichlet(1, 1, 1)``; the widest reasonable view of "any weighting".
* ``sampling`` -- a rate from a few dozen callbacks is noisy. Parametric bootstrap,
  each unit from its own observed proportions and denominators:
  ``signed_on_time ~ Binomial(responded_known, p_response)``,
  ``resolved ~ Binomial(surveyed, p_resolution)``,
  ``(satisfied, basically, dissatisfied) ~ Multinomial(surveyed, observed shares)``,
  the multinomial drawn exactly as ``satisfied ~ Binomial(surveyed, p_sat)`` then
  ``basically ~ Binomial(surveyed - satisfied, basically / (surveyed - satisfied))``.
  Denominators are held fixed, so eligibility (``min_surveys``) does not change. The
  monthly tables do not cross resolution with satisfaction answers, so the two are
  drawn independently; real answers are positively correlated (a solved problem makes
  a satisfied citizen), so the composite's sampling noise is somewhat understated.
  Weights are the nominal ones. A unit at 0% or 100% gets no sampling noise (the
  plug-in proportion is degenerate), another reason this interval is a lower bound.
* ``replications`` -- simulation noise: the ranks the same month got in independent
  replications of the simulator (``replication_ranks``), if given.

The nominal table is :func:`sim.ranking.rank_units` on the observed counts.

Estimators and conventions
--------------------------
* Random numbers: ``numpy.random.SeedSequence(cfg.seed)`` spawns one generator per
  drawn source, so results are reproducible and the weight draws do not depend on the
  units (permuting the units permutes the weight-source results exactly).
* Ranks in the draws follow the full tie rule of :mod:`sim.ranking`; in the
  sampling source the rates (hence the tie order) change per draw, so the tie keys are
  lexsorted per draw (vectorised) instead of one :func:`tie_order` vector.
* Rank quantiles are ``inverted_cdf`` quantiles (Hyndman & Fan type 1): always a rank
  that occurred, and ``[rank_p05, rank_p95]`` holds at least 90% of the draws.
* Unranked units: in the weight and sampling sources the ranked set is the nominal one
  (denominators are fixed), so a unit not ranked nominally has NaN everywhere. In the
  replications source a unit may be ranked in some replications only: its rank
  quantiles are over the replications that ranked it, ``p_top_n``/``p_bottom_n`` over
  all replications (unranked = not named), and ``share_ranked`` says how often it was
  ranked; NaN if never.
* ``p_top_n`` = share of draws with ``rank <= top_n``; ``p_bottom_n`` = share with
  ``rank > n_ranked_in_that_draw - bottom_n`` (as the brief defines; with fewer than
  ``advanced_n + rectification_n`` ranked units :func:`sim.ranking.classes`
  shrinks the classes, this does not).
* Agreement with the nominal table per draw, over the units ranked in both: Spearman's
  rho by the rank-difference formula ``1 - 6 sum d^2 / (m (m^2 - 1))`` after re-ranking
  both on the common set (exact: there are no ties in a league table); Kendall's tau =
  ``1 - 4 D / (m (m - 1))`` with D the discordant pairs, counted by the O(m^2)
  pairwise comparison vectorised over all draws (one pass per lag between the two
  units of a pair; no ties, so tau-a = tau-b; scipy's kendalltau agrees, see the tests). Rank shifts
  use the published positions ``|rank_draw - rank_nominal|``.

Effective weights
-----------------
Nominal weights are not importances: a rate that hardly varies across streets (the
response rate was "always 100%" in 2019) barely moves the composite whatever its
weight, and correlated rates share influence. Paruolo, Saisana & Saltelli (2013,
"Ratings and rankings: voodoo or science?", JRSS-A 176:609) measure a rate's real
importance by the first-order sensitivity index (Pearson's correlation ratio)
``S_i = Var(E[score | rate_i]) / Var(score)``; see :func:`effective_weights`.

References: Saisana, Saltelli & Tarantola (2005) JRSS-A 168:307-323; OECD/JRC (2008)
Handbook on Constructing Composite Indicators; Paruolo, Saisana & Saltelli (2013)
JRSS-A 176:609-634; Plischke, Borgonovo & Smith (2013) EJOR 226:536-550 (first-order
indices from given data); Kelley (1935) PNAS 21:554 (bias-corrected correlation ratio).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.ranking import RATES, TIE_BREAK, RobustnessConfig, composite, rank_matrix, rank_units, tie_order

#: Sources of uncertainty, in report order.
SOURCES = ("weights_dirichlet", "weights_simplex", "sampling", "replications")
#: The counts a month's unit needs (a column of analysis.kpis.tickets.monthly_tables each).
COUNT_KEYS = ("signed_on_time", "responded_known", "surveyed", "resolved", "satisfied", "basically_satisfied")
#: Columns of RobustnessResult.units (long format: one row per source and unit).
UNIT_COLUMNS = ("source", "unit", "nominal_rank", "median_rank", "rank_p05", "rank_p95", "p_top_n", "p_bottom_n",
                "share_ranked")
#: A zero nominal weight enters the Dirichlet base measure as this share of the weight sum.
ZERO_WEIGHT_FLOOR = 1e-3
#: Rank moves counted in the overall summary ("more than 3 / 10 places").
SHIFT_THRESHOLDS = (3, 10)
#: Default bin count of the correlation-ratio estimator: sqrt(units), within these bounds.
MIN_BINS, MAX_BINS = 2, 50


@dataclass(frozen=True)
class RobustnessResult:
    """Rank distributions of one month.

    ``units``: long-format columns (:data:`UNIT_COLUMNS`), one block of ``n`` rows per
    source in :data:`SOURCES` order ("replications" only if given); ``nominal_rank`` is
    an int with 0 = not ranked, the rest float (NaN = not ranked).
    ``overall``: source -> kendall_tau_{mean,p05,p95}, spearman_rho_{mean,p05,p95},
    mean_abs_shift, share_shift_gt3, share_shift_gt10 (averaged over draws), draws, units.
    ``effective_weights``: :func:`effective_weights` of the nominal table.
    ``ranks``: source -> (units, draws) ranks, 0 = not ranked (what the summaries are
    computed from). ``agreement``: source -> per-draw arrays of :func:`rank_agreement`.
    ``weight_draws``: source -> (draws, 3) weights used.
    """

    units: dict[str, np.ndarray]
    overall: dict[str, dict[str, float]]
    effective_weights: dict
    nominal_scores: np.ndarray
    nominal_ranks: np.ndarray
    ranks: dict[str, np.ndarray] = field(repr=False)
    agreement: dict[str, dict[str, np.ndarray]] = field(repr=False)
    weight_draws: dict[str, np.ndarray] = field(repr=False)


# ------------------------------------------------------------------ inputs
def _as_counts(counts: dict) -> dict[str, np.ndarray]:
    """The six count columns as int64 arrays of one length (floats from the monthly
    tables are accepted if whole); checks that numerators fit their denominators."""
    missing = [k for k in COUNT_KEYS if k not in counts]
    if missing:
        raise ValueError(f"counts lack {', '.join(missing)}; expected keys {', '.join(COUNT_KEYS)}")
    out = {}
    for k in COUNT_KEYS:
        a = np.asarray(counts[k])
        if a.ndim != 1:
            raise ValueError(f"counts[{k!r}] must be 1-D (one value per unit), got shape {a.shape}")
        a = a.astype(float)
        if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.rint(a)):
            raise ValueError(f"counts[{k!r}] must hold non-negative whole numbers")
        out[k] = np.rint(a).astype(np.int64)
    n = {len(v) for v in out.values()}
    if len(n) != 1:
        raise ValueError(f"counts columns differ in length: {sorted(n)}")
    if np.any(out["signed_on_time"] > out["responded_known"]):
        raise ValueError("signed_on_time exceeds responded_known for some unit")
    if np.any(out["resolved"] > out["surveyed"]):
        raise ValueError("resolved exceeds surveyed for some unit")
    if np.any(out["satisfied"] + out["basically_satisfied"] > out["surveyed"]):
        raise ValueError("satisfied + basically_satisfied exceeds surveyed for some unit")
    return out


def _as_weights(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.shape != (3,) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"weights must be 3 non-negative numbers (response, resolution, satisfaction) "
                         f"with a positive sum, got {weights!r}")
    return w


def _ratio(num, den) -> np.ndarray:
    """num / den, NaN where den == 0, without warnings (broadcasts)."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def rates_from_counts(counts: dict, basic_weight: float) -> np.ndarray:
    """(units, 3) rates in the order (response, resolution, satisfaction), NaN where the
    denominator is 0: response = signed_on_time / responded_known, resolution =
    resolved / surveyed, satisfaction = (satisfied + basic_weight x
    basically_satisfied) / surveyed (the definitions of analysis.kpis.tickets)."""
    if not (np.isfinite(basic_weight) and 0 <= basic_weight <= 1):
        raise ValueError(f"basic_weight must be in [0, 1], got {basic_weight!r}")
    c = _as_counts(counts)
    return np.column_stack([
        _ratio(c["signed_on_time"], c["responded_known"]),
        _ratio(c["resolved"], c["surveyed"]),
        _ratio(c["satisfied"] + basic_weight * c["basically_satisfied"], c["surveyed"]),
    ])


# ------------------------------------------------------------------ draws
def dirichlet_alpha(weights, concentration: float) -> np.ndarray:
    """Dirichlet parameters around the nominal weights: ``concentration`` x the weights
    (normalised to sum 1), a zero weight floored at :data:`ZERO_WEIGHT_FLOOR`."""
    w = _as_weights(weights)
    if not (np.isfinite(concentration) and concentration > 0):
        raise ValueError(f"dirichlet_concentration must be > 0, got {concentration!r}")
    return concentration * np.maximum(w / w.sum(), ZERO_WEIGHT_FLOOR)


def _resample_rates(c: dict[str, np.ndarray], basic_weight: float, draws: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(units, draws, 3) rates from the parametric bootstrap of each unit's counts."""
    n = len(c["surveyed"])
    size = (n, draws)
    known, surveyed = c["responded_known"][:, None], c["surveyed"][:, None]
    p = {k: np.nan_to_num(_ratio(c[k], c[den])) for k, den in
         (("signed_on_time", "responded_known"), ("resolved", "surveyed"), ("satisfied", "surveyed"))}
    signed = rng.binomial(known, p["signed_on_time"][:, None], size=size)
    resolved = rng.binomial(surveyed, p["resolved"][:, None], size=size)
    satisfied = rng.binomial(surveyed, p["satisfied"][:, None], size=size)
    # Multinomial by conditioning: basically | satisfied ~ Bin(rest, basically / not satisfied).
    q_basic = np.nan_to_num(_ratio(c["basically_satisfied"], c["surveyed"] - c["satisfied"]))
    basically = rng.binomial(surveyed - satisfied, q_basic[:, None], size=size)
    out = np.empty((n, draws, 3))
    out[:, :, 0] = _ratio(signed, known)
    out[:, :, 1] = _ratio(resolved, surveyed)
    out[:, :, 2] = _ratio(satisfied + basic_weight * basically, surveyed)
    return out


def lexsort_rows(primary: np.ndarray, secondary) -> np.ndarray:
    """Per row of ``primary`` (rows, n): the order ``np.lexsort((*keys, primary),
    axis=-1)`` gives, ``keys`` being the secondary keys (least significant first, as
    lexsort takes them), then the lower index. ``secondary(rows, units)`` returns those
    keys for the given elements only: a stable argsort of ``primary`` orders every row,
    then one lexsort re-orders the elements of its tied runs (equal keys, NaN equal to
    NaN, as the sort compares them) by the secondary keys. The same order exactly, with
    the secondary keys built and sorted only where a row has ties (measured on the
    default run: ~2x faster than a lexsort of every key)."""
    order = np.argsort(primary, axis=-1, kind="stable")
    s = np.take_along_axis(primary, order, axis=-1)
    eq = (s[:, 1:] == s[:, :-1]) | (np.isnan(s[:, 1:]) & np.isnan(s[:, :-1]))  # position p+1 ties with p
    if not eq.any():
        return order
    tied = np.zeros(s.shape, dtype=bool)
    tied[:, 1:] |= eq
    tied[:, :-1] |= eq
    starts = tied.copy()
    starts[:, 1:] &= ~eq  # the first element of each tied run
    rows, pos = np.nonzero(tied)  # row by row, position by position: each run contiguous
    run = np.cumsum(starts[rows, pos])
    units = order[rows, pos]  # within a run in index order (the argsort is stable)
    within = np.lexsort([*secondary(rows, units), run])  # stable: equal keys keep the index order
    order[rows, pos] = units[within]
    return order


def rank_with_tie_rule(scores: np.ndarray, rates: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Ranks (units, draws) when the rates differ per draw: ``scores`` (units, draws),
    ``rates`` (units, draws, 3). Same order as :func:`sim.ranking.rank_matrix` with
    :func:`sim.ranking.tie_order` of each draw's rates (higher score, then the
    rates in TIE_BREAK order, then the lower index), sorted for all draws at once
    (:func:`lexsort_rows`: the rates are looked at only where scores tie)."""
    n, k = scores.shape
    # Sorted along the last axis of (draws, units) keys: contiguous rows, ~2x faster.
    primary = np.where(eligible[None, :], -scores.T, np.inf)

    def tie_keys(draws, units):
        return [-np.nan_to_num(rates[units, draws, j], nan=-1.0) for j in reversed(TIE_BREAK)]

    order = lexsort_rows(primary, tie_keys)
    ranks = np.empty((k, n), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[None, :], axis=1)
    ranks[:, ~eligible] = 0
    return np.ascontiguousarray(ranks.T)


# ------------------------------------------------------------------ summaries
def row_quantiles(ranks: np.ndarray, valid: np.ndarray, qs) -> list[np.ndarray]:
    """Per row, the ``inverted_cdf`` quantiles of the entries where ``valid`` (NaN if
    none), for all rows at once: sort with invalid entries last, pick index
    ``ceil(q * count) - 1``."""
    k = ranks.shape[1]
    big = np.iinfo(np.int64).max
    s = np.sort(np.where(valid, ranks, big).astype(np.int64), axis=1)
    cnt = valid.sum(axis=1)
    out = []
    for q in qs:
        idx = np.clip(np.ceil(q * cnt - 1e-9).astype(np.int64) - 1, 0, max(k - 1, 0))
        v = np.take_along_axis(s, idx[:, None], axis=1)[:, 0].astype(float)
        v[cnt == 0] = np.nan
        out.append(v)
    return out


def _unit_block(source: str, ranks: np.ndarray, nominal: np.ndarray, top_n: int, bottom_n: int) -> dict:
    n, k = ranks.shape
    valid = ranks > 0
    cnt = valid.sum(axis=1)
    p05, p50, p95 = row_quantiles(ranks, valid, (0.05, 0.5, 0.95))
    n_ranked = valid.sum(axis=0)
    top = valid & (ranks <= top_n)
    bottom = valid & (ranks > (n_ranked - bottom_n)[None, :])
    never = cnt == 0
    return {
        "source": np.full(n, source), "unit": np.arange(n), "nominal_rank": nominal.astype(np.int64),
        "median_rank": p50, "rank_p05": p05, "rank_p95": p95,
        "p_top_n": np.where(never, np.nan, top.mean(axis=1)),
        "p_bottom_n": np.where(never, np.nan, bottom.mean(axis=1)),
        "share_ranked": np.where(never, np.nan, cnt / k),
    }


def _discordant_pairs(a: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """Per column of ``a`` (m units in nominal order, draws): pairs i < j (both valid)
    with a[i] > a[j].

    All m(m-1)/2 pairs, compared lag by lag: for lag d, ``a[:-d] > a[d:]`` compares the
    pairs (i, i + d) of every draw at once. Same count as the full pairwise sign
    matrix (upper triangle of ``a[:, None] > a[None, :]`` per draw) with half the
    comparisons and no (m, m, draws) temporary; units-by-draws rows are contiguous,
    small integer types and reused buffers keep it memory-light (measured: ~6x a
    draws-by-units layout, ~12x an O(m log m) merge count vectorised over draws)."""
    m, k = a.shape
    limit = np.iinfo(np.int16).max
    small = np.int16 if m < limit and (a.size == 0 or a.max() < limit) else np.int64
    a = np.ascontiguousarray(a, dtype=small)
    per_unit = np.zeros((m, k), dtype=small)  # discordant pairs counted at their first unit
    cmp = np.empty((m, k), dtype=bool)
    v = None if valid is None else np.ascontiguousarray(valid)
    for d in range(1, m):
        c = cmp[: m - d]
        np.greater(a[:-d], a[d:], out=c)
        if v is not None:
            c &= v[:-d]
            c &= v[d:]
        per_unit[: m - d] += c
    return per_unit.sum(axis=0, dtype=np.int64)


def rank_agreement(nominal_ranks: np.ndarray, ranks: np.ndarray) -> dict[str, np.ndarray]:
    """Per draw (column of ``ranks``, units x draws; 0 = not ranked), agreement with the
    nominal table over the units ranked in both: ``kendall_tau``, ``spearman_rho``
    (NaN with fewer than 2 common units), ``mean_abs_shift`` and
    ``share_shift_gt{3,10}`` of ``|rank - nominal|``, and ``units`` (common units)."""
    r0 = np.asarray(nominal_ranks)
    r = np.asarray(ranks)
    r = r[:, None] if r.ndim == 1 else r
    sel = r0 > 0
    order = np.argsort(r0[sel], kind="stable")
    a = r[sel][order].astype(np.int64)  # (m, draws): each draw's ranks, units in nominal order
    base = r0[sel][order].astype(np.int64)
    valid = a > 0
    all_valid = bool(valid.all())
    v = valid.sum(axis=0).astype(float)
    # Spearman on the common set: re-rank both rankings within it.
    big = np.iinfo(np.int64).max
    draw_pos = np.argsort(np.argsort(np.where(valid, a, big), axis=0, kind="stable"), axis=0) + 1
    nominal_pos = np.cumsum(valid, axis=0)
    d2 = np.where(valid, (draw_pos - nominal_pos) ** 2, 0).sum(axis=0).astype(float)
    disc = _discordant_pairs(a, None if all_valid else valid).astype(float)
    ok = v >= 2
    denom_rho = np.where(ok, v * (v * v - 1.0), 1.0)
    denom_tau = np.where(ok, v * (v - 1.0), 1.0)
    shift = np.abs(a - base[:, None])
    vv = np.where(v > 0, v, 1.0)
    out = {
        "kendall_tau": np.where(ok, 1.0 - 4.0 * disc / denom_tau, np.nan),
        "spearman_rho": np.where(ok, 1.0 - 6.0 * d2 / denom_rho, np.nan),
        "mean_abs_shift": np.where(v > 0, np.where(valid, shift, 0).sum(axis=0) / vv, np.nan),
        "units": v.astype(np.int64),
    }
    for t in SHIFT_THRESHOLDS:
        out[f"share_shift_gt{t}"] = np.where(v > 0, (valid & (shift > t)).sum(axis=0) / vv, np.nan)
    return out


def _finite_stats(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not x.size:
        return (float("nan"),) * 3
    p05, p95 = np.quantile(x, (0.05, 0.95))
    return float(x.mean()), float(p05), float(p95)


def _overall(agree: dict[str, np.ndarray]) -> dict[str, float]:
    out = {}
    for name in ("kendall_tau", "spearman_rho"):
        out[f"{name}_mean"], out[f"{name}_p05"], out[f"{name}_p95"] = _finite_stats(agree[name])
    for name in ["mean_abs_shift"] + [f"share_shift_gt{t}" for t in SHIFT_THRESHOLDS]:
        out[name] = _finite_stats(agree[name])[0]
    out["draws"] = int(len(agree["units"]))
    out["units"] = float(agree["units"].mean()) if len(agree["units"]) else float("nan")
    return out


# ------------------------------------------------------------------ main entry
def rank_distributions(counts: dict, basic_weight: float, weights, cfg: RobustnessConfig, min_surveys: int,
                       top_n: int, bottom_n: int, replication_ranks: np.ndarray | None = None) -> RobustnessResult:
    """Distribution of each unit's rank under each source of uncertainty (module
    docstring), for one month of one replication.

    ``counts``: :data:`COUNT_KEYS` arrays over units; ``weights``: nominal (response,
    resolution, satisfaction); ``cfg``: draws, concentration and seed (``cfg.enabled``
    is the caller's business); ``replication_ranks``: (units, replications) ranks of
    the same month in independent replications, 0 = not ranked, or None.
    """
    c = _as_counts(counts)
    w = _as_weights(weights)
    for name, value in (("top_n", top_n), ("bottom_n", bottom_n)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    for name in ("weight_draws", "sampling_draws"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"robustness.{name} must be >= 1, got {getattr(cfg, name)!r}")
    rates = rates_from_counts(c, basic_weight)
    n = len(rates)
    scores, nominal = rank_units(rates, w, c["surveyed"], min_surveys)
    eligible = nominal > 0
    ties = tie_order(rates)
    gen = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(3)]

    ranks, weight_draws = {}, {}
    weight_draws["weights_dirichlet"] = gen[0].dirichlet(dirichlet_alpha(w, cfg.dirichlet_concentration),
                                                         size=cfg.weight_draws)
    weight_draws["weights_simplex"] = gen[1].dirichlet(np.ones(3), size=cfg.weight_draws)
    for source in ("weights_dirichlet", "weights_simplex"):
        ranks[source] = rank_matrix(composite(rates, weight_draws[source]), ties, eligible)
    drawn = _resample_rates(c, basic_weight, cfg.sampling_draws, gen[2])
    drawn_scores = composite(drawn.reshape(-1, 3), w).reshape(n, cfg.sampling_draws)  # 2-D: one fast gemv
    ranks["sampling"] = rank_with_tie_rule(drawn_scores, drawn, eligible)
    weight_draws["sampling"] = np.broadcast_to(w, (cfg.sampling_draws, 3))
    if replication_ranks is not None:
        rr = np.asarray(replication_ranks)
        rr = rr[:, None] if rr.ndim == 1 else rr
        if rr.ndim != 2 or rr.shape[0] != n or rr.shape[1] < 1:
            raise ValueError(f"replication_ranks must be (units={n}, replications), got shape {rr.shape}")
        if not np.issubdtype(rr.dtype, np.integer) and not np.all(rr == np.rint(rr)):
            raise ValueError("replication_ranks must hold whole numbers (0 = not ranked)")
        if np.any(rr < 0):
            raise ValueError("replication_ranks must be >= 0 (0 = not ranked)")
        ranks["replications"] = rr.astype(np.int64)

    blocks, overall, agreement = [], {}, {}
    for source in SOURCES:
        if source not in ranks:
            continue
        blocks.append(_unit_block(source, ranks[source], nominal, int(top_n), int(bottom_n)))
        agreement[source] = rank_agreement(nominal, ranks[source])
        overall[source] = _overall(agreement[source])
    units = {col: np.concatenate([b[col] for b in blocks]) for col in UNIT_COLUMNS}
    return RobustnessResult(units=units, overall=overall, effective_weights=effective_weights(rates, w, eligible),
                            nominal_scores=scores, nominal_ranks=nominal, ranks=ranks, agreement=agreement,
                            weight_draws=weight_draws)


# ------------------------------------------------------------------ effective weights
def _correlation_ratio(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[float, int]:
    """Bias-corrected correlation ratio of y on x with x grouped into ``bins`` groups
    of about equal size (equal x values always share a group; x with at most ``bins``
    distinct values is grouped by value, so E[y|x] is then exact). Returns
    (estimate clipped to [0, 1], groups used)."""
    m = len(x)
    xs = np.sort(x)
    uniq = np.unique(xs)
    if uniq.size < 2:
        return 0.0, 1
    if uniq.size <= bins:
        g = np.searchsorted(uniq, x)
    else:
        g = np.searchsorted(xs, x, side="left") * bins // m  # by rank; ties keep the lowest rank
        g = np.unique(g, return_inverse=True)[1]
    b = int(g.max()) + 1
    cnt = np.bincount(g, minlength=b)
    mean_g = np.bincount(g, y, minlength=b) / cnt
    ybar = y.mean()
    ss_t = float(np.sum((y - ybar) ** 2))
    ss_b = float(np.sum(cnt * (mean_g - ybar) ** 2))
    ss_w = max(ss_t - ss_b, 0.0)
    if b >= m:
        est = ss_b / ss_t
    else:
        est = (ss_b - (b - 1) * ss_w / (m - b)) / ss_t
    return float(min(max(est, 0.0), 1.0)), b


def effective_weights(rates: np.ndarray, weights, eligible: np.ndarray, bins: int | None = None) -> dict:
    """How much each rate actually moves the composite across units (Paruolo, Saisana
    & Saltelli 2013): the first-order sensitivity index, i.e. Pearson's correlation
    ratio, ``S_i = Var(E[score | rate_i]) / Var(score)`` over the eligible units.

    Estimator ("given data", Plischke, Borgonovo & Smith 2013): E[score | rate_i] is
    estimated piecewise-constant on ``bins`` groups of rate_i of about equal size
    (default ``round(sqrt(units))`` within [2, 50]; equal values share a group; a rate
    with few distinct values, e.g. a response rate of mostly 100%, is grouped by value).
    The raw ratio SS_between / SS_total is biased up by about (groups - 1)/(units - 1)
    x (1 - S_i) from noise in the group means, so the ANOVA correction (Kelley's
    epsilon squared) is applied: ``(SS_b - (groups - 1) MS_w) / SS_t``, clipped to
    [0, 1]. Paruolo et al. smooth E[score | rate_i] by non-parametric regression
    instead; bins are simpler, need no bandwidth and handle the ties of rates of small
    counts. Also given: the linear estimate ``corr(score, rate_i)^2`` (equal to S_i when
    the relation is linear), and both normalised to sum 1 to set against the nominal
    weights. With correlated rates the S_i overlap (their sum can exceed 1).

    A rate constant across units, fewer than 3 units or a constant score give 0 (no
    warnings, no NaN). Returns columns over the three rates: ``rate``,
    ``nominal_weight`` (normalised), ``first_order``, ``first_order_normalised``,
    ``linear_r2``, ``linear_r2_normalised``, ``bins``, and ``units`` (an int).
    """
    x = np.asarray(rates, dtype=float)
    w = _as_weights(weights)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"rates must be (units, 3), got shape {x.shape}")
    sel = np.asarray(eligible, dtype=bool) & np.all(np.isfinite(x), axis=1)
    x = x[sel]
    m = len(x)
    s, r2, used = np.zeros(3), np.zeros(3), np.zeros(3, dtype=np.int64)
    out = {"rate": np.array(RATES), "nominal_weight": w / w.sum(), "units": int(m)}
    y = composite(x, w) if m else np.zeros(0)
    ss_y = float(np.sum((y - y.mean()) ** 2)) if m else 0.0
    scale = float(np.sum(y ** 2)) if m else 0.0
    if m >= 3 and ss_y > 1e-24 * max(scale, 1.0):
        nb = int(bins) if bins is not None else int(np.clip(round(np.sqrt(m)), MIN_BINS, MAX_BINS))
        for i in range(3):
            xi = x[:, i]
            if np.ptp(xi) == 0:
                continue
            s[i], used[i] = _correlation_ratio(xi, y, nb)
            dx = xi - xi.mean()
            ss_x = float(np.sum(dx ** 2))
            if ss_x > 0:
                r2[i] = min(float(np.sum(dx * (y - y.mean()))) ** 2 / (ss_x * ss_y), 1.0)
    out["first_order"] = s
    out["first_order_normalised"] = s / s.sum() if s.sum() > 0 else np.zeros(3)
    out["linear_r2"] = r2
    out["linear_r2_normalised"] = r2 / r2.sum() if r2.sum() > 0 else np.zeros(3)
    out["bins"] = used
    return out
