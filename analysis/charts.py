"""Briefing charts of a run, a policy comparison and a sweep: ready to paste.

    python -m analysis.charts RUN_DIR [--baseline RUN_A]

writes ``RUN_DIR/charts/<name>.png`` (150 dpi) and ``.svg`` for every chart whose data
the run has, and ``captions.json`` with each chart's title (the finding, in English and
Chinese) and caption (read by :mod:`analysis.report`) and the charts skipped with the
reason (key ``_skipped``). :func:`make_run_charts` does the same
from Python; :func:`make_sweep_charts` draws a sweep's tidy table
(``analysis.sweep``).

Every chart function takes plain data (lists of row dicts as read from the CSV files,
dicts, arrays) and returns a :class:`Chart` (the figure, its name and its finding
title); ``chart.save(out_dir)`` writes the PNG and SVG. Titles are computed from the
data ("Two-level dispatch raises mean dispatch delay by 8.4 h [8.3, 8.6] ..."), axes
carry bilingual labels with units, and a small note says where the numbers come from
(:mod:`analysis.chart_style` holds the look).

Charts of a run (skipped, with a logged reason, when their data is absent):

=============================== ================================================
``calls_by_hour``               calls offered and answered per hour, service level
``lead_time_distribution``      lead time to closure per urgency class, deadlines
``lead_time_by_policy``         the same for several runs (needs ``--baseline``)
``deadline_compliance_by_district`` compliance per district, 95% CI
``league_bump``                 monthly rank of the best and worst streets
``rank_caterpillar``            median rank and 90% interval (robustness.csv)
``rank_caterpillar_all_sources`` the same, one panel per source of uncertainty
``weight_sensitivity``          streets whose class depends on the weights
``funnel_plot``                 rates vs denominators with 95% / 99.8% limits
``policy_comparison``           paired differences B - A (comparison.csv)
=============================== ================================================
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import yaml
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from analysis import chart_style as cs
from analysis.run_outputs import RUN_CHARTS
from analysis.catalogue import KPIS
from analysis.stats import mean_ci
from sim import dispatch as dispatch_policies

log = logging.getLogger(__name__)

CHARTS_DIR = "charts"
CAPTIONS_FILE = "captions.json"
ROBUSTNESS_FILE = "robustness.csv"
FUNNEL_FILE = "funnel.csv"
COMPARISON_FILE = "comparison.csv"

# ---------------------------------------------------------------------- vocabulary
#: metric -> (English, Chinese, unit, scale to the unit, +1 higher is better / -1 lower / 0),
#: from the KPI catalogue (analysis/catalogue.py).
KPI = {name: (k.en, k.zh, k.unit, k.scale, k.direction) for name, k in KPIS.items()}
UNIT_ZH = {"%": "%", "pp": "个百分点", "h": "小时", "s": "秒", "calls": "个来电", "calls/day": "个来电/日",
           "tickets": "件工单", "tickets/day": "件工单/日", "agents": "名坐席"}
#: Unit of a difference, and the axis label of a panel of differences.
DIFF_UNIT = {"%": "pp"}
DIFF_AXIS = {"pp": ("Difference", "差值", "percentage points 百分点"), "h": ("Difference", "差值", "hours 小时"),
             "s": ("Difference", "差值", "seconds 秒")}

URGENCY = {"emergency": ("Emergency", "紧急"), "utilities": ("Utilities", "水电气热"),
           "general": ("General", "一般"), "complex": ("Complex", "疑难")}
DEFAULT_DEADLINES_H = {"emergency": 2, "utilities": 24, "general": 168, "complex": 360}


class _PolicyNames(Mapping):
    """Dispatch policy -> (English, Chinese) name, from the policy plug-ins themselves
    (sim/dispatch/), so that a new policy needs no edit here; ``none``: no dispatch."""

    _NONE = {"none": ("Call centre only", "仅话务")}

    def __getitem__(self, name):
        if name in self._NONE:
            return self._NONE[name]
        if not isinstance(name, str) or name not in dispatch_policies.available():
            raise KeyError(name)
        return dispatch_policies.describe(name)[:2]

    def __iter__(self):
        return iter((*dispatch_policies.available(), *self._NONE))

    def __len__(self) -> int:
        return len(dispatch_policies.available()) + len(self._NONE)


POLICY = _PolicyNames()
RATE_LABELS = {"response_rate": ("Response rate", "响应率"), "resolution_rate": ("Resolution rate", "解决率"),
               "satisfaction_rate": ("Satisfaction rate", "满意率")}
RATE_DENOMINATOR = {"response_rate": ("Tickets with a known response", "应响应工单", "n"),
                    "resolution_rate": ("Callbacks answered", "回访成功数", "n"),
                    "satisfaction_rate": ("Callbacks answered", "回访成功数", "n")}
SOURCES = {"weights_dirichlet": ("Weights near the nominal ones", "权重小幅变动"),
           "weights_simplex": ("Any weights", "任意权重"),
           "sampling": ("Survey sampling noise", "回访抽样误差"),
           "replications": ("Simulation noise (replications)", "模拟重复间差异")}
FLAG_STYLE = {  # flag -> (colour, English, Chinese)
    "above_99.8": (cs.BLUE, "above 99.8% limit", "高于99.8%限"),
    "above_95": (cs.SKY, "above 95% limit", "高于95%限"),
    "inside": (cs.LIGHT_GREY, "inside the limits", "限内"),
    "below_95": (cs.ORANGE, "below 95% limit", "低于95%限"),
    "below_99.8": (cs.VERMILLION, "below 99.8% limit", "低于99.8%限"),
}
PARAMS = {  # swept parameter -> (English, Chinese, unit)
    "call_center.seats": ("Seats", "坐席数", "seats"),
    "arrivals.daily_calls": ("Expected calls per day", "日均来电", "calls/day"),
    "streets.capacity.scale": ("Street capacity scale", "街乡办理能力系数", "x"),
    "dispatch": ("Dispatch policy", "派单方式", None),
    "dispatch.policy": ("Dispatch policy", "派单方式", None),
    "call_center.sl_threshold_s": ("Service-level threshold", "服务水平阈值", "s"),
}
#: Run settings that do not describe a scenario (left out of run labels).
RUN_CONTROL_KEYS = {"replications", "horizon_days", "warmup_days", "seed", "executor", "sweep_name", "charts",
                    "report"}
#: KPIs shown by default in a policy comparison and a sweep.
COMPARISON_KPIS = ("service_level", "abandonment_rate", "asa_s", "dispatch_delay_mean_h", "lead_time_mean_h",
                   "lead_time_p90_h", "deadline_compliance", "returned_share", "response_rate", "resolution_rate",
                   "satisfaction_rate")
SWEEP_KPIS = ("service_level", "abandonment_rate", "asa_s", "agent_occupancy", "deadline_compliance",
              "lead_time_mean_h", "dispatch_delay_mean_h", "resolution_rate", "satisfaction_rate")
SWEEP_META_KEYS = {"job", "metric", "mean", "ci_low", "ci_high", "n_replications"}


#: What each chart shows (the caption under its finding title).
CAPTIONS = {
    "calls_by_hour": "Top: calls offered per hour of day, answered and not answered (mean day, 95% CI bars). "
                     "Bottom: service level and abandonment rate per hour (95% CI bands), with the 80% target.",
    "lead_time_distribution": "Share of closed tickets closed within a given time (log scale), per urgency class; "
                              "circles mark each class's time limit.",
    "lead_time_by_policy": "Share of closed tickets closed within a given time, per urgency class, one line per run; "
                           "circles mark the share within the class's limit.",
    "deadline_compliance_by_district": "Deadline compliance per district with its 95% CI over replications, sorted; "
                                       "dashed: all streets.",
    "league_bump": "Monthly rank of the streets that were best and worst in the last month (one replication, as "
                   "a published league table).",
    "rank_caterpillar": "Each street's rank when the chosen source of uncertainty is redrawn (median and 90% "
                        "interval) against its published rank; right: the top and bottom streets by name.",
    "rank_caterpillar_all_sources": "The same rank intervals for each source of uncertainty, side by side.",
    "weight_sensitivity": "Streets whose class (top / bottom of the table) depends on the weights: chance of the "
                          "class over weight draws, near the nominal weights and over any weights.",
    "funnel_plot": "Each street's rate against its number of answers, with 95% and 99.8% control limits around "
                   "the city rate; colour = where the street falls.",
    "policy_comparison": "Paired differences B − A per KPI with 95% CI (same random numbers in both runs); green "
                         "better, vermillion worse, grey not clearly different.",
    "staffing_curve": "Service level and abandonment against the number of agents: simulation (points, 95% CI) "
                      "and Erlang-A theory (lines) where it applies.",
}


class SkipChart(Exception):
    """A chart cannot be drawn from the data at hand (the message says why)."""


@dataclass
class Chart:
    """A finished figure: ``title`` is the finding (English), ``subtitle`` the same in
    Chinese; ``facts`` holds the numbers the title was built from."""
    name: str
    fig: Figure
    title: str
    subtitle: str = ""
    facts: dict = field(default_factory=dict)
    caption: str = ""

    def save(self, out_dir: Path) -> Path:
        """Write ``<out_dir>/<name>.png`` and ``.svg``; return the PNG path."""
        return cs.save(self.fig, out_dir, self.name, self.title, self.describe())

    def describe(self) -> str:
        """What the chart shows, then the finding in Chinese (a caption)."""
        return " ".join(t for t in (self.caption or CAPTIONS.get(self.name, ""), self.subtitle) if t)


# ---------------------------------------------------------------------- small helpers
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


def _kpi(metric: str) -> tuple[str, str, str, float, int]:
    return KPI.get(metric, (metric.replace("_", " "), "", "", 1, 0))


def _street_label(row: Mapping) -> str:
    en = row.get("street") or row.get("district") or str(row.get("unit", ""))
    zh = row.get("street_zh") if row.get("street") else row.get("district_zh")
    return cs.name(en, zh)


def _street_rows(rows: list[dict]) -> list[dict]:
    """Street-level rows if there are any, else the rows as given (district level)."""
    streets = [r for r in rows if str(r.get("street") or "").strip()]
    return streets or rows


def _latest_month(rows: list[dict], month: str | None) -> tuple[str | None, list[dict]]:
    months = sorted({str(r.get("month", "")) for r in rows})
    if month is None:
        month = months[-1] if months else None
    return month, [r for r in rows if str(r.get("month", "")) == month]


def read_rows(path: Path) -> list[dict]:
    """Rows of a CSV file as dicts (all values strings)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _repel(targets: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Positions as close as possible to ``targets`` (any order), at least ``gap``
    apart, inside [lo, hi] (display units)."""
    order = np.argsort(targets)
    pos = targets[order].astype(float).copy()
    for _ in range(50):
        for i in range(1, len(pos)):
            pos[i] = max(pos[i], pos[i - 1] + gap)
        if len(pos) and pos[-1] > hi:
            pos[-1] = hi
            for i in range(len(pos) - 2, -1, -1):
                pos[i] = min(pos[i], pos[i + 1] - gap)
        if len(pos) and pos[0] < lo:
            pos[0] = lo
        if np.all(np.diff(pos) >= gap - 1e-9):
            break
    out = np.empty_like(pos)
    out[order] = pos
    return out


# ---------------------------------------------------------------------- 1 calls by hour
def calls_by_hour(hourly_rows: Iterable[Mapping], *, sl_threshold_s: float = 30, sl_target: float | None = 0.8,
                  overall: Mapping | None = None, note: str | None = None) -> Chart:
    """Calls offered and answered per hour of day (mean per day, 95% CI) and the
    service level and abandonment rate per hour (%).

    ``hourly_rows``: rows of ``hourly.csv`` (hour, metric, mean, ci_low, ci_high).
    ``overall``: the run's ``summary["metrics"]`` (for the day's service level), optional.
    """
    data: dict[str, np.ndarray] = {}
    for r in hourly_rows:
        m = str(r["metric"])
        arr = data.setdefault(m, np.full((24, 3), np.nan))
        h = int(_num(r["hour"]))
        arr[h] = [_num(r["mean"]), _num(r["ci_low"]), _num(r["ci_high"])]
    need = ("calls_offered_per_day", "calls_answered_per_day", "service_level")
    if any(k not in data for k in need):
        raise SkipChart(f"hourly data lacks {', '.join(k for k in need if k not in data)}")
    off, ans, sl = data["calls_offered_per_day"], data["calls_answered_per_day"], data["service_level"]
    hours = np.arange(24)
    with cs.style():
        fig, (ax1, ax2) = cs.new_figure(height=5.6, nrows=2, sharex=True, gridspec_kw={"height_ratios": [1.15, 1]})
        ax1.bar(hours, ans[:, 0], width=0.78, color=cs.BLUE, label="Answered 接通")
        ax1.bar(hours, off[:, 0] - ans[:, 0], bottom=ans[:, 0], width=0.78, color=cs.ORANGE,
                label="Not answered (hung up) 未接通")
        for arr in (off, ans):
            ax1.errorbar(hours, arr[:, 0], yerr=_yerr(arr), fmt="none", ecolor="#222222", elinewidth=0.9)
        ax1.set_ylabel(cs.label("Calls", "来电", "per hour"))
        ax1.set_title("Calls offered per hour, mean day 日均每小时来电量")
        ax1.legend(loc="upper left")
        ax1.grid(axis="x", visible=False)
        ax1.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))

        ax2.fill_between(hours, 100 * sl[:, 1], 100 * sl[:, 2], color=cs.BLUE, alpha=0.2, lw=0)
        ax2.plot(hours, 100 * sl[:, 0], color=cs.BLUE, marker="o", ms=3.5)
        lines = [(sl, cs.BLUE, f"Service level 服务水平 (answered ≤ {sl_threshold_s:g} s)")]
        if "abandonment_rate" in data:
            ab = data["abandonment_rate"]
            ax2.fill_between(hours, 100 * ab[:, 1], 100 * ab[:, 2], color=cs.VERMILLION, alpha=0.2, lw=0)
            ax2.plot(hours, 100 * ab[:, 0], color=cs.VERMILLION, marker="o", ms=3.5)
            lines.append((ab, cs.VERMILLION, "Abandonment 放弃率"))
        if sl_target:
            ax2.axhline(100 * sl_target, color=cs.GREY, ls="--", lw=1)
            ax2.text(-0.4, 100 * sl_target + 1.5, f"{100 * sl_target:.0f}% target 目标", color=cs.TEXT_GREY,
                     fontsize=cs.BASE_SIZE - 1.5, va="bottom")
        ax2.legend([Line2D([], [], color=c, marker="o", ms=3.5) for _, c, _ in lines], [t for _, _, t in lines],
                   loc="center", bbox_to_anchor=(0.62, 0.36))
        ax2.set_ylim(0, 105)
        ax2.set_title("Service level and abandonment by hour 分时段服务水平与放弃率")
        ax2.set_ylabel(cs.label("Share of calls", "占比", "%"))
        ax2.set_xlabel(cs.label("Hour of day", "时段", "h; 10 = 10:00–11:00"))
        ax2.set_xticks(range(0, 24, 2))
        ax2.set_xlim(-0.6, 23.6)
        ax2.grid(axis="x", visible=False)

    # finding: the day's service level and its worst hour
    weights = off[:, 0]
    day_sl = _num((overall or {}).get("service_level", {}).get("mean")) if overall else math.nan
    if not math.isfinite(day_sl):
        day_sl = float(np.nansum(sl[:, 0] * weights) / np.nansum(weights))
    worst = int(np.nanargmin(sl[:, 0]))
    peak = int(np.nanargmax(off[:, 0]))
    w = sl[worst] * 100
    ci = _ci(w[1], w[2], 1)
    ci = f" {ci}" if ci else ""
    if w[0] < 100 * day_sl - 2:
        title = (f"Service level is {_pct(day_sl)} over the day but falls to {w[0]:.1f}%{ci} "
                 f"at {worst}–{worst + 1} h")
        sub = f"全天服务水平为{_pct(day_sl)}，但{worst}–{worst + 1}时降至{w[0]:.1f}%{ci}"
    else:
        title = f"Service level is {_pct(day_sl)} over the day and never below {w[0]:.1f}%{ci} in any hour"
        sub = f"全天服务水平为{_pct(day_sl)}，各时段均不低于{w[0]:.1f}%{ci}"
    if w[0] < 100 * day_sl - 2:
        title += f", when {off[worst, 0]:,.0f} calls an hour arrive"
        sub += f"（该时段每小时{off[worst, 0]:,.0f}个来电）"
    title += f"; calls peak at {off[peak, 0]:,.0f} an hour at {peak}–{peak + 1} h"
    sub += f"；来电高峰在{peak}–{peak + 1}时，每小时{off[peak, 0]:,.0f}个"
    cs.finish(fig, title, sub, note or cs.source_note())
    return Chart("calls_by_hour", fig, title, sub,
                 {"day_service_level": day_sl, "worst_hour": worst, "worst_sl": w[0] / 100, "peak_hour": peak})


def _yerr(arr: np.ndarray) -> np.ndarray:
    lo = np.where(np.isfinite(arr[:, 1]), arr[:, 0] - arr[:, 1], 0)
    hi = np.where(np.isfinite(arr[:, 2]), arr[:, 2] - arr[:, 0], 0)
    return np.vstack([np.maximum(lo, 0), np.maximum(hi, 0)])


# ---------------------------------------------------------------------- 2 lead times
def lead_time_histogram(rows: Iterable[Mapping]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sum ``lead_times.csv`` rows over replications: (bin edges in hours, the last
    one inf) and class -> counts per bin, classes in order of appearance."""
    bins: dict[tuple[float, float], int] = {}
    counts: dict[str, dict[float, float]] = {}
    for r in rows:
        lo, hi = _num(r["bin_lo_h"]), _num(r["bin_hi_h"])
        hi = math.inf if not math.isfinite(hi) else hi
        bins[(lo, hi)] = 1
        c = counts.setdefault(str(r["urgency"]), {})
        c[lo] = c.get(lo, 0.0) + _num(r["tickets"])
    if not bins:
        raise SkipChart("no lead-time rows")
    los = sorted({lo for lo, _ in bins})
    his = {lo: hi for lo, hi in bins}
    edges = np.array(los + [his[los[-1]]])
    return edges, {u: np.array([c.get(lo, 0.0) for lo in los]) for u, c in counts.items()}


