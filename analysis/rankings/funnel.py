"""Funnel plots of the three rates (Spiegelhalter 2005): which streets differ from the
city more than chance allows?

What
----
For each rate, each unit's value ``y / n`` is set against control limits around the
target ``p0`` = the pooled rate of all units (sum of numerators / sum of
denominators) for *its* denominator ``n``: the 95% and 99.8% limits (about 2 and 3
standard errors), which narrow as ``n`` grows into a funnel. A unit is flagged
``above_99.8``, ``above_95``, ``inside``, ``below_95``, ``below_99.8`` (or ``no_data``
when ``n`` = 0, value NaN).

Why
---
A league table ranks every street, but with a few dozen callbacks a street's rate
moves by several points by chance alone, so the bottom ten are partly just the
unluckiest ten. Spiegelhalter (2005, "Funnel plots for comparing institutional
performance", Statistics in Medicine 24:1185-1202) proposes funnel plots instead:
only units outside the limits differ from the target by more than sampling noise
(the OECD/JRC Handbook 2008 makes the same point about reporting ranks without their
uncertainty). It complements :mod:`analysis.rankings.robustness` (whose "sampling" source
shows the same noise as rank intervals).

Limits: exact binomial, interpolated
------------------------------------
``Y ~ Binomial(n, p0)``. Spiegelhalter (2005, appendix) makes exact binomial limits
smooth by interpolating the CDF: with ``r_q = binom.ppf(q, n, p0)`` (the smallest r
with ``F(r) >= q``) and ``alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1))``, the limit is
``(r_q - alpha) / n``. That spreads the probability of each count r over
``(r - 1, r]``, which shifts both limits down by half a count: a unit at the top of
its range is then always "above" -- with ``p0`` near 1 (the response rate was
"always 100%" in 2019) every street at 100% would be flagged ``above_99.8``. Exactly
computed, the share of on-target units outside those 95% limits is 36% at p0 = 0.9,
n = 10 and 91% at p0 = 0.99, n = 10 (and 7% at p0 = 0.5, n = 30).

The default here (``method="mid_p"``) spreads each count's probability over
``(r - 1/2, r + 1/2]`` instead: limit ``(r_q - alpha + 1/2) / n``, clipped to [0, 1].
The limits are centred on ``p0`` (to first order ``p0 +- z sqrt(p0 (1 - p0) / n)``,
the normal approximation), and "outside the limits" is exactly the two-sided mid-p
test: above the upper ``q`` limit iff ``P(Y > y) + P(Y = y) / 2 < 1 - q``, below the
lower iff ``P(Y < y) + P(Y = y) / 2 < q`` (tests check this), so about 5% (0.2%) of
units on target fall outside the 95% (99.8%) limits. Exactly, at p0 = 0.5, 0.7, 0.9
and 30 <= n <= 3000: 4.98% on average, between 3.4% and 6.8% for a given n because
counts are discrete, 4.5-5.5% for n >= 1000 (textbook limits: up to 11%).
``method="spiegelhalter"`` gives the textbook limits. Quantiles: q = 0.025/0.975 (95%)
and 0.001/0.999 (99.8%).

Satisfaction uses the weighted numerator ``satisfied + basic_weight x basically``, not
a whole number; it is treated as binomial with mean ``p0`` (the interpolated CDF is
defined between counts). Its real variance per answer, ``E[X^2] - p^2`` with X in
{0, basic_weight, 1}, is at most the binomial ``p (1 - p)``, so its limits are
slightly conservative (too wide) when basically-satisfied answers are common.
"""
from __future__ import annotations

import numpy as np
from sim.ranking import FUNNEL_METHODS, RATES, binomial_limit  # noqa: F401 - binomial_limit is this module's too
from analysis.rankings.robustness import _as_counts, _ratio

#: Columns of funnel_table (long format: one row per rate and unit).
COLUMNS = ("rate", "unit", "value", "n", "p0", "lo95", "hi95", "lo998", "hi998", "flag")
FLAGS = ("above_99.8", "above_95", "inside", "below_95", "below_99.8", "no_data")
#: Two-sided coverage of the two pairs of limits, and their column suffixes.
LEVELS = {"95": 0.95, "998": 0.998}
METHODS = FUNNEL_METHODS
#: The limits themselves (:func:`binomial_limit`) are computed in :mod:`sim.ranking`, whose
#: ``rectification_rule: funnel`` uses the same limits inside the simulation.


def _numerators(counts: dict, basic_weight: float) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if not (np.isfinite(basic_weight) and 0 <= basic_weight <= 1):
        raise ValueError(f"basic_weight must be in [0, 1], got {basic_weight!r}")
    c = _as_counts(counts)
    return [
        (RATES[0], c["signed_on_time"].astype(float), c["responded_known"]),
        (RATES[1], c["resolved"].astype(float), c["surveyed"]),
        (RATES[2], c["satisfied"] + basic_weight * c["basically_satisfied"], c["surveyed"]),
    ]


def funnel_table(counts: dict, basic_weight: float, method: str = "mid_p") -> dict[str, np.ndarray]:
    """Funnel-plot data of one month: :data:`COLUMNS`, one block of units per rate in
    the order of :data:`sim.ranking.RATES`.

    ``counts``: arrays over units with keys signed_on_time, responded_known, surveyed,
    resolved, satisfied, basically_satisfied (see :mod:`analysis.rankings.robustness`);
    ``basic_weight``: what a "basically satisfied" answer counts. ``value`` = y / n,
    ``n`` = the denominator, ``p0`` = the pooled rate (NaN if no unit has data), limits
    from :func:`binomial_limit`; flags compare the value with the limits strictly
    (on a limit = inside)."""
    blocks = []
    for rate, y, n in _numerators(counts, basic_weight):
        total = n.sum()
        p0 = float(y.sum() / total) if total > 0 else float("nan")
        value = _ratio(y, n)
        lim = {}
        for suffix, level in LEVELS.items():
            tail = (1.0 - level) / 2.0
            lim["lo" + suffix] = binomial_limit(tail, n, p0, method)
            lim["hi" + suffix] = binomial_limit(1.0 - tail, n, p0, method)
        flag = np.full(len(n), "inside", dtype=object)
        flag[value < lim["lo95"]] = "below_95"
        flag[value < lim["lo998"]] = "below_99.8"
        flag[value > lim["hi95"]] = "above_95"
        flag[value > lim["hi998"]] = "above_99.8"
        flag[n == 0] = "no_data"
        blocks.append({"rate": np.full(len(n), rate), "unit": np.arange(len(n)), "value": value, "n": n,
                       "p0": np.full(len(n), p0), **lim, "flag": flag.astype(str)})
    return {col: np.concatenate([b[col] for b in blocks]) for col in COLUMNS}
