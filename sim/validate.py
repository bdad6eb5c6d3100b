"""Small validators shared by the config sections: each returns the clean value or
raises the one-line :class:`~sim.errors.ConfigError`."""
from __future__ import annotations

import math
from datetime import datetime

from sim.errors import ConfigError


def check_keys(raw: dict, allowed: set[str], section: str) -> None:
    for key in raw:
        if key not in allowed:
            full = f"{section}.{key}" if section else key
            raise ConfigError(full, raw[key], "a known key here (" + ", ".join(sorted(allowed)) + ")")


def section(raw, key: str, keys: set[str]) -> dict:
    """A mapping of the config whose keys are among ``keys`` (a sub-section)."""
    if not isinstance(raw, dict):
        raise ConfigError(key, raw, "a mapping {" + ", ".join(sorted(keys)) + "}")
    check_keys(raw, keys, key)
    return raw


def check_category(name, value, key: str, categories: tuple[str, ...]) -> None:
    """``name`` (the key ``key`` under which ``value`` was given) must be a complaint
    category of the scenario."""
    if name not in categories:
        raise ConfigError(key, value, "a category of arrivals.category_mix: " + ", ".join(categories))


def listing(raw, key: str, allowed: str) -> list:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(key, raw, allowed)
    return list(raw)


def number(value, key: str, lo=None, hi=None, lo_open=False, allowed: str | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(key, value, allowed or range_text(lo, hi, lo_open, "a finite number"))
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    if too_low or (hi is not None and value > hi):
        raise ConfigError(key, value, allowed or range_text(lo, hi, lo_open, "a number"))
    return float(value)


def integer(value, key: str, lo=None, hi=None, allowed: str | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and (lo is None or value >= lo) and (hi is None or value <= hi):
        return int(value)
    raise ConfigError(key, value, allowed or range_text(lo, hi, False, "a whole number"))


def range_text(lo, hi, lo_open, what: str) -> str:
    if lo is not None and hi is not None:
        return f"{what} from {lo} to {hi}"
    if lo is not None:
        return f"{what} {'>' if lo_open else '>='} {lo}"
    return what


def datetime_value(value, key: str) -> datetime:
    """A naive local (Beijing) date-time, from a datetime or an ISO string."""
    allowed = "an ISO date-time in local time, without a time zone, like 2019-06-03T00:00"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(key, value, allowed) from None
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise ConfigError(key, value if not isinstance(value, datetime) else value.isoformat(), allowed)
    return value