def _cdf(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return np.cumsum(counts) / total if total > 0 else np.full(len(counts), np.nan)


def _share_within(edges: np.ndarray, counts: np.ndarray, limit_h: float) -> float:
    """Share of closed tickets with lead time <= limit (exact when the limit is a bin
    edge, else interpolated on the log scale inside its bin)."""
    cdf = np.concatenate([[0.0], _cdf(counts)])
    if limit_h in edges:
        return float(cdf[list(edges).index(limit_h)])
    i = int(np.searchsorted(edges, limit_h)) - 1
    lo, hi = edges[i], edges[i + 1]
    if not math.isfinite(hi) or lo <= 0:
        frac = 0.5
    else:
        frac = math.log(limit_h / lo) / math.log(hi / lo)
    return float(cdf[i] + frac * (cdf[i + 1] - cdf[i]))


TIME_AXIS_LABEL = cs.label("Lead time to closure", "办理时长", "h = hours, d = days; log scale")


def _time_axis(ax, edges: np.ndarray, xlabel: bool = True) -> None:
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 8, 24, 48, 96, 168, 360, 720) if t <= edges[-2] * 1.01]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _hours(v)))
    ax.set_xlim(0.8, edges[-2] * 1.15)
    if xlabel:
        ax.set_xlabel(TIME_AXIS_LABEL)


def lead_time_distribution(rows: Iterable[Mapping], deadlines_h: Mapping[str, float] | None = None, *,
                           note: str | None = None) -> Chart:
    """Share of closed tickets closed within each time, per urgency class (cumulative,
    log time axis), each class's deadline marked.

    ``rows``: rows of ``lead_times.csv`` (summed over replications).
    ``deadlines_h``: class -> deadline in hours (default 2 h, 24 h, 7 d, 15 d)."""
    edges, hist = lead_time_histogram(rows)
    deadlines = dict(deadlines_h or DEFAULT_DEADLINES_H)
    classes = [c for c in deadlines if c in hist] + [c for c in hist if c not in deadlines]
    x = edges[1:-1]
    facts = {}
    with cs.style():
        fig, ax = cs.new_figure(height=4.8)
        for i, cls in enumerate(classes):
            colour = cs.CYCLE[i % len(cs.CYCLE)]
            cdf = _cdf(hist[cls])[:-1] * 100
            en, zh = URGENCY.get(cls, (cls, ""))
            total = hist[cls].sum()
            lab = cs.name(en, zh)
            if cls in deadlines:
                d = deadlines[cls]
                share = _share_within(edges, hist[cls], d)
                facts[cls] = share
                lab += f": {share * 100:.1f}% within {_hours(d)}"
                ax.plot([d, d], [0, share * 100], color=colour, ls=":", lw=1.2)
                ax.plot([d], [share * 100], marker="o", ms=7, mfc="white", mec=colour, mew=1.8, zorder=5)
            ax.plot(x, cdf, color=colour, marker=".", ms=4, label=f"{lab} (n = {total:,.0f})", zorder=4)
        _time_axis(ax, edges)
        ax.set_ylim(0, 102)
        ax.set_ylabel(cs.label("Closed within", "办结占比", "% of closed tickets"))
        legend = ax.get_legend_handles_labels()
    if not facts:
        raise SkipChart("no urgency class with a known deadline")
    worst = min(facts, key=facts.get)
    en, zh = URGENCY.get(worst, (worst, worst))
    d = deadlines[worst]
    best = max(facts, key=facts.get)
    title = (f"{en} tickets meet their {_hours(d)} limit least often: {facts[worst] * 100:.1f}% of those closed, "
             f"against {facts[best] * 100:.1f}% of {URGENCY.get(best, (best,))[0].lower()} tickets "
             f"within {_hours(deadlines[best])}")
    sub = (f"{zh}类工单按时办结比例最低：已办结的{zh}类工单中{facts[worst] * 100:.1f}%在{_hours_zh(d)}内办结"
           f"（{URGENCY.get(best, (best, best))[1]}类{_hours_zh(deadlines[best])}内为{facts[best] * 100:.1f}%）")
    note = (note or cs.source_note(ci=False)) + \
        " Tickets closed by the end of the run (still-open tickets are not counted); circles mark each class's limit."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=2)
    return Chart("lead_time_distribution", fig, title, sub, {"within_deadline": facts})


