"""Numbers, dates, config values and command lines as the report writes them (plain
text; the templates escape it)."""
from __future__ import annotations

import datetime as dt
import re
import shlex

from analysis.report.vocabulary import KPI_INFO, MONTH_NAMES


def to_float(x) -> float | None:
    """``x`` as a finite float, else None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def fmt(value, number_format: str, scale: float) -> str:
    return "n/a" if value is None else number_format.format(value * scale)


def fmt_kpi(name: str, m: dict | None) -> tuple[str, str]:
    """(value with unit, CI text) of a KPI entry of summary.json."""
    _, _, _, unit, number_format, scale, _ = KPI_INFO[name]
    if not m or m.get("mean") is None:
        return "n/a", ""
    sep = "" if unit == "%" else " "
    value = f"{fmt(m['mean'], number_format, scale)}{sep}{unit}"
    if m.get("ci_low") is None or m.get("ci_high") is None:
        return value, "(one replication: no CI)"
    return value, (f"{fmt(m['ci_low'], number_format, scale)}–{fmt(m['ci_high'], number_format, scale)}"
                   f"{'%' if unit == '%' else ''}")


def pct(x, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def fmt_value(value, limit: int = 160) -> str:
    """A config value as compact YAML flow text."""
    text = flow(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


_DIST_UNITS = (("mean_min", "min"), ("mean_h", "h"), ("mean_s", "s"), ("mean_days", "days"))


def flow(value) -> str:
    """Compact YAML-like flow text; a distribution ``{dist: lognormal, mean_h: 48, cv: 1.0}``
    reads ``lognormal(mean 48 h, cv 1.0)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if isinstance(value.get("dist"), str) and set(value) <= {"dist", "cv"} | {k for k, _ in _DIST_UNITS}:
            args = [f"mean {flow(value[k])} {u}" for k, u in _DIST_UNITS if k in value]
            args += [f"cv {flow(value['cv'])}"] if "cv" in value else []
            return f"{value['dist']}({', '.join(args)})" if args else str(value["dist"])
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return str(value)


def fmt_value_lines(value, width: int = 70, max_lines: int = 14) -> str:
    """Like :func:`fmt_value`, but a long mapping one entry per line ("\n")."""
    text = fmt_value(value, 10 ** 6)
    if not isinstance(value, dict) or len(text) <= width:
        return fmt_value(value)
    lines = [f"{k}: {fmt_value(v, 110)}" for k, v in value.items()]
    return "\n".join(lines[:max_lines] + (["…"] if len(lines) > max_lines else []))


# ------------------------------------------------------------------ dates
def period(summary: dict) -> dict:
    """Dates of the simulated and measured period (end exclusive)."""
    try:
        start = dt.datetime.fromisoformat(str(summary["start"]))
        horizon = float(summary["horizon_days"])
        warmup = float(summary["warmup_days"])
    except (KeyError, TypeError, ValueError):
        return {}
    return {"start": start, "measure_start": start + dt.timedelta(days=warmup),
            "end": start + dt.timedelta(days=horizon), "horizon": horizon, "warmup": warmup}


def date(d: dt.datetime) -> str:
    text = f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"  # English whatever the locale
    return text + ("" if d.time() == dt.time(0) else f" {d:%H:%M}")


def last_day(end: dt.datetime) -> dt.datetime:
    """The last day touched by a period ending (exclusively) at ``end``."""
    return end - dt.timedelta(days=1) if end.time() == dt.time(0) else end


def days(x: float) -> str:
    return f"{x:g} day" + ("" if x == 1 else "s")


# ------------------------------------------------------------------ names and commands
def humanise(stem: str) -> str:
    """A file name as a heading: "02_calls-by_hour" -> "Calls by hour"."""
    text = re.sub(r"^\d+[_-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return (text[:1].upper() + text[1:]) if text else stem


def reproduce_command(overrides: list[str], options: list[str] = ()) -> str:
    """The command line that reproduces a run from its Hydra task overrides, after the
    Hydra options it was started with (``--config-dir DIR``: a user's own config folder)."""
    return " ".join(["python", "run.py", *(shlex.quote(o) for o in [*options, *overrides])])


def sweep_command(keys: list[str], values: dict, name: str, options: list[str] = ()) -> str:
    """The multirun command that re-creates a sweep from its swept values (after the
    Hydra options its jobs were started with)."""
    if not keys:
        return ""
    parts = [f"{k}={','.join(v for v in values[k] if v)}" for k in keys if any(values[k])]
    return " ".join(["python", "run.py", "-m", *(shlex.quote(o) for o in options), *(shlex.quote(p) for p in parts),
                     shlex.quote(f"sweep_name={name}")])
