"""Service-time and patience distributions, written in config as
``{dist: NAME, mean_min: ..., cv: ...}`` and sampled in vectorised blocks.

Why a small module of our own: config files name distributions by their mean and
coefficient of variation (what a planner knows from call logs), not by numpy's
shape/scale parameters; the conversion and its checks live here once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR, SECONDS_PER_MINUTE
from sim.errors import ConfigError

#: dist name -> (required parameters, optional parameters)
DIST_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "exponential": (("mean_min",), ()),
    "lognormal": (("mean_min", "cv"), ()),
    "gamma": (("mean_min", "cv"), ()),
    "deterministic": (("mean_min",), ()),
    "empirical": (("values_min",), ("weights",)),
    # Never ends: a caller who never hangs up (Erlang C). Only where allowed.
    "infinite": ((), ()),
}

#: The smallest mean a duration may have: one second (in minutes). Every duration of the
#: model is a step in time (patience, redial and repeat-call delays, service, review and
#: survey times); loops such as hang up -> redial -> hang up, or misroute -> review ->
#: misroute, advance the clock by these durations, so a mean of zero (or next to it)
#: would let simulated time stand still while the loop runs for ever. No real duration
#: of a hotline is shorter on average than a second. Single draws may still be near zero.
MIN_MEAN_MIN = 1.0 / SECONDS_PER_MINUTE
#: The longest mean a duration may have: ten years (in minutes). Longer ones cannot be
#: meant, and 1e307 hours overflows to inf; a caller who never hangs up is ``dist: infinite``.
MAX_MEAN_MIN = 10 * 365.0 * MINUTES_PER_DAY
#: The range of a coefficient of variation (gamma, lognormal). Below MIN_CV a duration
#: does not vary (use ``dist: deterministic``) and the gamma shape 1/cv^2 overflows;
#: above MAX_CV nearly every draw is next to zero and the mean rests on rare huge ones.
MIN_CV = 0.01
MAX_CV = 10.0


@dataclass(frozen=True)
class Distribution:
    """A validated distribution of a duration in minutes."""

    dist: str
    mean_min: float = float("nan")
    cv: float = float("nan")
    values_min: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    @property
    def mean(self) -> float:
        """Mean in minutes (inf for ``infinite``)."""
        if self.dist == "infinite":
            return float("inf")
        if self.dist == "empirical":
            return float(np.dot(self.values_min, self._probs()))
        return self.mean_min

    @property
    def is_infinite(self) -> bool:
        return self.dist == "infinite"

    def _probs(self) -> np.ndarray:
        if self.weights:
            w = np.asarray(self.weights, dtype=float)
            return w / w.sum()
        return np.full(len(self.values_min), 1.0 / len(self.values_min))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` durations in minutes as a new float64 array."""
        return self.sample_into(rng, np.empty(n))

    def sample_into(self, rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
        """Fill the float64 array ``out`` with draws, in place (no temporaries for the
        common distributions: large runs draw millions at once)."""
        d = self.dist
        if d == "exponential":
            rng.standard_exponential(out=out)
            out *= self.mean_min
        elif d == "deterministic":
            out.fill(self.mean_min)
        elif d == "gamma":
            shape = 1.0 / self.cv**2
            rng.standard_gamma(shape, out=out)
            out *= self.mean_min / shape
        elif d == "lognormal":
            sigma2 = np.log1p(self.cv**2)
            rng.standard_normal(out=out)
            out *= np.sqrt(sigma2)
            out += np.log(self.mean_min) - sigma2 / 2.0
            np.exp(out, out=out)
        elif d == "empirical":
            values = np.asarray(self.values_min, dtype=float)
            out[:] = values[rng.choice(len(values), size=len(out), p=self._probs())]
        else:  # infinite
            out.fill(np.inf)
        return out


def parse_distribution(raw, key: str, allow_infinite: bool = False) -> Distribution:
    """Build a :class:`Distribution` from a config mapping, or raise a one-line
    :class:`ConfigError` naming ``key``, the value and what is allowed."""
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "a mapping like {dist: exponential, mean_min: 5.0}")
    given = raw
    raw = _mean_in_minutes(raw, key)
    allowed = [name for name in DIST_PARAMS if allow_infinite or name != "infinite"]
    name = raw.get("dist")
    if name not in allowed:
        raise ConfigError(f"{key}.dist", name, "one of " + "|".join(allowed))
    required, optional = DIST_PARAMS[name]
    for extra in sorted(set(raw) - {"dist", *required, *optional}):
        raise ConfigError(
            f"{key}.{extra}", raw[extra],
            f"no such parameter for dist={name}; it takes {', '.join(required + optional) or 'none'}"
            f" (to change the type, give the distribution whole: {key}={{dist: {name}, ...}})",
        )
    for req in required:
        if raw.get(req) is None:
            raise ConfigError(f"{key}.{req}", None, f"required for dist={name}")
    if name == "empirical":
        dist = _parse_empirical(raw, key)
        if dist.mean < MIN_MEAN_MIN:
            raise ConfigError(f"{key}.values_min", raw["values_min"],
                              f"values whose mean is at least {MIN_MEAN_MIN:.4g} min (1 second)")
        if max(dist.values_min) > MAX_MEAN_MIN:
            raise ConfigError(f"{key}.values_min", raw["values_min"], f"durations of at most {MAX_MEAN_MIN:.6g} min "
                              "(10 years)")
        return dist
    kwargs = {}
    if "mean_min" in required:
        kwargs["mean_min"] = _positive(raw["mean_min"], f"{key}.mean_min")
        if kwargs["mean_min"] < MIN_MEAN_MIN:
            unit = next((u for u in MEAN_UNITS_MIN if u in given), "mean_min")
            floor = f"{MIN_MEAN_MIN / MEAN_UNITS_MIN[unit]:.4g}"
            raise ConfigError(f"{key}.{unit}", given[unit], f"a mean of at least 1 second ({unit} >= {floor}): "
                              "a shorter one can make simulated time stand still")
        if kwargs["mean_min"] > MAX_MEAN_MIN:
            unit = next((u for u in MEAN_UNITS_MIN if u in given), "mean_min")
            raise ConfigError(f"{key}.{unit}", given[unit], f"a mean of at most 10 years "
                              f"({unit} <= {MAX_MEAN_MIN / MEAN_UNITS_MIN[unit]:.6g})")
    if "cv" in required:
        cv = _positive(raw["cv"], f"{key}.cv")
        if not MIN_CV <= cv <= MAX_CV:
            raise ConfigError(f"{key}.cv", raw["cv"], f"a number from {MIN_CV} to {MAX_CV} "
                              "(for no variation use dist: deterministic)")
        kwargs["cv"] = cv
    return Distribution(dist=name, **kwargs)


