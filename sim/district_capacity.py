"""More (or fewer) caseworkers in chosen districts: ``streets.capacity.district_factor``.

A planner's lever next to ``streets.capacity.scale`` (every street) and the city
table's per-street ``capacity_factor``: a mapping from a district to a factor on the
caseworker slots of every street in it, e.g. ``{东城区: 1.2}`` for a fifth more in
Dongcheng. A district is named by its Chinese name (东城区), its English name
(Dongcheng, any case) or its 6-digit official code (110101); districts not named keep
factor 1. Sizing itself is :func:`sim.ticketing.street_caseworkers`.

Validated twice over: the factors when the config is read (numbers > 0, at most
:data:`MAX_DISTRICT_FACTOR`), the names against the run's city table before anything
is simulated (an unknown district is a one-line error listing the districts).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from sim.city import City
from sim.errors import ConfigError

KEY = "streets.capacity.district_factor"
#: The largest factor on one district's slots: the bound of ``streets.capacity.scale``
#: (a thousand times the sized slots is beyond any plan, and bounds the stations built).
MAX_DISTRICT_FACTOR = 1000.0


def parse_district_factor(raw) -> tuple[tuple[str, float], ...]:
    """``streets.capacity.district_factor`` as (district name as given, factor) pairs;
    null or ``{}``: none."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(KEY, raw, "a mapping {district: factor}, e.g. {东城区: 1.2} (a district by its Chinese or "
                                    "English name or 6-digit code)")
    out = []
    for name, factor in raw.items():
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) \
                or not 0 < factor <= MAX_DISTRICT_FACTOR:
            raise ConfigError(f"{KEY}.{name}", factor, f"a number > 0, at most {MAX_DISTRICT_FACTOR:g} (the factor "
                                                       "on the district's caseworker slots; 1 = as sized)")
        out.append((str(name), float(factor)))
    return tuple(out)


def _district_index(city: City, name: str) -> int | None:
    """The index of the district ``name`` names (Chinese, English or code), or None."""
    for d in range(city.n_districts):
        if name in (city.district_zh[d], city.district_code[d]) or name.lower() == city.district_names[d].lower():
            return d
    return None


def district_factors(spec: tuple[tuple[str, float], ...], city: City, table: str = "") -> np.ndarray:
    """The factor of each district of ``city`` (1 where ``spec`` names none). An unknown
    district, or one named twice, is a :class:`ConfigError` listing the districts."""
    out = np.ones(city.n_districts)
    seen: dict[int, str] = {}
    for name, factor in spec:
        d = _district_index(city, name)
        if d is None:
            listed = ", ".join(f"{zh} ({en}, {code})" for zh, en, code in
                               zip(city.district_zh, city.district_names, city.district_code))
            raise ConfigError(f"{KEY}.{name}", factor, f"a district of the city{f' {table}' if table else ''} by "
                                                       f"Chinese or English name or code: {listed}")
        if d in seen:
            raise ConfigError(f"{KEY}.{name}", factor, f"each district once ({city.district_zh[d]} is also given as "
                                                       f"{seen[d]})")
        seen[d] = name
        out[d] = factor
    return out


def street_factors(spec: tuple[tuple[str, float], ...], city: City) -> np.ndarray:
    """The factor of each street: its district's (:func:`district_factors`)."""
    return district_factors(spec, city)[np.asarray(city.street_district, dtype=int)]