def lead_time_by_policy(histograms: Mapping[str, Iterable[Mapping]], deadlines_h: Mapping[str, float] | None = None,
                        *, note: str | None = None) -> Chart:
    """Cumulative lead time per urgency class (one panel each) for several runs, one
    line per run: ``histograms`` maps a label (e.g. 'Direct dispatch 直派街乡') to the
    rows of that run's ``lead_times.csv``; the first is the reference."""
    if len(histograms) < 2:
        raise SkipChart("a policy comparison of lead times needs at least two runs")
    data = {lab: lead_time_histogram(rows) for lab, rows in histograms.items()}
    deadlines = dict(deadlines_h or DEFAULT_DEADLINES_H)
    first = next(iter(data))
    classes = [c for c in deadlines if c in data[first][1]] + [c for c in data[first][1] if c not in deadlines]
    ncols = 2 if len(classes) > 1 else 1
    nrows = math.ceil(len(classes) / ncols)
    shares: dict[str, dict[str, float]] = {lab: {} for lab in data}
    with cs.style():
        fig, axes = cs.new_figure(height=2.6 * nrows + 1.6, nrows=nrows, ncols=ncols, sharex=True, sharey=True,
                                  squeeze=False)
        for k, cls in enumerate(classes):
            ax = axes.flat[k]
            en, zh = URGENCY.get(cls, (cls, ""))
            d = deadlines.get(cls)
            for i, (lab, (edges, hist)) in enumerate(data.items()):
                if cls not in hist:
                    continue
                colour = cs.CYCLE[i % len(cs.CYCLE)]
                ax.plot(edges[1:-1], _cdf(hist[cls])[:-1] * 100, color=colour, marker=".", ms=3,
                        label=lab if k == 0 else None)
                if d is not None:
                    s = _share_within(edges, hist[cls], d)
                    shares[lab][cls] = s
                    ax.plot([d], [s * 100], marker="o", ms=6, mfc="white", mec=colour, mew=1.6, zorder=5)
            if d is not None:
                ax.axvline(d, color=cs.GREY, ls=":", lw=1)
            ax.set_title(f"{en} {zh}" + (f" (limit {_hours(d)} 时限{_hours_zh(d)})" if d is not None else ""))
            _time_axis(ax, data[first][0], xlabel=False)
            ax.set_ylim(0, 102)
        for ax in axes.flat[len(classes):]:
            ax.set_visible(False)
        for k, ax in enumerate(axes.flat[:len(classes)]):
            if k >= len(classes) - ncols:
                ax.set_xlabel(cs.label("Lead time", "办理时长", "log scale"))
            if k % ncols == 0:
                ax.set_ylabel(cs.label("Closed within", "办结占比", "% of closed"))
        legend = axes.flat[0].get_legend_handles_labels()
    # finding: the largest change, against the first run, of a class's share within its limit
    best = None
    for lab in list(data)[1:]:
        for cls, s in shares[lab].items():
            if cls in shares[first]:
                delta = s - shares[first][cls]
                if best is None or abs(delta) > abs(best[2]):
                    best = (lab, cls, delta, shares[first][cls], s)
    if best is None:
        raise SkipChart("no urgency class with a deadline in both runs")
    lab, cls, delta, a, b = best
    lab_en, lab_zh = split_bilingual(lab)
    first_en, first_zh = split_bilingual(first)
    en, zh = URGENCY.get(cls, (cls, cls))
    d = deadlines[cls]
    verb, verb_zh = ("rises", "升至") if delta > 0 else ("falls", "降至")
    title = (f"{lab_en}: the share of {en.lower()} tickets closed within {_hours(d)} {verb} from {a * 100:.1f}% to "
             f"{b * 100:.1f}% (vs {_mid(first_en)})")
    sub = f"{lab_zh}：{zh}类工单{_hours_zh(d)}内办结比例由{a * 100:.1f}%（{first_zh}）{verb_zh}{b * 100:.1f}%"
    note = (note or cs.source_note(ci=False)) + " Tickets closed by the end of each run; circles: share within the limit."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("lead_time_by_policy", fig, title, sub, {"shares": shares, "largest": best})


# ---------------------------------------------------------------------- 3 compliance by district
def deadline_compliance_by_district(rows: Iterable[Mapping], *, note: str | None = None) -> Chart:
    """Deadline compliance (sum deadline_met / sum deadline_due over months) per
    district, mean and 95% CI over replications, sorted; the all-streets line.

    ``rows``: rows of ``districts_monthly.csv``."""
    per: dict[tuple[str, str], dict[str, list[float]]] = {}
    city: dict[str, list[float]] = {}
    for r in rows:
        if "deadline_due" not in r or "deadline_met" not in r:
            raise SkipChart("the district table has no deadline_due / deadline_met columns")
        rep = str(r["replication"])
        key = (str(r["district"]), str(r.get("district_zh") or ""))
        due, met = _num(r["deadline_due"]), _num(r["deadline_met"])
        d = per.setdefault(key, {}).setdefault(rep, [0.0, 0.0])
        d[0] += met
        d[1] += due
        c = city.setdefault(rep, [0.0, 0.0])
        c[0] += met
        c[1] += due
    if not per:
        raise SkipChart("no district rows")
    stats = []
    for key, reps in per.items():
        vals = [m / n for m, n in reps.values() if n > 0]
        ci = mean_ci(vals)
        if ci["mean"] is None:
            continue
        stats.append((key, ci["mean"], _num(ci["ci_low"]), _num(ci["ci_high"])))
    city_ci = mean_ci([m / n for m, n in city.values() if n > 0])
    city_mean = city_ci["mean"]
    stats.sort(key=lambda s: s[1])
    y = np.arange(len(stats))
    with cs.style():
        fig, ax = cs.new_figure(height=1.9 + 0.27 * len(stats))
        colours = []
        for (key, m, lo, hi) in stats:
            if math.isfinite(hi) and hi < city_mean:
                colours.append(cs.VERMILLION)
            elif math.isfinite(lo) and lo > city_mean:
                colours.append(cs.BLUE)
            else:
                colours.append(cs.GREY)
        means = np.array([s[1] for s in stats]) * 100
        lo = np.array([s[2] for s in stats]) * 100
        hi = np.array([s[3] for s in stats]) * 100
        err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
        ax.errorbar(means, y, xerr=err, fmt="none", ecolor=colours, elinewidth=2.2, alpha=0.55)
        ax.scatter(means, y, c=colours, s=28, zorder=3)
        ax.axvline(city_mean * 100, color=cs.BLACK, lw=1, ls="--")
        ax.text(city_mean * 100, len(stats) - 0.35, f" all streets 全市街乡 {city_mean * 100:.1f}%",
                fontsize=cs.BASE_SIZE - 1, va="bottom", ha="left")
        trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
        ax.text(1.01, len(stats) - 0.35, "mean\n均值", transform=trans, fontsize=cs.BASE_SIZE - 1.5,
                color=cs.TEXT_GREY, va="bottom", ha="left")
        for yi, m, c in zip(y, means, colours):
            ax.text(1.01, yi, f"{m:.1f}%", transform=trans, va="center", ha="left", fontsize=cs.BASE_SIZE - 1,
                    color=c if c != cs.GREY else cs.TEXT_GREY)
        ax.set_yticks(y, [cs.name(*s[0]) for s in stats])
        ax.set_ylim(-0.7, len(stats) + 0.4)
        ax.grid(axis="y", visible=False)
        lo_f = np.where(np.isfinite(lo), lo, means)
        hi_f = np.where(np.isfinite(hi), hi, means)
        span = max(np.nanmax(hi_f) - np.nanmin(lo_f), 1.0)
        ax.set_xlim(np.nanmin(lo_f) - 0.05 * span, np.nanmax(hi_f) + 0.05 * span)
        ax.set_xlabel(cs.label("Deadline compliance", "按时办结率", "% of street tickets due, closed in time"))
        handles = [Line2D([], [], color=c, marker="o", ls="", label=t) for c, t in
                   ((cs.BLUE, "above all streets 高于全市"), (cs.GREY, "not clearly different 无显著差异"),
                    (cs.VERMILLION, "below all streets 低于全市"))]
        legend = (handles, [h.get_label() for h in handles])
    (w_en, w_zh), w = stats[0][0], stats[0][1]
    (b_en, b_zh), b = stats[-1][0], stats[-1][1]
    n_below = sum(c == cs.VERMILLION for c in colours)
    has_ci = any(math.isfinite(s[2]) for s in stats)
    if has_ci:
        tail = f", {'none' if n_below == 0 else n_below} of {len(stats)} districts clearly below"
        tail_zh = f"，{n_below}个区显著偏低" if n_below else "，没有区显著偏低"
    else:
        tail, tail_zh = " (one replication: no CI)", "（仅一次重复，无置信区间）"
    title = (f"Deadline compliance ranges from {w * 100:.1f}% in {w_en} to {b * 100:.1f}% in {b_en}; "
             f"all streets {city_mean * 100:.1f}%{tail}")
    sub = (f"各区按时办结率从{w_zh or w_en}的{w * 100:.1f}%到{b_zh or b_en}的{b * 100:.1f}%不等；"
           f"全市街乡为{city_mean * 100:.1f}%{tail_zh}")
    note = (note or cs.source_note()) + " Street tickets whose deadline fell inside the run, all months pooled; " \
        "colour: the district's 95% CI lies above / below the all-streets value."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("deadline_compliance_by_district", fig, title, sub,
                 {"city": city_mean, "worst": (w_en, w), "best": (b_en, b), "below": n_below})


