"""Formatting shared by the chart modules: numbers from CSV cells, decimals, CIs,
percentages, hours and days, months, bilingual labels split into their languages.

Pure functions of strings and numbers (no matplotlib). The underscore names are the
package's own helpers, not part of :mod:`analysis.charts`' API.
"""
from __future__ import annotations

import math
import re
from datetime import datetime


def _num(x) -> float:
    """A number from a CSV cell or JSON value; NaN for blanks and None."""
    if x is None or (isinstance(x, str) and x.strip() in ("", "None", "nan", "NaN")):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _dec(x: float) -> int:
    """Decimals that show ``x`` with about two significant digits (at least one)."""
    ax = abs(x)
    if not math.isfinite(ax) or ax >= 10:
        return 1 if ax < 100 else 0
    if ax >= 1:
        return 1
    if ax >= 0.1:
        return 2
    return 3


def _fmt(x: float, decimals: int | None = None) -> str:
    if not math.isfinite(x):
        return "n/a"
    d = _dec(x) if decimals is None else decimals
    return f"{x:,.{d}f}"


def _ci(lo: float, hi: float, decimals: int) -> str:
    return f"[{_fmt(lo, decimals)}, {_fmt(hi, decimals)}]" if math.isfinite(lo) and math.isfinite(hi) else ""


def _pct(x: float, decimals: int = 1) -> str:
    return f"{100 * x:.{decimals}f}%" if math.isfinite(x) else "n/a"


def _hours(h: float) -> str:
    """2 -> '2 h', 24 -> '24 h', 168 -> '7 d'."""
    return f"{h:g} h" if h < 48 else f"{h / 24:g} d"


def _hours_zh(h: float) -> str:
    return f"{h:g}小时" if h < 48 else f"{h / 24:g}天"


def _month_en(m: str) -> str:
    try:
        return datetime.strptime(m, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return m


def _month_zh(m: str) -> str:
    try:
        d = datetime.strptime(m, "%Y-%m")
    except ValueError:
        return m
    return f"{d.year}年{d.month}月"


def split_bilingual(text: str) -> tuple[str, str]:
    """'Two-level dispatch 两级派单' -> ('Two-level dispatch', '两级派单'); a text in one
    language is returned as both."""
    zh = "".join(re.findall(r"[\u3000-\u9fff\uff00-\uffef（）]+", text)).strip()
    en = re.sub(r"[\u3000-\u9fff\uff00-\uffef（）]+", "", text).strip()
    return (en or text), (zh or text)


def _mid(label: str) -> str:
    """A label inside a sentence: 'Direct dispatch' -> 'direct dispatch' ('run A' and
    acronyms stay)."""
    first = label.split(" ")[0]
    return label[0].lower() + label[1:] if first[:1].isupper() and first[1:].islower() else label

