"""The practical threshold of a paired comparison (config key ``comparison.practical_threshold``).

A difference B - A whose 95% CI excludes 0 is *clear*; it is called better or worse
(``policy_comparison``, :mod:`analysis.charts.compare`) only when it is also at least
this large: a +0.01-point change in service level is clear with enough replications,
and means nothing to a planner. The sizes are a judgement [assume], so they are
config, read by the chart from the run's composed config (``.hydra/config.yaml``).

Kept light (no matplotlib): ``run.py`` validates the key before any simulation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from sim.errors import ConfigError

KEY = "comparison.practical_threshold"
#: Units of a difference with an absolute threshold: percentage points (shares),
#: seconds (call-centre times), hours (ticket times).
UNITS = {"pp": "pp (shares)", "s": "s", "h": "h"}
#: The defaults of conf/config.yaml, for a run directory whose config has no such key
#: (a run from before the key existed) and for the chart called from Python.
DEFAULT_ABSOLUTE = {"pp": 0.5, "s": 5.0, "h": 0.5}
DEFAULT_RELATIVE = 0.02


@dataclass(frozen=True)
class PracticalThreshold:
    """``absolute``: difference unit -> smallest practical |B - A| in that unit;
    ``relative``: for any other unit, this share of run A's level."""

    absolute: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_ABSOLUTE))
    relative: float = DEFAULT_RELATIVE

    def of(self, unit: str, level_a: float) -> float:
        """The threshold of a difference in ``unit`` whose run-A level is ``level_a``."""
        if unit in self.absolute:
            return float(self.absolute[unit])
        return self.relative * abs(level_a) if math.isfinite(level_a) else 0.0

    def text(self) -> str:
        """The thresholds in words, for a chart's note: ``0.5 pp (shares), 5 s, 0.5 h,
        otherwise 2% of A``."""
        return (", ".join(f"{v:g} {UNITS.get(u, u)}" for u, v in self.absolute.items())
                + f", otherwise {self.relative:.0%} of A")


def build_practical_threshold(raw) -> PracticalThreshold:
    """Validate ``comparison.practical_threshold`` (null or missing: the defaults)."""
    if raw is None:
        return PracticalThreshold()
    allowed = "a mapping {pp, s, h, relative} of non-negative numbers (pp: percentage points, s, h; relative: share of A)"
    if not isinstance(raw, Mapping):
        raise ConfigError(KEY, raw, allowed)
    unknown = sorted(set(raw) - {*UNITS, "relative"})
    if unknown:
        raise ConfigError(f"{KEY}.{unknown[0]}", raw[unknown[0]], f"one of the keys pp, s, h, relative ({allowed})")
    values = {}
    for key in (*UNITS, "relative"):
        value = raw.get(key, DEFAULT_ABSOLUTE.get(key, DEFAULT_RELATIVE))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{KEY}.{key}", value, "a number >= 0" + (" (a share of A's level, e.g. 0.02)"
                                                                        if key == "relative" else f" ({UNITS[key]})"))
        values[key] = float(value)
    relative = values.pop("relative")
    return PracticalThreshold(absolute=values, relative=relative)


def build_comparison_config(section) -> PracticalThreshold:
    """Validate the ``comparison`` section of a composed config (null or missing: the
    defaults) and return its practical threshold."""
    if section is None:
        return PracticalThreshold()
    if not isinstance(section, Mapping):
        raise ConfigError("comparison", section, "a mapping {practical_threshold: {pp, s, h, relative}}")
    unknown = sorted(set(section) - {"practical_threshold"})
    if unknown:
        raise ConfigError(f"comparison.{unknown[0]}", section[unknown[0]], "the key practical_threshold only")
    return build_practical_threshold(section.get("practical_threshold"))


def threshold_of_config(cfg: Mapping | None) -> PracticalThreshold:
    """The threshold a run's composed config names (its ``comparison`` section)."""
    return build_comparison_config((cfg or {}).get("comparison"))