# ---------------------------------------------------------------------- 4 league bump
def league_bump(rows: Iterable[Mapping], n: int = 10, *, replication: str | int | None = None,
                note: str | None = None) -> Chart:
    """Monthly rank of the ``n`` best and ``n`` worst streets of the last month
    (one replication of ``rankings.csv``, default the first), a bump chart; with one
    month, a dot plot of their scores."""
    rows = [r for r in rows if str(r.get("level", "street")) == "street"]
    if not rows:
        raise SkipChart("no street rows in the rankings")
    reps = sorted({str(r["replication"]) for r in rows}, key=lambda s: int(_num(s)))
    rep = str(replication) if replication is not None else reps[0]
    rows = [r for r in rows if str(r["replication"]) == rep and math.isfinite(_num(r.get("rank")))
            and _num(r["rank"]) > 0]
    months = sorted({str(r["month"]) for r in rows})
    if not months:
        raise SkipChart("no ranked street in the rankings")
    by_month = {m: {str(r["unit"]): r for r in rows if str(r["month"]) == m} for m in months}
    last = months[-1]
    ranked_last = sorted(by_month[last].values(), key=lambda r: _num(r["rank"]))
    n = min(n, len(ranked_last) // 2)
    top, bottom = ranked_last[:n], ranked_last[-n:]
    n_ranked = {m: len(v) for m, v in by_month.items()}
    if len(months) == 1:
        return _league_dots(top, bottom, last, n_ranked[last], note)

    prev = months[-2]
    rank_prev = {u: _num(r["rank"]) for u, r in by_month[prev].items()}
    kept_top = sum(1 for r in top if rank_prev.get(str(r["unit"]), math.inf) <= n)
    kept_bottom = sum(1 for r in bottom if rank_prev.get(str(r["unit"]), -math.inf) > n_ranked[prev] - n)
    xs = np.arange(len(months))
    bumps = []
    with cs.style():
        fig, axes = cs.new_figure(height=8.2, nrows=2)
        for ax, group, colour, head in ((axes[0], top, cs.BLUE, f"Top {n} in {_month_en(last)} 先进"),
                                        (axes[1], bottom, cs.VERMILLION, f"Bottom {n} in {_month_en(last)} 整改")):
            ranks = []
            for r in group:
                u = str(r["unit"])
                ys = np.array([_num(by_month[m][u]["rank"]) if u in by_month[m] else np.nan for m in months])
                ranks.append(ys)
                ax.plot(xs, ys, color=colour, alpha=0.75, lw=1.4, marker="o", ms=4)
            total = max(n_ranked.values())
            ax.set_ylim(total + 0.03 * total, 1 - 0.03 * total)  # rank 1 at the top, same scale in both panels
            ax.set_xlim(-0.15, len(months) - 1 + 0.15)
            ax.set_xticks(xs, [f"{_month_en(m)}\n{_month_zh(m)}" for m in months])
            ax.set_title(head, color=colour)
            ax.set_ylabel(cs.label("Rank", "排名", f"1 = best of {n_ranked[last]}"))
            ticks = [1] + list(range(50, total, 50))
            ax.set_yticks(ticks + ([total] if total - ticks[-1] >= 40 else []))
            ax.grid(axis="x", visible=False)
            labels = [f"{int(_num(r['rank']))}. {_street_label(r)}" for r in group]
            twin = ax.twinx()
            twin.set_ylim(ax.get_ylim())
            twin.set_yticks([ys[-1] for ys in ranks], labels)  # final positions set after layout
            twin.tick_params(axis="y", length=0, labelsize=cs.BASE_SIZE - 1, pad=14)
            twin.grid(False)
            twin.spines[:].set_visible(False)
            bumps.append((ax, twin, np.array([ys[-1] for ys in ranks]), labels))
    def count(k: int, capital: bool = False) -> str:
        word = "none" if k == 0 else (f"only {k}" if k < n / 2 else str(k))
        return word[0].upper() + word[1:] if capital else word

    title = (f"{count(kept_top, True)} of {_month_en(last)}'s {n} best streets {'was' if kept_top <= 1 else 'were'} "
             f"also top {n} in {_month_en(prev)}; {count(kept_bottom)} of its {n} worst "
             f"{'was' if kept_bottom <= 1 else 'were'} bottom {n} then")
    zh_top = f"仅{kept_top}个" if kept_top else "没有一个"
    zh_bottom = f"有{kept_bottom}个" if kept_bottom else "没有一个"
    sub = (f"{_month_zh(last)}排名前{n}的街乡中{zh_top}在{_month_zh(prev)}也位列前{n}；"
           f"后{n}名中{zh_bottom}在{_month_zh(prev)}也位列后{n}")
    note = (note or cs.source_note(ci=False)) + \
        " League table of one simulated replication (as a published table would be); ranks among ranked streets."
    cs.finish(fig, title, sub, note)
    with cs.style():
        fig.draw_without_rendering()
        gap = (cs.BASE_SIZE - 1) * 1.3 * fig.dpi / 72
        for ax, twin, last_y, labels in bumps:
            disp = ax.transData.transform(np.column_stack([np.full(len(last_y), xs[-1]), last_y]))[:, 1]
            bbox = ax.get_window_extent()
            pos = _repel(disp, gap, bbox.y0 + gap / 2, bbox.y1 - gap / 2)
            inv = ax.transData.inverted()
            ypos = [inv.transform((0, p))[1] for p in pos]
            twin.set_yticks(ypos, labels)
            for yv, yp in zip(last_y, ypos):
                ax.annotate("", xy=(xs[-1], yv), xytext=(1.0, yp), textcoords=("axes fraction", "data"),
                            arrowprops={"arrowstyle": "-", "color": cs.GREY, "lw": 0.6, "shrinkA": 0, "shrinkB": 3})
    return Chart("league_bump", fig, title, sub, {"kept_top": kept_top, "kept_bottom": kept_bottom, "n": n,
                                                 "months": months})


def _league_dots(top: list[dict], bottom: list[dict], month: str, n_ranked: int, note: str | None) -> Chart:
    rows = top + bottom
    n = len(top)
    scores = np.array([_num(r.get("score")) for r in rows])
    with cs.style():
        fig, ax = cs.new_figure(height=1.8 + 0.24 * len(rows))
        y = np.arange(len(rows))[::-1]
        colours = [cs.BLUE] * n + [cs.VERMILLION] * n
        ax.hlines(y, np.nanmin(scores) - 1, scores, color=cs.LIGHT_GREY, lw=1)
        ax.scatter(scores, y, c=colours, s=30, zorder=3)
        ax.set_yticks(y, [f"{int(_num(r['rank']))}. {_street_label(r)}" for r in rows])
        ax.axhline(y[n - 1] - 0.5, color=cs.GREY, lw=0.8, ls=":")
        ax.set_xlabel(cs.label("Composite score", "综合得分", "0–100"))
        ax.grid(axis="y", visible=False)
    title = (f"{_month_en(month)} league: the best street scores {scores[0]:.1f}, the worst {scores[-1]:.1f} "
             f"(of {n_ranked} ranked streets)")
    sub = f"{_month_zh(month)}排名：最好街乡得分{scores[0]:.1f}，最差{scores[-1]:.1f}（共{n_ranked}个参评街乡）"
    cs.finish(fig, title, sub, (note or cs.source_note(ci=False)) + " One simulated replication; top and bottom "
              f"{n} streets (先进 / 整改).")
    return Chart("league_bump", fig, title, sub, {"n": n, "months": [month]})


# ---------------------------------------------------------------------- 5 rank caterpillar
def _robust_rows(rows: Iterable[Mapping], month: str | None) -> tuple[str | None, list[dict]]:
    rows = _street_rows(list(rows))
    month, rows = _latest_month(rows, month)
    return month, [r for r in rows if math.isfinite(_num(r.get("nominal_rank"))) and _num(r["nominal_rank"]) > 0
                   and math.isfinite(_num(r.get("median_rank")))]


def _caterpillar_panel(ax, rows: list[dict], highlight: int, n_ranked: int) -> None:
    rows = sorted(rows, key=lambda r: _num(r["nominal_rank"]))
    x = np.array([_num(r["nominal_rank"]) for r in rows])
    med = np.array([_num(r["median_rank"]) for r in rows])
    lo = np.array([_num(r["rank_p05"]) for r in rows])
    hi = np.array([_num(r["rank_p95"]) for r in rows])
    ax.plot([1, n_ranked], [1, n_ranked], color=cs.BLACK, lw=0.6, ls="--", zorder=1)
    top, bottom = x <= highlight, x > n_ranked - highlight
    rest = ~(top | bottom)
    ax.vlines(x[rest], lo[rest], hi[rest], colors=cs.GREY, lw=0.8, alpha=0.35, zorder=2)
    ax.scatter(x[rest], med[rest], color=cs.GREY, s=5, zorder=3, lw=0)
    for m, colour in ((top, cs.BLUE), (bottom, cs.VERMILLION)):
        ax.vlines(x[m], lo[m], hi[m], colors=colour, lw=1.3, alpha=0.8, zorder=4)
        ax.scatter(x[m], med[m], color=colour, s=9, zorder=5, lw=0)
    ax.set_xlim(-2, n_ranked + 3)
    ax.set_ylim(n_ranked + 3, -2)
    ticks = [1] + list(range(50, n_ranked, 50))
    if n_ranked - ticks[-1] >= 40:
        ticks.append(n_ranked)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)


def _width(rows: list[dict]) -> float:
    w = [_num(r["rank_p95"]) - _num(r["rank_p05"]) for r in rows]
    w = [v for v in w if math.isfinite(v)]
    return float(np.median(w)) if w else math.nan


