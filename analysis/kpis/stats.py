"""Means and confidence intervals across independent replications."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CONFIDENCE = 0.95


def mean_ci(values, confidence: float = CONFIDENCE) -> dict:
    """Mean and Student-t confidence interval of per-replication values.

    NaN replications (e.g. a rate with a zero denominator) are left out. With one
    usable replication the interval is unknown and given as None (JSON null).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": None, "ci_low": None, "ci_high": None}
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci_low": None, "ci_high": None}
    half = float(t_quantile(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


@lru_cache(maxsize=None)
def t_quantile(p: float, df: int) -> float:
    """Student-t quantile: ``scipy.stats.t.ppf(p, df)``, computed as SciPy computes it
    for 0 < p < 1 and df > 0, by ``scipy.special.stdtrit(df, p)`` (the same function,
    so the same bits: tests/test_special_functions.py). Importing scipy.special takes
    0.2-0.3 s, scipy.stats 0.5-0.8 s more (measured here): a run's tables import no
    scipy.stats.
    Imported on first use, so that whoever imports this module for its configs (run.py,
    and so every simulation worker) pays for neither."""
    if 0 < p < 1 and df > 0:
        from scipy.special import stdtrit
        return stdtrit(df, p)
    from scipy import stats  # the edges (p of 0 or 1, a bad df): scipy.stats's own answer
    return stats.t.ppf(p, df)


def t_sf(x, df):
    """Student-t survival function ``P(T > x)``: ``scipy.stats.t.sf(x, df)`` for df > 0,
    by the function SciPy calls, ``scipy.special.stdtr(df, -x)`` (which also gives 1 at
    -inf, 0 at +inf and NaN for NaN, as scipy.stats does), without scipy.stats."""
    if not np.all(np.asarray(df) > 0):
        from scipy import stats
        return stats.t.sf(x, df)
    from scipy.special import stdtr
    return stdtr(df, -np.asarray(x, dtype=float))


def f_quantile(q: float, dfn: float, dfd: float) -> float:
    """F-distribution quantile: ``scipy.stats.f.ppf(q, dfn, dfd)`` for 0 < q < 1 and
    positive degrees of freedom, by the function SciPy calls,
    ``scipy.special.fdtri(dfn, dfd, q)``, without scipy.stats."""
    if 0 < q < 1 and dfn > 0 and dfd > 0:
        from scipy.special import fdtri
        return fdtri(dfn, dfd, q)
    from scipy import stats
    return stats.f.ppf(q, dfn, dfd)


@dataclass(frozen=True)
class PrecisionConfig:
    """Keep adding replications until ``metric``'s 95% CI half-width is at most
    ``half_width`` (in the metric's own unit) or ``max_replications`` ran."""

    metric: str
    half_width: float
    max_replications: int


def build_precision_config(raw, known_metrics, replications: int) -> PrecisionConfig | None:
    """Validate the ``precision`` section (None or absent: a fixed number of replications)."""
    from sim.config import MAX_REPLICATIONS
    from sim.errors import ConfigError
    from sim.validate import check_keys, integer, number
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("precision", raw, "null, or a mapping {metric, half_width, max_replications}")
    check_keys(raw, {"metric", "half_width", "max_replications"}, "precision")
    if raw.get("metric") not in known_metrics:
        raise ConfigError("precision.metric", raw.get("metric"), "a KPI name: " + ", ".join(known_metrics))
    return PrecisionConfig(
        metric=raw["metric"],
        half_width=number(raw.get("half_width"), "precision.half_width", lo=0, lo_open=True),
        max_replications=integer(raw.get("max_replications", 100), "precision.max_replications", lo=replications,
                                 hi=MAX_REPLICATIONS,
                                 allowed=f"a whole number from replications ({replications}) to {MAX_REPLICATIONS}"),
    )


def ci_half_width(per_rep: list[dict], metric: str) -> float:
    """Half-width of the 95% CI of ``metric`` over the replications so far (inf if
    fewer than two)."""
    ci = mean_ci([rep["overall"][metric] for rep in per_rep])
    return float("inf") if ci["ci_low"] is None else (ci["ci_high"] - ci["ci_low"]) / 2


def precision_outcome(per_rep: list[dict], precision: PrecisionConfig) -> dict:
    """Whether the run met its ``precision`` target: the ``precision`` block of
    summary.json (``achieved_half_width`` None while it is unknown: one replication)."""
    achieved = ci_half_width(per_rep, precision.metric)
    return {"metric": precision.metric, "target_half_width": precision.half_width,
            "achieved_half_width": achieved if math.isfinite(achieved) else None,
            "replications": len(per_rep), "max_replications": precision.max_replications,
            "met": bool(achieved <= precision.half_width)}


def record_precision(summary: dict, per_rep: list[dict], precision: PrecisionConfig | None) -> None:
    """With a ``precision`` target: put :func:`precision_outcome` in ``summary`` (as
    ``precision``) and, when the target was missed at ``max_replications``, log a
    WARNING (console and run.log). Without one: nothing."""
    if precision is None:
        return
    out = summary["precision"] = precision_outcome(per_rep, precision)
    if not out["met"]:
        achieved = "unknown" if out["achieved_half_width"] is None else f"{out['achieved_half_width']:.4g}"
        logging.getLogger(__name__).warning(
            "precision target missed: %s's 95%% CI half-width is %s after %d replication(s) (max_replications), "
            "target %.4g; raise precision.max_replications or relax precision.half_width", out["metric"], achieved,
            out["replications"], out["target_half_width"])
