"""The call centre's day: calls offered and answered per hour, with the service level
and abandonment rate per hour (``hourly.csv``)."""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from analysis.charts import style as cs
from analysis.charts.chart import Chart, SkipChart
from analysis.charts.formatting import _ci, _num, _pct


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
    if not np.nansum(off[:, 0]) > 0:
        raise SkipChart("no calls in the measured window")
    if not np.isfinite(sl[:, 0]).any():
        raise SkipChart("no call was answered in the measured window (no agents on duty?)")
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