def rank_caterpillar(rows: Iterable[Mapping], source: str = "sampling", *, month: str | None = None,
                     highlight: int = 10, note: str | None = None) -> Chart:
    """Median rank with its 90% interval for every street, ordered by the published
    (nominal) rank, from ``robustness.csv``; the best and worst ``highlight`` streets
    in colour, and listed by name on the right.

    ``source``: one of weights_dirichlet, weights_simplex, sampling, replications, or
    ``"all"`` for one panel per source (:func:`rank_caterpillar_all_sources`)."""
    rows = list(rows)
    if source == "all":
        return rank_caterpillar_all_sources(rows, month=month, highlight=highlight, note=note)
    month, rows = _robust_rows(rows, month)
    rows = [r for r in rows if str(r.get("source")) == source]
    if not rows:
        raise SkipChart(f"no ranked street rows for source {source!r}")
    rows.sort(key=lambda r: _num(r["nominal_rank"]))
    n_ranked = int(max(_num(r["nominal_rank"]) for r in rows))
    highlight = min(highlight, n_ranked // 2)
    src_en, src_zh = SOURCES.get(source, (source, source))
    top, bottom = rows[:highlight], rows[-highlight:]
    with cs.style():
        fig = Figure(figsize=(cs.WIDTH_IN, 6.6), layout="constrained")
        gs = fig.add_gridspec(2, 2, width_ratios=[1.05, 1])
        ax = fig.add_subplot(gs[:, 0])
        _caterpillar_panel(ax, rows, highlight, n_ranked)
        ax.set_xlabel(cs.label("Published rank", "名义排名", "1 = best"))
        ax.set_ylabel(cs.label("Rank when redrawn", "重抽排名", "median and 90% interval"))
        ax.set_title(f"All {n_ranked} ranked streets 全部街乡", loc="left")
        for sub_ax, group, colour, head in ((fig.add_subplot(gs[0, 1]), top, cs.BLUE, f"Top {highlight} 前{highlight}名"),
                                            (fig.add_subplot(gs[1, 1]), bottom, cs.VERMILLION,
                                             f"Bottom {highlight} 后{highlight}名")):
            yy = np.arange(len(group))
            med = np.array([_num(r["median_rank"]) for r in group])
            lo = np.array([_num(r["rank_p05"]) for r in group])
            hi = np.array([_num(r["rank_p95"]) for r in group])
            sub_ax.hlines(yy, lo, hi, color=colour, lw=2.2, alpha=0.5)
            sub_ax.scatter(med, yy, color=colour, s=18, zorder=3)
            sub_ax.scatter([_num(r["nominal_rank"]) for r in group], yy, marker="|", color=cs.BLACK, s=40, zorder=4,
                           lw=1.2)
            sub_ax.set_yticks(yy, [f"{int(_num(r['nominal_rank']))}. {_street_label(r)}" for r in group],
                              fontsize=cs.BASE_SIZE - 1.5)
            sub_ax.set_ylim(len(group) - 0.5, -0.5)
            sub_ax.set_title(head, color=colour, loc="left")
            sub_ax.grid(axis="y", visible=False)
            sub_ax.set_xlabel(cs.label("Rank", "排名", "| published, ● median, bar 90%"), fontsize=cs.BASE_SIZE - 1)
    width = _width(rows)
    p_top = [_num(r.get("p_top_n")) for r in top]
    stay = sum(1 for p in p_top if math.isfinite(p) and p >= 0.9)
    stay_en = "none" if stay == 0 else f"only {stay}" if stay < highlight / 2 else f"{stay}"
    title = (f"{src_en}: a typical street's 90% rank interval spans {width:.0f} places; "
             f"{stay_en} of the top {highlight} {'stays' if stay <= 1 else 'stay'} top {highlight} "
             f"in at least 90% of redraws")
    sub = (f"{src_zh}：街乡排名90%区间宽度的中位数为{width:.0f}位；前{highlight}名中"
           + ("没有一个" if stay == 0 else f"{stay}个") + f"能在至少90%的重抽中保持前{highlight}")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; {src_en.lower()} redrawn, streets re-ranked each draw (analysis.robustness)."
    cs.finish(fig, title, sub, note)
    return Chart("rank_caterpillar", fig, title, sub, {"median_width": width, "stay_top": stay, "source": source,
                                                       "month": month})


def rank_caterpillar_all_sources(rows: Iterable[Mapping], *, month: str | None = None, highlight: int = 10,
                                 note: str | None = None) -> Chart:
    """One caterpillar panel per source of uncertainty, same axes: which source moves
    the ranks most."""
    month, rows = _robust_rows(rows, month)
    sources = [s for s in SOURCES if any(str(r.get("source")) == s for r in rows)]
    sources += sorted({str(r.get("source")) for r in rows} - set(sources))
    if not sources:
        raise SkipChart("no ranked street rows in robustness.csv")
    n_ranked = int(max(_num(r["nominal_rank"]) for r in rows))
    widths = {}
    ncols = 2 if len(sources) > 1 else 1
    nrows = math.ceil(len(sources) / ncols)
    with cs.style():
        fig, axes = cs.new_figure(height=2.9 * nrows + 1.5, nrows=nrows, ncols=ncols, sharex=True, sharey=True,
                                  squeeze=False)
        for k, src in enumerate(sources):
            ax = axes.flat[k]
            sel = [r for r in rows if str(r.get("source")) == src]
            _caterpillar_panel(ax, sel, min(highlight, n_ranked // 2), n_ranked)
            widths[src] = _width(sel)
            en, zh = SOURCES.get(src, (src, src))
            ax.set_title(f"{en} {zh}\ntypical 90% interval: {widths[src]:.0f} places", fontsize=cs.BASE_SIZE)
            if k % ncols == 0:
                ax.set_ylabel(cs.label("Rank redrawn", "重抽排名", "median, 90%"))
            if k >= len(sources) - ncols:
                ax.set_xlabel(cs.label("Published rank", "名义排名", "1 = best"))
        for ax in axes.flat[len(sources):]:
            ax.set_visible(False)
    big = max(widths, key=lambda s: widths[s] if math.isfinite(widths[s]) else -1)
    small = min(widths, key=lambda s: widths[s] if math.isfinite(widths[s]) else math.inf)
    title = (f"{SOURCES.get(big, (big,))[0]} moves street ranks most (typical 90% interval {widths[big]:.0f} places), "
             f"{SOURCES.get(small, (small,))[0].lower()} least ({widths[small]:.0f})")
    sub = (f"{SOURCES.get(big, (big, big))[1]}对街乡排名影响最大（90%区间宽度中位数{widths[big]:.0f}位），"
           f"{SOURCES.get(small, (small, small))[1]}最小（{widths[small]:.0f}位）")
    note = (note or cs.source_note(ci=False)) + f" Month {month}; blue: top {highlight}, vermillion: bottom {highlight}; " \
        "dashed: redrawn rank = published rank."
    cs.finish(fig, title, sub, note)
    return Chart("rank_caterpillar_all_sources", fig, title, sub, {"widths": widths, "month": month})


# ---------------------------------------------------------------------- 6 weight sensitivity
def weight_sensitivity(rows: Iterable[Mapping], *, month: str | None = None, top_n: int = 10,
                       bottom_n: int | None = None, lo: float = 0.1, hi: float = 0.9, max_streets: int = 14,
                       note: str | None = None) -> Chart:
    """Streets whose class depends on the weights: the chance, over weight draws
    (sources weights_dirichlet and weights_simplex of ``robustness.csv``), of being
    among the best ``top_n`` (先进) or worst ``bottom_n`` (整改), for the streets where
    that chance is uncertain (``lo < p < hi``) under either source."""
    bottom_n = top_n if bottom_n is None else bottom_n
    month, rows = _robust_rows(rows, month)
    srcs = [s for s in ("weights_dirichlet", "weights_simplex") if any(str(r.get("source")) == s for r in rows)]
    if not srcs:
        raise SkipChart("robustness.csv has no weights_dirichlet / weights_simplex rows")
    by_unit: dict[str, dict] = {}
    for r in rows:
        if str(r.get("source")) in srcs:
            by_unit.setdefault(str(r["unit"]), {"row": r})[str(r["source"])] = r
    groups = {}
    for col in ("p_top_n", "p_bottom_n"):
        unsure, sure = [], 0
        for u, d in by_unit.items():
            ps = [_num(d[s][col]) for s in srcs if s in d]
            if any(lo < p < hi for p in ps if math.isfinite(p)):
                unsure.append(d)
            elif ps and all(math.isfinite(p) and p >= hi for p in ps):
                sure += 1
        # most uncertain first (p closest to one half), then by nominal rank
        unsure.sort(key=lambda d: min(abs(_num(d[s][col]) - 0.5) for s in srcs if s in d))
        groups[col] = (unsure, sure)
    n_top, n_bottom = len(groups["p_top_n"][0]), len(groups["p_bottom_n"][0])
    top_sure, bottom_sure = groups["p_top_n"][1], groups["p_bottom_n"][1]
    if n_top + n_bottom == 0:
        raise SkipChart(f"no street's class depends on the weights ({top_sure} always top {top_n}, "
                        f"{bottom_sure} always bottom {bottom_n})")
    shown = {col: sorted(g[0][:max_streets], key=lambda d: _num(d["row"]["nominal_rank"])) for col, g in groups.items()}
    panels = [(col, head, colour) for col, head, colour in
              (("p_top_n", f"Could be top {top_n} (先进) — or not", cs.BLUE),
               ("p_bottom_n", f"Could be bottom {bottom_n} (整改) — or not", cs.VERMILLION)) if shown[col]]
    heights = [len(shown[col]) for col, _, _ in panels]
    markers = {"weights_dirichlet": ("o", cs.BLUE, "full"), "weights_simplex": ("D", cs.ORANGE, "none")}
    with cs.style():
        fig, axes = cs.new_figure(height=2.4 + 0.23 * sum(heights) + 0.5 * len(panels), nrows=len(panels),
                                  sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})
        axes = axes[:, 0]
        for ax, (col, head, colour) in zip(axes, panels):
            ds = shown[col]
            ax.axvspan(lo * 100, hi * 100, color=cs.LIGHT_GREY, alpha=0.35, lw=0)
            yy = np.arange(len(ds))
            for s in srcs:
                mk, c, fill = markers[s]
                ps = [_num(d[s][col]) * 100 if s in d else np.nan for d in ds]
                ax.scatter(ps, yy, marker=mk, s=30, facecolors=c if fill == "full" else "white", edgecolors=c,
                           lw=1.4, zorder=3, label=f"{SOURCES[s][0]} {SOURCES[s][1]}")
            for yi, d in zip(yy, ds):
                ps = [_num(d[s][col]) * 100 for s in srcs if s in d]
                ax.plot([min(ps), max(ps)], [yi, yi], color=cs.GREY, lw=0.8, zorder=2)
            ax.set_yticks(yy, [f"{int(_num(d['row']['nominal_rank']))}. {_street_label(d['row'])}" for d in ds])
            ax.set_ylim(len(ds) - 0.5, -0.6)
            more = len(groups[col][0]) - len(ds)
            ax.set_title(head + (f"  (the {len(ds)} most uncertain of {len(groups[col][0])})" if more > 0 else ""),
                         color=colour)
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlim(-3, 103)
        axes[-1].set_xlabel(cs.label("Chance of the class over weight draws", "权重抽样中归入该类的概率", "%"))
        legend = axes[0].get_legend_handles_labels()
    n_unsure = len({id(d) for g in groups.values() for d in g[0]})
    title = (f"Weights decide the class of {n_unsure} street{'' if n_unsure == 1 else 's'}: "
             f"{n_top} could be top {top_n} or not, {n_bottom} bottom {bottom_n} or not; "
             f"{top_sure} are top {top_n} and {bottom_sure} bottom {bottom_n} under any weights")
    sub = (f"权重选择决定了{n_unsure}个街乡的类别："
           f"{n_top}个可能进入或跌出前{top_n}名（先进），{n_bottom}个可能进入或跌出后{bottom_n}名（整改）；"
           f"{top_sure}个无论权重如何都列前{top_n}，{bottom_sure}个都列后{bottom_n}")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; uncertain = chance between {lo:.0%} and {hi:.0%} (shaded) under either weight source; " \
        "numbers before names are published ranks."
    cs.finish(fig, title, sub, note, legend=legend)
    return Chart("weight_sensitivity", fig, title, sub, {"uncertain_top": n_top, "uncertain_bottom": n_bottom,
                                                         "sure_top": top_sure, "sure_bottom": bottom_sure})


# ---------------------------------------------------------------------- 7 funnel plot
def funnel_plot(rows: Iterable[Mapping], *, month: str | None = None, label_worst: int = 2,
                note: str | None = None) -> Chart:
    """Per rate, each street's value against its denominator with the 95% and 99.8%
    control limits around the city rate (``funnel.csv``), points coloured by flag."""
    month, rows = _latest_month(_street_rows(list(rows)), month)
    rates = [r for r in RATE_LABELS if any(str(x.get("rate")) == r for x in rows)]
    rates += sorted({str(x.get("rate")) for x in rows} - set(rates))
    rows = [r for r in rows if str(r.get("flag")) != "no_data" and math.isfinite(_num(r.get("value")))]
    if not rows or not rates:
        raise SkipChart("no funnel rows with data")
    counts = {}
    with cs.style():
        fig, axes = cs.new_figure(height=5.4, ncols=len(rates), squeeze=False)
        for ax, rate in zip(axes.flat, rates):
            sel = sorted((r for r in rows if str(r["rate"]) == rate), key=lambda r: _num(r["n"]))
            n = np.array([_num(r["n"]) for r in sel])
            val = np.array([_num(r["value"]) for r in sel]) * 100
            flags = [str(r["flag"]) for r in sel]
            p0 = np.nanmedian([_num(r["p0"]) for r in sel]) * 100
            for lo_col, hi_col, ls, lab in (("lo95", "hi95", "--", "95% limits"), ("lo998", "hi998", "-", "99.8% limits")):
                lo = np.array([_num(r[lo_col]) for r in sel]) * 100
                hi = np.array([_num(r[hi_col]) for r in sel]) * 100
                ax.plot(n, lo, color=cs.GREY, ls=ls, lw=0.9)
                ax.plot(n, hi, color=cs.GREY, ls=ls, lw=0.9)
            ax.axhline(p0, color=cs.BLACK, lw=0.8)
            order = ["inside", "above_95", "below_95", "above_99.8", "below_99.8"]
            for f in order:
                m = np.array([fl == f for fl in flags])
                if m.any():
                    colour = FLAG_STYLE[f][0]
                    ax.scatter(n[m], val[m], s=14 if f == "inside" else 20, color=colour, zorder=3 + order.index(f),
                               edgecolors="#777777" if f == "inside" else "none", lw=0.3)
            counts[rate] = {f: flags.count(f) for f in FLAG_STYLE}
            worst = [i for i in np.argsort(val) if flags[i] == "below_99.8"]
            worst = worst[:label_worst] if len(worst) <= 5 else []  # name a few outliers, not a crowd
            for i in worst:
                ax.annotate(sel[i].get("street_zh") or sel[i].get("street") or "", (n[i], val[i]),
                            xytext=(4, -2), textcoords="offset points", fontsize=cs.BASE_SIZE - 2,
                            color=cs.VERMILLION, va="top")
            en, zh = RATE_LABELS.get(rate, (rate, ""))
            ax.set_title(f"{en} {zh}\ncity {p0:.1f}%", fontsize=cs.BASE_SIZE)
            d_en, d_zh, unit = RATE_DENOMINATOR.get(rate, ("Denominator", "分母", "n"))
            ax.set_xlabel(cs.label(d_en, d_zh, unit), fontsize=cs.BASE_SIZE - 1)
            ax.set_xlim(left=0)
            pad = max(2.0, 0.06 * (np.nanmax(val) - np.nanmin(val)))
            ax.set_ylim(max(0, np.nanmin(val) - pad), min(100, np.nanmax(val)) + pad)
        axes.flat[0].set_ylabel(cs.label("Rate", "比率", "%"))
        handles = [Line2D([], [], marker="o", ls="", color=FLAG_STYLE[f][0], label=f"{FLAG_STYLE[f][1]} {FLAG_STYLE[f][2]}")
                   for f in ("above_99.8", "above_95", "inside", "below_95", "below_99.8")]
        handles += [Line2D([], [], color=cs.BLACK, lw=0.8, label="city rate 全市"),
                    Line2D([], [], color=cs.GREY, ls="--", label="95% limits 95%控制限"),
                    Line2D([], [], color=cs.GREY, ls="-", label="99.8% limits 99.8%控制限")]
        legend = (handles, [h.get_label() for h in handles])
    below_units = {str(r["unit"]) for r in rows if str(r["flag"]) == "below_99.8"}
    above_units = {str(r["unit"]) for r in rows if str(r["flag"]) == "above_99.8"}
    parts = ", ".join(f"{RATE_LABELS.get(r, (r,))[0].split()[0].lower()} {counts[r]['below_99.8']}" for r in rates)
    parts_zh = "、".join(f"{RATE_LABELS.get(r, (r, r))[1]}{counts[r]['below_99.8']}个" for r in rates)
    total = len({str(r["unit"]) for r in rows})
    expected = 0.001 * len(rows)  # one-sided 0.1% per street and rate under "on target"
    title = (f"{len(below_units)} of {total} streets fall below the 99.8% limit on some rate ({parts}; "
             f"~{expected:.0f} expected by chance); {len(above_units)} lie above it")
    sub = (f"{total}个街乡中有{len(below_units)}个至少一项比率低于99.8%控制下限（{parts_zh}；"
           f"纯随机波动约{expected:.0f}个），{len(above_units)}个高于上限")
    note = (note or cs.source_note(ci=False)) + \
        f" Month {month}; limits are exact binomial around the city rate (analysis.funnel); each point a street."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=3)
    return Chart("funnel_plot", fig, title, sub, {"below": len(below_units), "above": len(above_units),
                                                  "counts": counts})


# ---------------------------------------------------------------------- 8 policy comparison
def policy_comparison(rows: Iterable[Mapping], label_a: str | None = None, label_b: str | None = None, *,
                      metrics: Sequence[str] | None = COMPARISON_KPIS, note: str | None = None) -> Chart:
    """Paired differences B - A with 95% CI for the chosen KPIs (``comparison.csv``:
    metric, a, b, diff, ci_low, ci_high), one panel per unit (percentage points,
    hours, seconds), a zero line; green = better, vermillion = worse, grey = the CI
    includes 0."""
    table = {str(r["metric"]): r for r in rows}
    names = [m for m in (metrics or table) if m in table and math.isfinite(_num(table[m]["diff"]))]
    if not names:
        raise SkipChart("no KPI of the selection in the comparison")
    label_a = label_a or "run A"
    label_b = label_b or "run B"
    items = []
    for m in names:
        en, zh, unit, scale, better = _kpi(m)
        r = table[m]
        d, lo, hi = (_num(r[k]) * scale for k in ("diff", "ci_low", "ci_high"))
        a, b = _num(r["a"]) * scale, _num(r["b"]) * scale
        sig = math.isfinite(lo) and (lo > 0 or hi < 0)
        colour = cs.NEUTRAL if not sig or better == 0 else (cs.BETTER if d * better > 0 else cs.WORSE)
        items.append({"metric": m, "en": en, "zh": zh, "unit": DIFF_UNIT.get(unit, unit), "level_unit": unit,
                      "d": d, "lo": lo, "hi": hi, "a": a, "b": b, "sig": sig, "colour": colour})
    sig = [i for i in items if i["sig"]]
    # the headline: the significant difference largest relative to A's level
    top = max(sig, key=lambda i: abs(i["d"]) / max(abs(i["a"]), 1e-9) if math.isfinite(i["a"]) else 0) \
        if sig else None
    units = list(dict.fromkeys(([top["unit"]] if top else []) + [i["unit"] for i in items]))
    counts = [sum(i["unit"] == u for i in items) for u in units]
    with cs.style():
        fig = Figure(figsize=(9.0, 1.9 + 0.36 * len(items) + 0.6 * len(units)), layout="constrained")
        gs = fig.add_gridspec(len(units), 2, width_ratios=[2.2, 1.25], height_ratios=counts)
        for k, u in enumerate(units):
            ax = fig.add_subplot(gs[k, 0])
            tab = fig.add_subplot(gs[k, 1], sharey=ax)
            tab.axis("off")
            tab.set_xlim(0, 1)
            sel = [i for i in items if i["unit"] == u]
            yy = np.arange(len(sel))
            for yi, i in zip(yy, sel):
                err = [[i["d"] - i["lo"]], [i["hi"] - i["d"]]] if math.isfinite(i["lo"]) else None
                ax.errorbar([i["d"]], [yi], xerr=err, fmt="o", color=i["colour"], ms=6, elinewidth=2.2)
            ax.axvline(0, color=cs.BLACK, lw=0.9)
            ax.set_yticks(yy, [f"{i['en']} {i['zh']}" for i in sel])
            ax.set_ylim(len(sel) - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ext = [v for i in sel for v in (i["lo"], i["hi"], i["d"], 0.0) if math.isfinite(v)]
            span = (max(ext) - min(ext)) or 1.0
            ax.set_xlim(min(ext) - 0.08 * span, max(ext) + 0.08 * span)
            small = cs.BASE_SIZE - 1
            if k == 0:
                tab.text(0.0, -0.6, "B − A [95% CI]", fontsize=small - 0.5, color=cs.TEXT_GREY, va="bottom")
                tab.text(0.655, -0.6, "A → B", fontsize=small - 0.5, color=cs.TEXT_GREY, va="bottom")
            for yi, i in zip(yy, sel):
                dec = min(2, _dec(max(abs(i["d"]), abs(i["hi"] - i["lo"]) / 2 if math.isfinite(i["lo"]) else 0)))
                txt = f"{i['d']:+.{dec}f} {_ci(i['lo'], i['hi'], dec)}".replace("-", "−")
                tab.text(0.0, yi, txt, va="center", fontsize=small, color=i["colour"] if i["sig"] else cs.TEXT_GREY)
                lv = i["level_unit"]
                ad = 1 if lv == "%" else _dec(min(abs(i["a"]), abs(i["b"])))
                unit_txt = "%" if lv == "%" else f" {lv}"
                tab.text(0.655, yi, f"{i['a']:,.{ad}f} → {i['b']:,.{ad}f}{unit_txt}", va="center", fontsize=small,
                         color=cs.TEXT_GREY)
            en, zh, unit_txt = DIFF_AXIS.get(u, ("Difference", "差值", u))
            ax.set_xlabel(cs.label(f"{en} B − A", zh, unit_txt), fontsize=cs.BASE_SIZE - 0.5)
        handles = [Line2D([], [], marker="o", ls="", color=c, label=t) for c, t in
                   ((cs.BETTER, "better 改善"), (cs.WORSE, "worse 变差"),
                    (cs.NEUTRAL, "no clear difference (95% CI includes 0) 无显著差异"))]
        legend = (handles, [h.get_label() for h in handles])
    a_en, a_zh = split_bilingual(label_a)
    b_en, b_zh = split_bilingual(label_b)
    if top is not None:
        dec = _dec(max(abs(top["d"]), abs(top["hi"] - top["lo"]) / 2))
        u = top["unit"]
        unit_en = {"pp": " pp"}.get(u, f" {u}" if u else "")
        verb = "raises" if top["d"] > 0 else "lowers"
        verb_zh = ("提高" if u in ("pp",) else "增加") if top["d"] > 0 else ("降低" if u in ("pp",) else "减少")
        lvl = top["level_unit"]
        lvl_en = "%" if lvl == "%" else f" {lvl}"
        ad = _dec(top["a"]) if lvl != "%" else 1
        title = (f"{b_en} {verb} {top['en'][0].lower() + top['en'][1:]} by {abs(top['d']):.{dec}f}{unit_en} "
                 f"{_ci(abs(top['lo']) if top['d'] > 0 else abs(top['hi']), abs(top['hi']) if top['d'] > 0 else abs(top['lo']), dec)}"
                 f" vs {_mid(a_en)}, from {top['a']:.{ad}f}{lvl_en} to {top['b']:.{ad}f}{lvl_en}; "
                 f"{len(sig)} of {len(items)} KPIs differ")
        sub = (f"与{a_zh}相比，{b_zh}使{top['zh']}{verb_zh}{abs(top['d']):.{dec}f}{UNIT_ZH.get(u, u)}，"
               f"由{top['a']:.{ad}f}{UNIT_ZH.get(lvl, lvl)}变为{top['b']:.{ad}f}{UNIT_ZH.get(lvl, lvl)}；"
               f"{len(items)}项指标中{len(sig)}项有显著差异")
        facts = {"largest": top["metric"], "diff": top["d"], "ci": (top["lo"], top["hi"]), "significant": len(sig)}
    else:
        title = f"{b_en} and {a_en} do not differ clearly on any of {len(items)} KPIs (all 95% CIs include 0)"
        sub = f"{b_zh}与{a_zh}在{len(items)}项指标上均无显著差异"
        facts = {"largest": None, "significant": 0}
    note = (note or cs.source_note()) + \
        f" B = {b_en}, A = {a_en}: paired differences per replication (same seed, common random numbers)."
    cs.finish(fig, title, sub, note, legend=legend, legend_cols=3)
    return Chart("policy_comparison", fig, title, sub, facts)


# ---------------------------------------------------------------------- 9 staffing
def erlang_a_curve(agents_grid: Sequence[int], arrival_rate_per_min: float, mean_handle_min: float,
                   mean_patience_min: float | None, sl_threshold_s: float = 30) -> dict[str, np.ndarray]:
    """Erlang-A (M/M/c+M) service level and abandonment rate (fractions) per agent
    count; with infinite patience (None) Erlang C (NaN where it is unstable)."""
    from analysis.erlang import erlang_a, erlang_c
    mu = 1.0 / mean_handle_min
    t = sl_threshold_s / 60.0
    sl, ab = [], []
    for c in agents_grid:
        c = int(c)
        if c < 1:
            sl.append(np.nan)
            ab.append(np.nan)
            continue
        if mean_patience_min is None or not math.isfinite(mean_patience_min):
            try:
                res = erlang_c(c, arrival_rate_per_min, mu)
                sl.append(res.service_level(t))
                ab.append(0.0)
            except ValueError:
                sl.append(np.nan)
                ab.append(np.nan)
        else:
            res = erlang_a(c, arrival_rate_per_min, mu, 1.0 / mean_patience_min)
            sl.append(res.service_level(t))
            ab.append(res.p_abandon)
    return {"service_level": np.array(sl), "abandonment_rate": np.array(ab)}


def staffing_curve(points: Iterable[Mapping], agents_grid: Sequence[float] | None = None,
                   erlang_curve: Mapping[str, Sequence[float]] | None = None, *, sl_target: float = 0.8,
                   sl_threshold_s: float = 30, x_label: tuple[str, str, str] = ("Agents", "坐席数", "agents"),
                   curve_note: str | None = None, note: str | None = None) -> Chart:
    """Agents (x) vs service level and abandonment rate (%): simulated points with 95%
    CI bars over the Erlang-A curve.

    ``points``: rows with ``agents, metric (service_level | abandonment_rate), mean,
    ci_low, ci_high`` (fractions); ``erlang_curve``: metric -> values over
    ``agents_grid`` (:func:`erlang_a_curve`), or None to draw the points alone."""
    pts: dict[str, list[tuple[float, float, float, float]]] = {}
    for p in points:
        pts.setdefault(str(p["metric"]), []).append((_num(p["agents"]), _num(p["mean"]), _num(p["ci_low"]),
                                                     _num(p["ci_high"])))
    metrics = [m for m in ("service_level", "abandonment_rate") if m in pts]
    if not metrics:
        raise SkipChart("no service_level / abandonment_rate points")
    colours = {"service_level": cs.BLUE, "abandonment_rate": cs.VERMILLION}
    names = {"service_level": f"Service level 服务水平 (answered ≤ {sl_threshold_s:g} s)",
             "abandonment_rate": "Abandonment 放弃率"}
    with cs.style():
        fig, ax = cs.new_figure(height=4.6)
        if erlang_curve is not None and agents_grid is not None:
            for m in metrics:
                if m in erlang_curve:
                    ax.plot(agents_grid, np.asarray(erlang_curve[m], float) * 100, color=colours[m], lw=1.4,
                            alpha=0.6, ls="-", zorder=2)
        for m in metrics:
            arr = np.array(sorted(pts[m]))
            err = np.vstack([np.nan_to_num(arr[:, 1] - arr[:, 2]), np.nan_to_num(arr[:, 3] - arr[:, 1])]) * 100
            ax.errorbar(arr[:, 0], arr[:, 1] * 100, yerr=np.maximum(err, 0), fmt="o", color=colours[m], ms=6,
                        elinewidth=1.6, zorder=4, label=names[m])
        if sl_target:
            ax.axhline(sl_target * 100, color=cs.GREY, ls="--", lw=1)
            ax.text(ax.get_xlim()[0], sl_target * 100 + 1.2, f" {sl_target:.0%} target 目标", color=cs.TEXT_GREY,
                    fontsize=cs.BASE_SIZE - 1.5)
        ax.set_ylim(0, 103)
        ax.set_xlabel(cs.label(*x_label))
        ax.set_ylabel(cs.label("Share of calls", "来电占比", "%"))
        handles, labels = ax.get_legend_handles_labels()
        if erlang_curve is not None and agents_grid is not None:
            handles.append(Line2D([], [], color=cs.GREY, lw=1.4, alpha=0.8))
            labels.append("Erlang A theory 理论曲线 (lines); simulation 模拟 (points, 95% CI)")
        ax.legend(handles, labels, loc="center right")
    # finding
    sl_pts = np.array(sorted(pts.get("service_level", [])))
    need = None
    if erlang_curve is not None and agents_grid is not None and "service_level" in erlang_curve:
        curve = np.asarray(erlang_curve["service_level"], float)
        ok = np.nonzero(curve >= sl_target)[0]
        need = int(np.asarray(agents_grid)[ok[0]]) if ok.size else None
        gap = math.nan
        if sl_pts.size:
            theory = np.interp(sl_pts[:, 0], np.asarray(agents_grid, float), curve)
            gap = float(np.nanmax(np.abs(sl_pts[:, 1] - theory))) * 100
        if need is not None:
            title = f"{sl_target:.0%} of calls answered within {sl_threshold_s:g} s needs {need} agents by Erlang A"
            sub = f"按Erlang A模型，{sl_target:.0%}来电在{sl_threshold_s:g}秒内接通需要{need}名坐席"
        else:
            title = f"No staffing level on the chart reaches {sl_target:.0%} within {sl_threshold_s:g} s by Erlang A"
            sub = f"按Erlang A模型，图中坐席数均达不到{sl_target:.0%}的服务水平"
        if math.isfinite(gap):
            title += f"; simulation within {gap:.1f} pp of theory"
            sub += f"；模拟与理论相差不超过{gap:.1f}个百分点"
    else:
        ok = sl_pts[sl_pts[:, 1] >= sl_target] if sl_pts.size else sl_pts
        if ok.size:
            need = ok[0, 0]
            title = (f"{sl_target:.0%} of calls answered within {sl_threshold_s:g} s first reached at {need:,.0f} "
                     f"{x_label[2]} ({ok[0, 1] * 100:.1f}%)")
            sub = f"坐席数达到{need:,.0f}时，{sl_target:.0%}来电在{sl_threshold_s:g}秒内接通（{ok[0, 1] * 100:.1f}%）"
        else:
            title = f"No simulated staffing level reaches {sl_target:.0%} of calls within {sl_threshold_s:g} s"
            sub = f"模拟的各坐席数均达不到{sl_target:.0%}的服务水平"
    note = note or cs.source_note()
    if curve_note:
        note += " " + curve_note
    cs.finish(fig, title, sub, note)
    return Chart("staffing_curve", fig, title, sub, {"agents_needed": need})


# ---------------------------------------------------------------------- sweeps
def _param_label(p: str) -> tuple[str, str, str | None]:
    return PARAMS.get(p, (p, "", None))


def _job_config(job: str, job_configs: Mapping | None, out_dir: Path) -> dict | None:
    src = (job_configs or {}).get(job)
    if isinstance(src, Mapping):
        return dict(src)
    candidates = [Path(src)] if src is not None else [out_dir.parent / job, out_dir / job]
    for d in candidates:
        p = d / ".hydra" / "config.yaml" if d.is_dir() else d
        if p.is_file():
            try:
                return yaml.safe_load(p.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                return None
    return None


def _mean_min(spec) -> float | None:
    if not isinstance(spec, Mapping):
        return None
    if spec.get("dist") == "infinite":
        return math.inf
    v = spec.get("mean_min")
    if v is None and spec.get("mean_h") is not None:
        v = float(spec["mean_h"]) * 60
    return float(v) if v is not None else None


def handle_and_patience(cfg: Mapping) -> tuple[float | None, float | None, str | None]:
    """Mean handle time and mean patience (minutes) of a job's config, and why the
    Erlang-A curve would not apply (None if it does)."""
    cc = (cfg or {}).get("call_center") or {}
    handle = _mean_min(cc.get("handle_time"))
    demand = _mean_min(cc.get("demand_handle_time"))
    share = cc.get("ticket_share")
    if handle is not None and demand is not None and share is not None:
        handle = (1 - float(share)) * handle + float(share) * demand
    patience = _mean_min(cc.get("patience"))
    why = None
    roster = cc.get("roster")
    if roster not in (None, "full"):
        why = (f"the roster ({roster if isinstance(roster, str) else 'a list'}) does not staff every seat all day, "
               "so agents on duty differ from seats")
    return handle, patience, why


def _sweep_table(rows: Iterable[Mapping]) -> tuple[list[dict], list[str]]:
    rows = [dict(r) for r in rows]
    params = []
    for r in rows:
        for k in r:
            if k not in SWEEP_META_KEYS and k not in params:
                params.append(k)
    params = [p for p in params if len({str(r.get(p, "")) for r in rows}) > 1]
    return rows, params


def _is_numeric(rows: list[dict], p: str) -> bool:
    vals = {str(r.get(p, "")) for r in rows}
    return all(math.isfinite(_num(v)) for v in vals)


def sweep_kpi_chart(rows: Iterable[Mapping], metric: str, x: str | None = None, *, note: str | None = None) -> Chart:
    """One KPI against the swept numeric parameter ``x`` (default: call_center.seats,
    else the numeric parameter with most values), one line per combination of the
    other swept parameters, 95% CI bars. Without a numeric parameter, points per
    swept value."""
    rows, params = _sweep_table(rows)
    rows = [r for r in rows if str(r.get("metric")) == metric and math.isfinite(_num(r.get("mean")))]
    if not rows:
        raise SkipChart(f"no rows for {metric}")
    numeric = [p for p in params if _is_numeric(rows, p)]
    if x is None:
        x = "call_center.seats" if "call_center.seats" in numeric else (
            max(numeric, key=lambda p: len({str(r[p]) for r in rows})) if numeric else (params[0] if params else None))
    if x is None:
        raise SkipChart("nothing is swept")
    others = [p for p in params if p != x]
    is_num = x in numeric
    cats = sorted({str(r.get(x, "")) for r in rows}, key=lambda v: _num(v) if is_num else v)
    lines: dict[str, list[tuple]] = {}
    for r in rows:
        key = ", ".join(f"{p}={r.get(p, '')}" for p in others)
        xv = _num(r[x]) if is_num else cats.index(str(r[x]))
        lines.setdefault(key, []).append((xv, _num(r["mean"]), _num(r["ci_low"]), _num(r["ci_high"])))
    en, zh, unit, scale, _ = _kpi(metric)
    x_en, x_zh, x_unit = _param_label(x)
    changes = []
    with cs.style():
        fig, ax = cs.new_figure(height=4.4)
        for i, (key, pts) in enumerate(sorted(lines.items())):
            arr = np.array(sorted(pts)) * np.array([1, scale, scale, scale])
            colour = cs.CYCLE[i % len(cs.CYCLE)]
            err = np.maximum(np.vstack([np.nan_to_num(arr[:, 1] - arr[:, 2]), np.nan_to_num(arr[:, 3] - arr[:, 1])]), 0)
            ax.errorbar(arr[:, 0], arr[:, 1], yerr=err, fmt="o-" if is_num else "o", color=colour, ms=5,
                        elinewidth=1.6, label=key or None)
            changes.append((key, arr[0, 0], arr[-1, 0], arr[0, 1], arr[-1, 1]))
        if is_num and len(cats) <= 12:
            ax.set_xticks([_num(c) for c in cats], [f"{_num(c):,.6g}" for c in cats])
        if not is_num:
            ax.set_xticks(range(len(cats)), [cs.name(*POLICY[c]) if c in POLICY else c for c in cats])
            ax.set_xlim(-0.5, len(cats) - 0.5)
        ax.set_xlabel(cs.label(x_en, x_zh, x_unit))
        ax.set_ylabel(cs.label(en, zh, unit))
        if unit == "%":  # shares from 0, with room above the highest CI
            top = np.nanmax([max(p[1], p[3]) if math.isfinite(p[3]) else p[1] for pts in lines.values() for p in pts])
            ax.set_ylim(0, min(100.0, top * 100 * 1.08) + 1)
        if any(k for k in lines):
            ax.legend(loc="best")
    key, x0, x1, v0, v1 = max(changes, key=lambda c: abs(c[4] - c[3]))
    fmtv = (lambda v: f"{v:.1f}%") if unit == "%" else (lambda v: f"{_fmt(v)} {unit}".strip())
    fmtv_zh = (lambda v: f"{v:.1f}%") if unit == "%" else (lambda v: f"{_fmt(v)}{UNIT_ZH.get(unit, unit)}")
    if is_num:
        verb = "rises" if v1 > v0 else "falls"
        title = (f"{en} {verb} from {fmtv(v0)} to {fmtv(v1)} as {x_en.lower()} go from {x0:,.6g} to {x1:,.6g}"
                 + (f" ({key})" if key and len(lines) > 1 else ""))
        sub = f"{x_zh or x}由{x0:,.6g}变为{x1:,.6g}时，{zh or en}由{fmtv_zh(v0)}变为{fmtv_zh(v1)}"
    else:
        c0, c1 = cats[int(x0)], cats[int(x1)]
        cat_en = {c: POLICY[c][0].lower() if c in POLICY else f"{x}={c}" for c in (c0, c1)}
        cat_zh = {c: POLICY[c][1] if c in POLICY else f"{x}={c}" for c in (c0, c1)}
        title = f"{en} is {fmtv(v0)} with {cat_en[c0]} and {fmtv(v1)} with {cat_en[c1]}"
        sub = f"{zh or en}：{cat_zh[c0]}为{fmtv_zh(v0)}，{cat_zh[c1]}为{fmtv_zh(v1)}"
    cs.finish(fig, title, sub, note or cs.source_note())
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", metric)
    caption = (f"{en} (mean and 95% CI over replications) for each value of {x}"
               + (f", one line per {', '.join(others)}" if others else "") + ".")
    return Chart(f"sweep_{safe}", fig, title, sub, {"x": x, "from": v0, "to": v1}, caption)


def make_sweep_charts(sweep_table_rows: Iterable[Mapping], out_dir: Path, *, metrics: Sequence[str] | None = None,
                      x: str | None = None, job_configs: Mapping | None = None) -> list[Path]:
    """Charts of a sweep's tidy table (rows: job, swept parameters, metric, mean,
    ci_low, ci_high): one per KPI against the numeric swept parameter, and the
    staffing curve when ``call_center.seats`` is swept. Job configs (for the Erlang-A
    curve) come from ``job_configs`` (job -> config dict or run directory) or from
    ``<out_dir>/../<job>/.hydra/config.yaml``. Returns the PNG paths."""
    out_dir = Path(out_dir)
    rows, params = _sweep_table(sweep_table_rows)
    if not rows:
        log.info("sweep charts skipped: empty sweep table")
        return []
    n_reps = {str(r.get("n_replications")) for r in rows if r.get("n_replications") not in (None, "")}
    note = cs.source_note(int(_num(next(iter(n_reps)))) if len(n_reps) == 1 else None,
                          f"Sweep of {len({r['job'] for r in rows})} runs over {', '.join(params) or 'nothing'}.")
    present = {str(r["metric"]) for r in rows}
    written, index = [], []
    for metric in [m for m in (SWEEP_KPIS if metrics is None else metrics) if m in present]:
        try:
            chart = sweep_kpi_chart(rows, metric, x, note=note)
        except SkipChart as err:
            log.info("sweep chart %s skipped: %s", metric, err)
            index.append((f"sweep_{metric}", None, str(err)))
            continue
        written.append(chart.save(out_dir))
        index.append((chart.name, chart, None))
    if "call_center.seats" in params:
        try:
            chart = _sweep_staffing(rows, params, out_dir, job_configs, note)
            written.append(chart.save(out_dir))
            index.append((chart.name, chart, None))
        except SkipChart as err:
            log.info("staffing curve skipped: %s", err)
            index.append(("staffing_curve", None, str(err)))
    _write_index(out_dir, index)
    return written


def _sweep_staffing(rows: list[dict], params: list[str], out_dir: Path, job_configs, note: str) -> Chart:
    others = [p for p in params if p != "call_center.seats"]
    if others:  # one staffing curve: the first combination of the other parameters
        first = {p: str(rows[0].get(p, "")) for p in others}
        rows = [r for r in rows if all(str(r.get(p, "")) == v for p, v in first.items())]
        note += " Staffing curve for " + ", ".join(f"{p}={v}" for p, v in first.items()) + "."
    points = [{"agents": _num(r["call_center.seats"]), "metric": r["metric"], "mean": r["mean"],
               "ci_low": r["ci_low"], "ci_high": r["ci_high"]} for r in rows
              if r["metric"] in ("service_level", "abandonment_rate")]
    if not points:
        raise SkipChart("the sweep has no service_level / abandonment_rate")
    jobs = sorted({str(r["job"]) for r in rows})
    cfg = next((c for c in (_job_config(j, job_configs, out_dir) for j in jobs) if c), None)
    offered = [_num(r["mean"]) for r in rows if r["metric"] == "calls_offered_per_day"]
    curve, grid, curve_note = None, None, None
    threshold = 30.0
    if cfg is None:
        curve_note = "No Erlang-A curve: the jobs' configs (.hydra/config.yaml) were not found."
    else:
        threshold = float(((cfg.get("call_center") or {}).get("sl_threshold_s")) or 30)
        handle, patience, why = handle_and_patience(cfg)
        if handle is None or patience is None:
            curve_note = "No Erlang-A curve: the config gives no mean handle time or patience."
        elif not offered:
            curve_note = "No Erlang-A curve: the sweep has no calls_offered_per_day."
        elif why:
            curve_note = f"No Erlang-A curve: {why}."
        else:
            seats = sorted({p["agents"] for p in points})
            lo, hi = max(1, int(seats[0] * 0.85)), int(math.ceil(seats[-1] * 1.1))
            grid = np.arange(lo, hi + 1)
            lam = float(np.nanmean(offered)) / 1440.0
            curve = erlang_a_curve(grid, lam, handle, None if math.isinf(patience) else patience, threshold)
            curve_note = (f"Erlang A: {lam:.2f} calls/min, mean handle {handle:.2f} min, mean patience "
                          f"{patience:.2f} min, all seats staffed, exponential times assumed.")
    if curve is None:
        log.info("staffing curve: %s", curve_note)
    return staffing_curve(points, grid, curve, sl_threshold_s=threshold, x_label=("Seats staffed", "坐席数", "agents"),
                          curve_note=curve_note, note=note)


# ---------------------------------------------------------------------- a run
@dataclass
class RunData:
    """The files of a run directory, read on demand."""
    dir: Path

    def path(self, name: str) -> Path:
        return self.dir / name

    def rows(self, name: str) -> list[dict]:
        p = self.path(name)
        if not p.is_file():
            raise SkipChart(f"{name} is absent")
        return read_rows(p)

    @property
    def summary(self) -> dict:
        p = self.path("summary.json")
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}

    @property
    def config(self) -> dict:
        p = self.path(".hydra/config.yaml")
        return (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.is_file() else {}

    @property
    def overrides(self) -> list[str]:
        p = self.path(".hydra/overrides.yaml")
        return [str(o) for o in (yaml.safe_load(p.read_text(encoding="utf-8")) or [])] if p.is_file() else []

    def deadlines(self) -> dict[str, float]:
        urgency = ((self.config.get("streets") or {}).get("urgency")) or {}
        out = {k: float(v["deadline_h"]) for k, v in urgency.items() if isinstance(v, Mapping) and "deadline_h" in v}
        return out or dict(DEFAULT_DEADLINES_H)

    def ranking(self) -> dict:
        return self.config.get("ranking") or {}

    def label(self) -> str:
        """What distinguishes this run: its dispatch policy, or its overrides."""
        s = self.summary
        overrides = [o for o in self.overrides if o.split("=")[0].lstrip("+~") not in RUN_CONTROL_KEYS
                     and not o.startswith("hydra.")]
        policy = s.get("dispatch")
        if any(o.startswith("dispatch=") for o in overrides) or not overrides:
            if policy in POLICY:
                return cs.name(*POLICY[policy])
        return ", ".join(overrides) if overrides else (s.get("scenario") or self.dir.name)

    def note(self, ci: bool = True) -> str:
        s = self.summary
        extra = []
        if s.get("scenario"):
            extra.append(f"scenario {s['scenario']}")
        if s.get("dispatch") in POLICY:
            extra.append(POLICY[s["dispatch"]][0].lower())
        window = _window(s)
        if window:
            extra.append(f"measured {window}")
        detail = ", ".join(extra)
        ci = ci and (s.get("replications") or 0) >= 2  # one replication has no CI
        return cs.source_note(s.get("replications"), (detail[0].upper() + detail[1:] + ".") if detail else None, ci=ci)


def _window(s: dict) -> str | None:
    try:
        start = datetime.fromisoformat(str(s["start"]))
        a = start + timedelta(days=float(s["warmup_days"]))
        b = start + timedelta(days=float(s["horizon_days"])) - timedelta(minutes=1)
    except (KeyError, ValueError, TypeError):
        return None
    return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y} ({float(s['horizon_days']) - float(s['warmup_days']):g} days)"


def _run_builders(run: RunData, baseline: RunData | None):
    s = run.summary
    metrics = s.get("metrics") or {}
    cfg = run.config
    cc = cfg.get("call_center") or {}
    rk = run.ranking()
    top_n = int(rk.get("advanced_n", 10) or 10)
    bottom_n = int(rk.get("rectification_n", top_n) or top_n)

    def hourly():
        return calls_by_hour(run.rows("hourly.csv"), sl_threshold_s=float(cc.get("sl_threshold_s", 30)),
                             overall=metrics, note=run.note())

    def lead():
        return lead_time_distribution(run.rows("lead_times.csv"), run.deadlines(), note=run.note(ci=False))

    def lead_policy():
        if baseline is None:
            raise SkipChart("no baseline run given (--baseline RUN_A)")
        hist = {baseline.label(): baseline.rows("lead_times.csv"), run.label(): run.rows("lead_times.csv")}
        if len(hist) < 2:
            hist = {f"A: {baseline.label()}": baseline.rows("lead_times.csv"),
                    f"B: {run.label()}": run.rows("lead_times.csv")}
        return lead_time_by_policy(hist, run.deadlines(), note=run.note(ci=False))

    def compliance():
        return deadline_compliance_by_district(run.rows("districts_monthly.csv"), note=run.note())

    def bump():
        return league_bump(run.rows("rankings.csv"), n=top_n, note=run.note(ci=False))

    def caterpillar():
        return rank_caterpillar(run.rows(ROBUSTNESS_FILE), "sampling", highlight=top_n, note=run.note(ci=False))

    def caterpillar_all():
        return rank_caterpillar_all_sources(run.rows(ROBUSTNESS_FILE), highlight=top_n, note=run.note(ci=False))

    def weights():
        return weight_sensitivity(run.rows(ROBUSTNESS_FILE), top_n=top_n, bottom_n=bottom_n, note=run.note(ci=False))

    def funnel():
        return funnel_plot(run.rows(FUNNEL_FILE), note=run.note(ci=False))

    def comparison():
        rows = run.rows(COMPARISON_FILE)
        return policy_comparison(rows, baseline.label() if baseline else "run A", run.label(), note=run.note())

    return [("calls_by_hour", hourly), ("lead_time_distribution", lead), ("lead_time_by_policy", lead_policy),
            ("deadline_compliance_by_district", compliance), ("league_bump", bump),
            ("rank_caterpillar", caterpillar), ("rank_caterpillar_all_sources", caterpillar_all),
            ("weight_sensitivity", weights), ("funnel_plot", funnel), ("policy_comparison", comparison)]


def make_run_charts(run_dir: Path, *, baseline_dir: Path | None = None, out_dir: Path | None = None,
                    names: Iterable[str] | None = None, workers: int = 1) -> list[Path]:
    """Draw every chart the run's data allows into ``run_dir/charts`` (PNG + SVG) and
    ``captions.json`` (titles, captions; skipped charts with the reason); return the
    PNG paths.

    ``baseline_dir``: run A of a comparison (labels the comparison, and adds the
    lead-time overlay of the two runs). ``names``: only these charts (names of
    :data:`analysis.run_outputs.RUN_CHARTS`; default all). ``workers`` > 1: this
    process and ``workers - 1`` helper processes draw them side by side, each chart in
    one of them; the files are the same as drawn one after another here."""
    run = RunData(Path(run_dir))
    if not run.path("summary.json").is_file():
        raise FileNotFoundError(f"no summary.json in {run_dir}: not a run directory")
    wanted = RUN_CHARTS if names is None else tuple(names)
    unknown = sorted(set(wanted) - set(RUN_CHARTS))
    if unknown:
        raise ValueError(f"unknown chart name(s) {', '.join(unknown)}; known: {', '.join(RUN_CHARTS)}")
    selected = [name for name in RUN_CHARTS if name in wanted]
    out = Path(out_dir) if out_dir else run.dir / CHARTS_DIR
    baseline = Path(baseline_dir) if baseline_dir else None
    workers = min(workers, len(selected))
    if workers > 1:
        drawn = _draw_in_pool(run.dir, baseline, out, selected, workers)
    else:
        drawn = [_draw(run.dir, baseline, out, name) for name in selected]
    for name, _, reason, detail in drawn:
        if detail:  # one broken chart must not cost the others: logged here, kept in captions.json
            log.error("chart %s failed\n%s", name, detail)
    _write_index(out, [(name, caption, reason) for name, caption, reason, _ in drawn])
    return [out / f"{name}.png" for name, caption, _, _ in drawn if caption is not None]


#: Helper processes start fresh, as the simulation's workers do (sim.experiment).
CHART_MP_CONTEXT = "spawn"


def _draw_in_pool(run_dir: Path, baseline_dir: Path | None, out: Path, names: list[str], workers: int) -> list:
    """Draw ``names`` in this process and ``workers - 1`` helper processes, each taking
    the next chart when it is free; results in the order of ``names``. This process
    has the chart modules imported already, so it draws from the start, while a helper
    spends its first second or two importing them."""
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    todo = list(reversed(names))
    lock = threading.Lock()
    results: dict[str, tuple] = {}
    errors: list[BaseException] = []

    def take() -> str | None:
        with lock:
            return todo.pop() if todo and not errors else None

    def feed(pool: ProcessPoolExecutor) -> None:  # one thread per helper: hands it the next chart
        try:
            while (name := take()) is not None:
                results[name] = pool.submit(_draw, run_dir, baseline_dir, out, name).result()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)

    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=get_context(CHART_MP_CONTEXT)) as pool:
        feeders = [threading.Thread(target=feed, args=(pool,), daemon=True) for _ in range(workers - 1)]
        for t in feeders:
            t.start()
        try:
            while (name := take()) is not None:
                results[name] = _draw(run_dir, baseline_dir, out, name)
        except BaseException as err:
            errors.append(err)
        for t in feeders:
            t.join()
    if errors:
        raise errors[0]
    return [results[name] for name in names]


