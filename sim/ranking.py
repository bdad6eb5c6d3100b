"""The monthly league table: composite scores, ranks and the four classes (the one
implementation, used by the reported tables in analysis/ and by the model itself).

Composite score = weighted sum of the three rates (response, resolution, satisfaction),
as a percentage (0-100). Units with fewer than ``min_surveys`` answered callbacks in a
month are not ranked (their rates rest on too few answers).

Tie rule (deterministic, stated): higher score first; on equal score, higher
resolution rate, then higher satisfaction rate, then higher response rate, then the
lower unit id (street / district id, not the row's position: permuting the input
changes nothing but the order of rows). With weights (1, 0, 0) the ranking is thus
exactly the ranking by response rate under the same rule.

Classes each month (四类): advanced (先进) = the ``advanced_n`` best ranked;
rectification (整改) = the ``rectification_n`` worst ranked; improving (进步) = the
``improving_n`` largest gains in score (or in rank) over the previous month among
units ranked in both (none in the first month); governance (治理) = the top
``governance_share`` of units by tickets per 10,000 residents (ranked or not).

Rectification rule (``rectification_rule``): ``rank`` (default) = the
``rectification_n`` worst ranked, whatever their scores; ``funnel`` = those of them
whose score is also below the lower 99.8% funnel limit (:func:`funnel_lower_limit`,
Spiegelhalter 2005): a street is not put into rectification for a score that the
survey's sampling noise alone would often give. The limit treats the composite score
as a proportion of the street's answered callbacks around the city's mean score (the
ranked units' scores weighted by their answered callbacks): a simplification (the
response rate has its own denominator), stated in docs/ranking_design.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.errors import ConfigError
from sim.records import BASIC, SATISFIED
from sim.validate import check_keys, integer, number

RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
WEIGHT_KEYS = ("response", "resolution", "satisfaction")
#: Order in which rates break ties (after the score), by index into RATES.
TIE_BREAK = (1, 2, 0)
CLASSES = ("advanced", "improving", "rectification", "governance")
CLASS_ZH = {"advanced": "先进", "improving": "进步", "rectification": "整改", "governance": "治理"}
RECTIFICATION_RULES = ("rank", "funnel")
#: Two-sided coverage of the funnel limit below which ``rectification_rule: funnel``
#: puts a street into rectification (the outer limit of the reported funnel plots).
FUNNEL_LEVEL = 0.998
#: Interpolation of the exact binomial limits (analysis/rankings/funnel.py explains both).
FUNNEL_METHODS = ("mid_p", "spiegelhalter")


#: The most robustness draws per source: rank quantiles from 10^6 draws are exact to
#: ~0.1%; more cannot be meant (each draw costs memory per street: sim/budget.py) [assume].
MAX_ROBUSTNESS_DRAWS = 1_000_000


@dataclass(frozen=True)
class RobustnessConfig:
    enabled: bool
    weight_draws: int
    dirichlet_concentration: float
    sampling_draws: int
    seed: int


@dataclass(frozen=True)
class RankingConfig:
    weights: tuple[float, float, float]  # response, resolution, satisfaction
    min_surveys: int
    advanced_n: int
    rectification_n: int
    improving_n: int
    improving_by: str  # score | rank
    governance_share: float
    robustness: RobustnessConfig
    rectification_rule: str = "rank"  # rank | funnel


def build_ranking_config(raw: dict | None) -> RankingConfig:
    """Validate the ``ranking`` section (conf/ranking/*.yaml)."""
    s = "ranking"
    if not isinstance(raw, dict):
        raise ConfigError(s, raw, "a mapping (choose one with ranking=w10_45_45|w10_50_40|w30_35_35|equal)")
    check_keys(raw, {"weights", "min_surveys", "advanced_n", "rectification_n", "improving_n", "improving_by",
                     "governance_share", "robustness", "rectification_rule"}, s)
    w = raw.get("weights")
    if not isinstance(w, dict):
        raise ConfigError(f"{s}.weights", w, "a mapping {response, resolution, satisfaction}")
    check_keys(w, set(WEIGHT_KEYS), f"{s}.weights")
    weights = tuple(number(w.get(k), f"{s}.weights.{k}", lo=0) for k in WEIGHT_KEYS)
    if not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        raise ConfigError(f"{s}.weights", dict(zip(WEIGHT_KEYS, weights)), "non-negative weights that sum to 1")
    by = raw.get("improving_by", "score")
    if by not in ("score", "rank"):
        raise ConfigError(f"{s}.improving_by", by, "score or rank")
    rule = raw.get("rectification_rule", "rank")
    if rule not in RECTIFICATION_RULES:
        raise ConfigError(f"{s}.rectification_rule", rule,
                          "rank (the rectification_n worst) or funnel (... and below the 99.8% funnel limit)")
    rob = raw.get("robustness") or {}
    if not isinstance(rob, dict):
        raise ConfigError(f"{s}.robustness", rob, "a mapping")
    check_keys(rob, {"enabled", "weight_draws", "dirichlet_concentration", "sampling_draws", "seed"},
               f"{s}.robustness")
    enabled = rob.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{s}.robustness.enabled", enabled, "true or false")
    return RankingConfig(
        weights=weights,
        min_surveys=integer(raw.get("min_surveys", 10), f"{s}.min_surveys", lo=1),
        advanced_n=integer(raw.get("advanced_n", 10), f"{s}.advanced_n", lo=0),
        rectification_n=integer(raw.get("rectification_n", 10), f"{s}.rectification_n", lo=0),
        improving_n=integer(raw.get("improving_n", 10), f"{s}.improving_n", lo=0),
        improving_by=by,
        governance_share=number(raw.get("governance_share", 0.10), f"{s}.governance_share", lo=0, hi=1),
        robustness=RobustnessConfig(
            enabled=enabled,
            weight_draws=integer(rob.get("weight_draws", 1000), f"{s}.robustness.weight_draws", lo=2,
                                 hi=MAX_ROBUSTNESS_DRAWS),
            dirichlet_concentration=number(rob.get("dirichlet_concentration", 50.0),
                                           f"{s}.robustness.dirichlet_concentration", lo=0, lo_open=True),
            sampling_draws=integer(rob.get("sampling_draws", 1000), f"{s}.robustness.sampling_draws", lo=2,
                                   hi=MAX_ROBUSTNESS_DRAWS),
            seed=integer(rob.get("seed", 0), f"{s}.robustness.seed", lo=0),
        ),
        rectification_rule=rule,
    )


#: The counts a league table rests on (per unit and month): tickets, responses known and
#: on time, callbacks that reached the citizen and what they said.
ASSESSMENT_COUNTS = ("tickets", "signed_on_time", "responded_known", "surveyed", "resolved", "satisfied",
                     "basically_satisfied")


def said_solved(c) -> np.ndarray:
    """The citizen said the problem was solved: it was, or the street gamed the
    ticket and was not caught (``gamed`` 1, sim.accountability)."""
    get = c.get if isinstance(c, dict) else lambda name: getattr(c, name, None)
    solved = np.asarray(get("resolved")) == 1
    gamed = get("gamed")
    return solved if gamed is None else solved | (np.asarray(gamed) == 1)


def assessment_counts(c: dict, n_units: int, unit: str = "street") -> dict[str, np.ndarray]:
    """:data:`ASSESSMENT_COUNTS` per unit from ticket columns ``c`` (arrays of the
    tickets to count: ``unit`` index, ``responded``, ``reached``, ``resolved``,
    ``gamed``, ``satisfaction``). The one implementation behind the reported monthly
    tables and the accountability loop's."""
    u = np.asarray(c[unit]).astype(np.int64)
    reached = np.asarray(c["reached"]) == 1
    answer = np.asarray(c["satisfaction"])

    def count(mask=None):
        return np.bincount(u, None if mask is None else mask, minlength=n_units).astype(np.int64)

    return {
        "tickets": count(),
        "signed_on_time": count(np.asarray(c["responded"]) == 1),
        "responded_known": count(np.asarray(c["responded"]) >= 0),
        "surveyed": count(reached),
        "resolved": count(reached & said_solved(c)),
        "satisfied": count(reached & (answer == SATISFIED)),
        "basically_satisfied": count(reached & (answer == BASIC)),
    }


def rates_from_counts(c: dict, basic_weight: float) -> np.ndarray:
    """The three rates (units x 3, in :data:`RATES` order; NaN without a denominator):
    response = on time / known; resolution = said solved / reached; satisfaction =
    (satisfied + ``basic_weight`` x basically satisfied) / reached."""
    def ratio(num, den):
        den = np.asarray(den, dtype=float)
        return np.divide(np.asarray(num, dtype=float), den, out=np.full(den.shape, np.nan), where=den > 0)

    return np.column_stack([
        ratio(c["signed_on_time"], c["responded_known"]),
        ratio(c["resolved"], c["surveyed"]),
        ratio(np.asarray(c["satisfied"], dtype=float) + basic_weight * np.asarray(c["basically_satisfied"]),
              c["surveyed"]),
    ])


def demand_per_10k(tickets: np.ndarray, population_10k: np.ndarray) -> np.ndarray:
    """Tickets per 10,000 residents (NaN where the population is 0): what the
    governance class ranks."""
    tickets = np.asarray(tickets, dtype=float)
    return np.divide(tickets, population_10k, out=np.full(len(tickets), np.nan), where=population_10k > 0)


def class_label(member: dict[str, np.ndarray], i: int) -> str:
    """Unit ``i``'s classes in one month, joined by '+' in :data:`CLASSES` order ('' none)."""
    return "+".join(c for c in CLASSES if member[c][i])


def composite(rates: np.ndarray, weights) -> np.ndarray:
    """Scores (0-100) of units x draws: ``rates`` is (units, 3) and ``weights`` (3,)
    or (draws, 3); NaN rates give NaN scores."""
    w = np.asarray(weights, dtype=float)
    return 100.0 * (rates @ w.T)


def tie_order(rates: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Position of each unit in the tie-break order (0 = wins a tie); ``ids`` are the
    units' ids (default: their positions)."""
    ids = np.arange(len(rates)) if ids is None else np.asarray(ids)
    keys = [ids] + [-np.nan_to_num(rates[:, k], nan=-1.0) for k in reversed(TIE_BREAK)]
    order = np.lexsort(keys)
    position = np.empty(len(rates), dtype=np.int64)
    position[order] = np.arange(len(rates))
    return position


def rank_matrix(scores: np.ndarray, ties: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """Ranks (1 = best) of units for each column of ``scores`` (units x draws),
    ties broken by ``ties`` (from :func:`tie_order`); ineligible units get rank 0 and
    do not take a place. Vectorised over draws."""
    scores = np.atleast_2d(scores.T).T if scores.ndim == 1 else scores
    n, k = scores.shape
    ok = np.ones(n, bool) if eligible is None else eligible
    key = np.where(ok[:, None], -scores, np.inf)  # ineligible sort last
    tb = np.broadcast_to(ties[:, None], (n, k))
    order = np.lexsort((tb, key), axis=0)
    ranks = np.empty((n, k), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[:, None].repeat(k, axis=1), axis=0)
    ranks[~ok] = 0
    return ranks


def rank_units(rates: np.ndarray, weights, surveyed: np.ndarray, min_surveys: int,
               ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ranks of one month's units (rank 0 = not ranked)."""
    scores = composite(rates, weights)
    eligible = (surveyed >= min_surveys) & ~np.isnan(scores)
    ranks = rank_matrix(scores[:, None], tie_order(rates, ids), eligible)[:, 0]
    return np.where(eligible, scores, np.nan), ranks


def binomial_limit(q: float, n, p0: float, method: str = "mid_p", binomial=None) -> np.ndarray:
    """The interpolated exact-binomial ``q`` quantile of ``Y / n``, ``Y ~ Binomial(n,
    p0)``, for each denominator ``n``; NaN where n = 0. ``mid_p`` (default) spreads
    each count's probability over (r - 1/2, r + 1/2], ``spiegelhalter`` over (r - 1, r]
    (Spiegelhalter 2005, appendix); the derivation and checks: analysis/rankings/funnel.py, whose
    funnel plots use this function. ``binomial``: the ``(ppf, cdf)`` of Binomial(n, p0)
    to use (default :func:`_binomial_functions`: scipy.stats.binom's values; the tests
    pass scipy.stats.binom's own to compare)."""
    if method not in FUNNEL_METHODS:
        raise ValueError(f"method must be one of {', '.join(FUNNEL_METHODS)}, got {method!r}")
    n = np.asarray(n, dtype=float)
    out = np.full(n.shape, np.nan)
    ok = n > 0
    if not np.isfinite(p0) or not ok.any():
        return out
    nn = n[ok]
    binom_ppf, binom_cdf = binomial or _binomial_functions(q, nn, p0)
    r = binom_ppf(q, nn, p0)
    # Guard the definition F(r - 1) < q <= F(r) against rounding in ppf.
    r = np.where(binom_cdf(r, nn, p0) < q, r + 1, r)
    r = np.where((r > 0) & (binom_cdf(r - 1, nn, p0) >= q), r - 1, r)
    f_r, f_below = binom_cdf(r, nn, p0), binom_cdf(r - 1, nn, p0)
    mass = f_r - f_below
    alpha = np.where(mass > 0, (f_r - q) / np.where(mass > 0, mass, 1.0), 0.0)
    shift = 0.5 if method == "mid_p" else 0.0
    out[ok] = np.clip((r - alpha + shift) / nn, 0.0, 1.0)
    return out


def _binomial_functions(q: float, n: np.ndarray, p0: float):
    """``(ppf, cdf)`` of Binomial(n, p0) with ``scipy.stats.binom``'s values, for
    :func:`binomial_limit`. For 0 < q < 1, whole n > 0 and 0 <= p0 <= 1, scipy.stats
    computes them with two of scipy.special's ufuncs: ``_binom_ppf``, and ``_binom_cdf``
    of the floor of k clipped to [0, 1] (0 below the support, 1 from ``n`` up). They are
    called here directly, so that the tables do not import scipy.stats (0.5-0.8 s
    more than scipy.special). They are private to SciPy: in any other case, or with a
    SciPy that lacks them, scipy.stats itself (tests/test_special_functions.py checks
    that the two agree bit for bit)."""
    try:
        from scipy.special._ufuncs import _binom_cdf, _binom_ppf
    except ImportError:  # a SciPy whose private names moved: the public, slower import
        _binom_cdf = _binom_ppf = None
    if _binom_cdf is None or not (0 < q < 1 and 0 <= p0 <= 1 and np.all(n > 0) and np.all(n == np.floor(n))):
        from scipy import stats
        return stats.binom.ppf, stats.binom.cdf

    def ppf(q, n, p):
        return _binom_ppf(q, n, p) + 0.0  # scipy.stats adds its loc (0)

    def cdf(k, n, p):
        k = np.asarray(k, dtype=float)
        inside = np.clip(_binom_cdf(np.floor(np.clip(k, 0, n)), n, p), 0, 1)  # clipped, as scipy.stats does
        return np.where(k < 0, 0.0, np.where(k >= n, 1.0, inside))

    return ppf, cdf


def funnel_lower_limit(scores: np.ndarray, surveyed: np.ndarray, ranked: np.ndarray,
                       level: float = FUNNEL_LEVEL) -> np.ndarray:
    """Each unit's lower funnel limit of the composite score (0-100): the
    ``(1 - level) / 2`` quantile of ``100 Y / n``, ``Y ~ Binomial(n, p0)``, with ``n``
    its answered callbacks and ``p0`` the city's mean score / 100 (the ``ranked``
    units' scores weighted by their answered callbacks). NaN for unranked units."""
    n = np.asarray(surveyed, dtype=float)
    w = np.where(ranked, n, 0.0)
    if w.sum() <= 0:
        return np.full(len(n), np.nan)
    p0 = float(np.sum(w * np.nan_to_num(scores)) / w.sum()) / 100.0
    lo = 100.0 * binomial_limit((1.0 - level) / 2.0, np.where(ranked, n, 0.0), min(max(p0, 0.0), 1.0))
    return np.where(ranked, lo, np.nan)


def classes(ranks: np.ndarray, scores: np.ndarray, prev_ranks: np.ndarray | None,
            prev_scores: np.ndarray | None, demand_per_10k: np.ndarray, cfg: RankingConfig,
            surveyed: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Boolean membership of each class for one month. ``surveyed`` (answered
    callbacks per unit) is needed by ``rectification_rule: funnel`` only."""
    n = len(ranks)
    ranked = ranks > 0
    n_ranked = int(ranked.sum())
    adv_n = min(cfg.advanced_n, n_ranked // 2)
    rect_n = min(cfg.rectification_n, n_ranked - adv_n)
    rectification = ranked & (ranks > n_ranked - rect_n)
    if cfg.rectification_rule == "funnel":
        if surveyed is None:
            raise ValueError("rectification_rule funnel needs each unit's answered callbacks (surveyed)")
        rectification &= scores < funnel_lower_limit(scores, surveyed, ranked)  # NaN limit: False
    out = {
        "advanced": ranked & (ranks <= adv_n),
        "rectification": rectification,
        "improving": np.zeros(n, bool),
        "governance": np.zeros(n, bool),
    }
    if prev_ranks is not None:
        both = ranked & (prev_ranks > 0)
        gain = (scores - prev_scores) if cfg.improving_by == "score" else (prev_ranks - ranks).astype(float)
        gain = np.where(both, gain, -np.inf)
        take = min(cfg.improving_n, int(both.sum()))
        if take:
            best = np.lexsort((np.arange(n), -gain))[:take]  # largest gain, then lower position
            out["improving"][best] = True
    m = int(math.ceil(cfg.governance_share * n))
    if m:
        top = np.lexsort((np.arange(n), -np.nan_to_num(demand_per_10k, nan=-np.inf)))[:m]
        out["governance"][top] = True
    return out
