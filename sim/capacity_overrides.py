"""More (or fewer) caseworkers in chosen districts or streets: the planner's levers
``streets.capacity.district_factor`` and ``streets.capacity.street_factor``.

Next to ``streets.capacity.scale`` (every street) and the city table's per-street
``capacity_factor``: mappings from a district, or a street, to a factor on its
caseworker slots, e.g. ``district_factor: {东城区: 1.2}`` for a fifth more in every
street of Dongcheng, ``street_factor: {110105001: 1.5}`` for half as many again in one
street. A district is named by its Chinese name (东城区), its English name (Dongcheng,
any case) or its 6-digit official code (110101); a street by its 9-digit official code,
or by its Chinese or English name where no other street of the city has it (two
streets may share a name: then the code). Units not named keep factor 1; a street named
in both gets the product. Sizing itself is :func:`sim.ticketing.street_caseworkers`.

Validated twice over: the factors when the config is read (numbers > 0, at most
:data:`MAX_FACTOR`), the names against the run's city table before anything is
simulated (an unknown or ambiguous unit is a one-line error saying what is allowed).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from sim.city import City
from sim.errors import ConfigError
from sim.validate import number

DISTRICT_KEY = "streets.capacity.district_factor"
STREET_KEY = "streets.capacity.street_factor"
#: The largest factor on one unit's slots: the bound of ``streets.capacity.scale`` (a
#: thousand times the sized slots is beyond any plan, and bounds the stations built).
MAX_FACTOR = 1000.0

Factors = tuple[tuple[str, float], ...]


def parse_factors(raw, key: str, unit: str, example: str) -> Factors:
    """A factor mapping (``key``: its config key; ``unit``: district or street) as (unit
    as named, factor) pairs; null or ``{}``: none."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, f"a mapping {{{unit}: factor}}, e.g. {example}")
    allowed = f"a number > 0, at most {MAX_FACTOR:g} (the factor on the caseworker slots; 1 = as sized)"
    return tuple((str(name), number(factor, f"{key}.{name}", lo=0, lo_open=True, hi=MAX_FACTOR, allowed=allowed))
                 for name, factor in raw.items())


def parse_district_factor(raw) -> Factors:
    return parse_factors(raw, DISTRICT_KEY, "district", "{东城区: 1.2} (a district by its Chinese or English name or 6-digit code)")


def parse_street_factor(raw) -> Factors:
    return parse_factors(raw, STREET_KEY, "street", "{110105001: 1.5} (a street by its 9-digit code, or its Chinese or "
                                          "English name if no other street has it)")


def _district_index(city: City, name: str) -> int | None:
    """The index of the district ``name`` names (Chinese, English or code), or None."""
    for d in range(city.n_districts):
        if name in (city.district_zh[d], city.district_code[d]) or name.lower() == city.district_names[d].lower():
            return d
    return None


def _street_indices(city: City, name: str) -> list[int]:
    """The streets ``name`` names: by code (one), else by Chinese or English name (any)."""
    if name in city.street_code:
        return [city.street_code.index(name)]
    return [s for s in range(city.n_streets)
            if name == city.street_zh[s] or name.lower() == city.street_names[s].lower()]


def _factors(spec: Factors, n: int, key: str, unit: str, find, label) -> np.ndarray:
    """The factor of each of ``n`` units (1 where ``spec`` names none); ``find(name,
    factor)`` gives a unit's index (or raises), ``label(i)`` its name for an error. A
    unit named twice (by two of its names) is a :class:`ConfigError`."""
    out = np.ones(n)
    seen: dict[int, str] = {}
    for name, factor in spec:
        i = find(name, factor)
        if i in seen:
            raise ConfigError(f"{key}.{name}", factor, f"each {unit} once ({label(i)} is also given as {seen[i]})")
        seen[i] = name
        out[i] = factor
    return out


def district_factors(spec: Factors, city: City, table: str = "") -> np.ndarray:
    """The factor of each district of ``city`` (1 where ``spec`` names none). An unknown
    district, or one named twice, is a :class:`ConfigError` listing the districts."""
    def find(name: str, factor: float) -> int:
        d = _district_index(city, name)
        if d is None:
            listed = ", ".join(f"{zh} ({en}, {code})" for zh, en, code in
                               zip(city.district_zh, city.district_names, city.district_code))
            raise ConfigError(f"{DISTRICT_KEY}.{name}", factor, f"a district of the city{f' {table}' if table else ''}"
                                                                f" by Chinese or English name or code: {listed}")
        return d
    return _factors(spec, city.n_districts, DISTRICT_KEY, "district", find, lambda d: city.district_zh[d])


def street_only_factors(spec: Factors, city: City, table: str = "") -> np.ndarray:
    """The factor of each street that ``spec`` names (1 elsewhere). An unknown street, a
    name several streets share, or a street named twice is a :class:`ConfigError`."""
    where = f" {table}" if table else ""

    def find(name: str, factor: float) -> int:
        found = _street_indices(city, name)
        if not found:
            raise ConfigError(f"{STREET_KEY}.{name}", factor,
                              f"a street of the city{where} by its 9-digit code (e.g. {city.street_code[0]} for "
                              f"{city.street_zh[0]}) or its Chinese or English name: the city table's street, "
                              f"street_zh and code columns")
        if len(found) > 1:
            codes = ", ".join(f"{city.street_code[s]} ({city.district_zh[city.street_district[s]]})" for s in found)
            raise ConfigError(f"{STREET_KEY}.{name}", factor, f"one street: {len(found)} streets are called {name}; "
                                                              f"give its code: {codes}")
        return found[0]
    return _factors(spec, city.n_streets, STREET_KEY, "street", find, lambda s: city.street_zh[s])


def check_names(district_spec: Factors, street_spec: Factors, city: City, table: str) -> None:
    """Refuse, before anything is simulated, a district or street the city lacks."""
    district_factors(district_spec, city, table)
    street_only_factors(street_spec, city, table)


def street_factors(district_spec: Factors, street_spec: Factors, city: City) -> np.ndarray:
    """The factor of each street: its district's times its own."""
    by_district = district_factors(district_spec, city)[np.asarray(city.street_district, dtype=int)]
    return by_district * street_only_factors(street_spec, city)