def _draw(run_dir: Path, baseline_dir: Path | None, out: Path, name: str) -> tuple:
    """Build and save one chart: ``(name, caption entry or None, reason skipped or
    None, traceback text if it failed)``. Top-level and fed with paths only, so a
    worker process can run it."""
    run = RunData(Path(run_dir))
    baseline = RunData(Path(baseline_dir)) if baseline_dir else None
    build = dict(_run_builders(run, baseline))[name]
    try:
        chart = build()
    except SkipChart as err:
        # Expected for a single run (no comparison, no baseline): the reason is kept
        # in captions.json and the report; the console stays quiet.
        log.debug("chart %s skipped: %s", name, err)
        return name, None, str(err), None
    except Exception as err:  # noqa: BLE001 - one broken chart must not cost the others
        import traceback
        return name, None, f"failed: {err!r}", traceback.format_exc()
    chart.save(out)
    return name, _caption_entry(chart), None, None


def _caption_entry(chart: Chart) -> dict:
    return {"title": chart.title, "title_zh": chart.subtitle, "caption": chart.describe()}


def _write_index(out_dir: Path, index: list[tuple[str, Chart | dict | None, str | None]]) -> None:
    """``captions.json``: ``{name: {"title", "caption", "title_zh"}}`` for the charts
    drawn (a :class:`Chart` or its entry; read by :mod:`analysis.report`), and
    ``"_skipped": {name: reason}``."""
    from analysis.io import write_json_atomic
    out = {name: _caption_entry(c) if isinstance(c, Chart) else c for name, c, _ in index if c is not None}
    skipped = {name: reason for name, caption, reason in index if caption is None}
    if skipped:
        out["_skipped"] = skipped
    write_json_atomic(Path(out_dir) / CAPTIONS_FILE, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Briefing charts of a run directory (PNG + SVG).")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--baseline", type=Path, help="run A of a comparison (the run given first to analysis.compare)")
    parser.add_argument("--out", type=Path, help="output folder (default RUN_DIR/charts)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = make_run_charts(args.run_dir, baseline_dir=args.baseline, out_dir=args.out)
    except FileNotFoundError as err:
        print(f"charts: {err}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