#: Other units a mean may be given in (``mean_h: 48`` reads better than ``mean_min: 2880``).
MEAN_UNITS_MIN = {"mean_min": 1.0, "mean_s": 1 / SECONDS_PER_MINUTE, "mean_h": float(MINUTES_PER_HOUR),
                  "mean_days": float(MINUTES_PER_DAY)}


def _mean_in_minutes(raw: dict, key: str) -> dict:
    """Rewrite ``mean_s`` / ``mean_h`` / ``mean_days`` as ``mean_min``."""
    given = [u for u in MEAN_UNITS_MIN if u in raw]
    if len(given) > 1:
        raise ConfigError(f"{key}.{given[1]}", raw[given[1]], f"only one of {', '.join(MEAN_UNITS_MIN)}")
    if not given or given[0] == "mean_min":
        return raw
    unit = given[0]
    out = {k: v for k, v in raw.items() if k != unit}
    value = _positive(raw[unit], f"{key}.{unit}")
    if value > MAX_MEAN_MIN / MEAN_UNITS_MIN[unit]:  # before it is multiplied (1e307 h is inf minutes)
        raise ConfigError(f"{key}.{unit}", raw[unit], f"a mean of at most 10 years "
                          f"({unit} <= {MAX_MEAN_MIN / MEAN_UNITS_MIN[unit]:.6g})")
    out["mean_min"] = value * MEAN_UNITS_MIN[unit]
    return out


def _parse_empirical(raw: dict, key: str) -> Distribution:
    values = raw["values_min"]
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"{key}.values_min", values, "a non-empty list of durations in minutes")
    vals = tuple(_non_negative(v, f"{key}.values_min[{i}]") for i, v in enumerate(values))
    weights = raw.get("weights")
    if weights is None:
        return Distribution(dist="empirical", values_min=vals)
    if not isinstance(weights, (list, tuple)) or len(weights) != len(vals):
        raise ConfigError(f"{key}.weights", weights, f"a list of {len(vals)} non-negative weights (one per value)")
    ws = tuple(_non_negative(w, f"{key}.weights[{i}]") for i, w in enumerate(weights))
    if sum(ws) <= 0:
        raise ConfigError(f"{key}.weights", weights, "weights with a positive sum")
    return Distribution(dist="empirical", values_min=vals, weights=ws)


def _number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ConfigError(key, value, "a finite number")
    return float(value)


def _positive(value, key: str) -> float:
    x = _number(value, key)
    if x <= 0:
        raise ConfigError(key, value, "a number > 0")
    return x


def _non_negative(value, key: str) -> float:
    x = _number(value, key)
    if x < 0:
        raise ConfigError(key, value, "a number >= 0")
    return x
